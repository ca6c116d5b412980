// tcp_stream over real loopback sockets, watched by an fd_poller on one io_context: what a plain
// TCP session relies on (reads wait for bytes, writes finish once the peer takes them, close and
// the poller's end release the pending handlers, and the context runs dry once nothing is open).

#include "transport/tcp_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "transport/fd_poller.hpp"
#include "transport/io_thread.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using transport::tcp_stream;

// What the stream's owner is in the broker (stream_session): the handlers hold it.
struct owner {
  explicit owner(tcp_stream s) : stream(std::move(s)) {}
  tcp_stream stream;
};

class tcp_stream_test : public ::testing::Test {
 protected:
  tcp_stream_test() {
    home_.context = &context_;
    home_.poller = &*poller_;
    tcp::acceptor acceptor(context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    auto accepted = acceptor.accept(context_);
    stream_ = std::make_shared<owner>(tcp_stream(std::move(accepted), home_));
  }

  // Runs the context until `done` or a deadline; false when the deadline came first.
  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      context_.restart();
      context_.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  void read_once() {
    stream_->stream.async_read(
        [self = stream_](error_code ec, std::span<const std::uint8_t> bytes) {
          (void)self;
          last_ec_ = ec;
          got_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          ++reads_;
        });
  }

  void write_once(const std::vector<asio::const_buffer>& buffers) {
    stream_->stream.async_write(buffers, [self = stream_](error_code ec, std::size_t n) {
      (void)self;
      last_write_ec_ = ec;
      written_ = n;
      ++writes_;
    });
  }

  asio::io_context context_{1};
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(4096);
  transport::io_thread::home home_{buffer_};
  std::optional<transport::fd_poller> poller_{std::in_place, context_};
  asio::io_context peer_context_;
  tcp::socket peer_{peer_context_};
  std::shared_ptr<owner> stream_;

  static inline error_code last_ec_;
  static inline std::string got_;
  static inline int reads_ = 0;
  static inline error_code last_write_ec_;
  static inline std::size_t written_ = 0;
  static inline int writes_ = 0;

  void SetUp() override {
    last_ec_ = {};
    got_.clear();
    reads_ = 0;
    last_write_ec_ = {};
    written_ = 0;
    writes_ = 0;
  }
};

TEST_F(tcp_stream_test, read_waits_for_bytes_then_lends_them) {
  read_once();
  context_.restart();
  context_.poll();
  EXPECT_EQ(reads_, 0) << "nothing was sent yet";
  asio::write(peer_, asio::buffer(std::string("hello")));
  ASSERT_TRUE(run_until([] { return reads_ == 1; }));
  EXPECT_FALSE(last_ec_);
  EXPECT_EQ(got_, "hello");
}

TEST_F(tcp_stream_test, more_than_the_shared_buffer_arrives_over_several_reads) {
  const std::string big(3 * 4096 + 100, 'x');
  asio::write(peer_, asio::buffer(big));
  while (got_.size() < big.size()) {
    const int before = reads_;
    read_once();
    ASSERT_TRUE(run_until([&] { return reads_ == before + 1; }));
    ASSERT_FALSE(last_ec_) << last_ec_.message();
  }
  EXPECT_EQ(got_, big);
}

TEST_F(tcp_stream_test, peer_closing_gives_eof) {
  read_once();
  peer_.close();
  ASSERT_TRUE(run_until([] { return reads_ == 1; }));
  EXPECT_EQ(last_ec_, asio::error::eof);
}

TEST_F(tcp_stream_test, peer_ending_right_after_its_last_bytes_still_gives_eof) {
  // The stream waits (its first read found nothing); then the last bytes and the FIN arrive
  // together, and one edge reports both.
  read_once();
  context_.restart();
  context_.poll();
  ASSERT_EQ(reads_, 0);
  asio::write(peer_, asio::buffer(std::string("bye")));
  peer_.shutdown(tcp::socket::shutdown_send);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(run_until([] { return reads_ == 1; }));
  EXPECT_EQ(got_, "bye");
  // Nothing more will change on the socket: the end must be seen without another edge.
  read_once();
  ASSERT_TRUE(run_until([] { return reads_ == 2; }, std::chrono::seconds(2)));
  EXPECT_EQ(last_ec_, asio::error::eof);
}

TEST_F(tcp_stream_test, close_ends_the_pending_read_and_the_context_runs_dry) {
  read_once();
  context_.restart();
  context_.poll();
  std::weak_ptr<owner> weak = stream_;
  stream_->stream.close();
  stream_.reset();
  context_.restart();
  context_.run_for(std::chrono::seconds(2));
  // Out of work, not out of time: the poller's own wait ended with the last stream it watched
  // (else the broker's I/O threads would not end at shutdown).
  EXPECT_TRUE(context_.stopped());
  EXPECT_EQ(reads_, 1);
  EXPECT_EQ(last_ec_, asio::error::operation_aborted);
  EXPECT_TRUE(weak.expired()) << "the read handler no longer holds the stream's owner";
  // The peer sees our FIN.
  char c;
  error_code ec;
  peer_.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(tcp_stream_test, write_larger_than_the_socket_takes_finishes_once_the_peer_reads) {
  const std::string big(16 * 1024 * 1024, 'y');
  const std::vector<asio::const_buffer> buffers{asio::buffer(big)};
  write_once(buffers);
  context_.restart();
  context_.poll();
  EXPECT_EQ(writes_, 0) << "16 MiB cannot fit in the socket buffers of a peer that reads nothing";
  std::string received(big.size(), '\0');
  std::thread reader([&] { asio::read(peer_, asio::buffer(received)); });
  const bool finished = run_until([] { return writes_ == 1; });
  reader.join();
  ASSERT_TRUE(finished);
  EXPECT_FALSE(last_write_ec_);
  EXPECT_EQ(written_, big.size());
  EXPECT_TRUE(received == big);
}

TEST_F(tcp_stream_test, write_that_fits_completes_from_a_post_not_inside_the_call) {
  const std::string small = "ping";
  const std::vector<asio::const_buffer> buffers{asio::buffer(small)};
  write_once(buffers);
  EXPECT_EQ(writes_, 0);
  ASSERT_TRUE(run_until([] { return writes_ == 1; }));
  EXPECT_FALSE(last_write_ec_);
  EXPECT_EQ(written_, 4u);
  char got[4];
  asio::read(peer_, asio::buffer(got));
  EXPECT_EQ(std::string(got, 4), small);
}

TEST_F(tcp_stream_test, poller_ending_lets_go_of_a_stream_still_waiting) {
  read_once();
  context_.restart();
  context_.poll();
  std::weak_ptr<owner> weak = stream_;
  stream_.reset();
  EXPECT_FALSE(weak.expired()) << "the pending read keeps the owner, as a session";
  poller_.reset();  // the I/O threads were abandoned at shutdown
  home_.poller = nullptr;
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(reads_, 0);
}

}  // namespace
