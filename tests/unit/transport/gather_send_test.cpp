#include "transport/gather_send.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>

#include <cerrno>
#include <string>
#include <vector>

namespace {

using boost::asio::const_buffer;

// A connected pair of Unix stream sockets, the sending end non-blocking with a small buffer.
struct socket_pair {
  int sender = -1;
  int receiver = -1;
  socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    sender = fds[0];
    receiver = fds[1];
    const int small = 4096;
    ::setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::fcntl(sender, F_SETFL, ::fcntl(sender, F_GETFL) | O_NONBLOCK);
  }
  ~socket_pair() {
    if (sender >= 0) ::close(sender);
    if (receiver >= 0) ::close(receiver);
  }
  std::string drain() {
    ::fcntl(receiver, F_SETFL, ::fcntl(receiver, F_GETFL) | O_NONBLOCK);
    std::string out;
    char chunk[65536];
    for (;;) {
      const ssize_t n = ::read(receiver, chunk, sizeof chunk);
      if (n <= 0) break;
      out.append(chunk, static_cast<std::size_t>(n));
    }
    return out;
  }
};

// 3,000 buffers of varying sizes (more than one sendmsg takes), some empty.
std::vector<std::string> pieces() {
  std::vector<std::string> out;
  for (int i = 0; i < 3000; ++i) {
    out.emplace_back(static_cast<std::size_t>((i * 37) % 300), static_cast<char>('a' + i % 26));
  }
  return out;
}

std::vector<const_buffer> buffers_of(const std::vector<std::string>& parts) {
  std::vector<const_buffer> out;
  for (const std::string& p : parts) out.emplace_back(p.data(), p.size());
  return out;
}

TEST(gather_send, sends_everything_in_order_across_full_buffers) {
  socket_pair pair;
  const std::vector<std::string> parts = pieces();
  const std::vector<const_buffer> buffers = buffers_of(parts);
  std::string expected;
  for (const std::string& p : parts) expected += p;

  transport::send_position at;
  std::string received;
  std::size_t sent_total = 0;
  int rounds = 0;
  while (at.buffer < buffers.size()) {
    ASSERT_LT(++rounds, 10000);
    boost::system::error_code ec;
    const std::size_t sent = transport::gather_send(pair.sender, buffers, at, ec);
    sent_total += sent;
    if (at.buffer < buffers.size()) {
      // Stopped early only because the socket is full.
      EXPECT_EQ(ec, boost::asio::error::would_block);
    } else {
      EXPECT_FALSE(ec);
    }
    received += pair.drain();
  }
  received += pair.drain();
  EXPECT_GT(rounds, 1) << "the test wants a socket that fills up";
  EXPECT_EQ(sent_total, expected.size());
  EXPECT_EQ(received, expected);
  EXPECT_EQ(at.offset, 0u);
}

TEST(gather_send, nothing_to_send_is_done_at_once) {
  socket_pair pair;
  std::vector<const_buffer> none;
  transport::send_position at;
  boost::system::error_code ec;
  EXPECT_EQ(transport::gather_send(pair.sender, none, at, ec), 0u);
  EXPECT_FALSE(ec);
}

TEST(gather_send, a_closed_peer_is_an_error_not_a_signal) {
  socket_pair pair;
  ::close(pair.receiver);
  pair.receiver = -1;
  const std::string bytes(1000, 'x');
  const std::vector<const_buffer> buffers{const_buffer(bytes.data(), bytes.size())};
  transport::send_position at;
  boost::system::error_code ec;
  transport::gather_send(pair.sender, buffers, at, ec);  // SIGPIPE would end the test here
  EXPECT_EQ(ec.value(), EPIPE);
  EXPECT_EQ(at.buffer, 0u);
}

}  // namespace
