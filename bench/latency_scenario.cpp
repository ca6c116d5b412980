// Round-trip latency: one message at a time from a publisher through the broker to a subscriber
// (a second client on the same thread, so no cross-thread hand-off is measured), the next one
// sent as soon as the previous one arrived.

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "latency_pair.hpp"
#include "scenarios.hpp"
#include "throughput_parts.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A message not back within this is counted lost and the next one goes out.
constexpr milliseconds reply_limit(2000);

class latency_run {
 public:
  latency_run(const load_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o),
        pair_(o, broker, "latency", [this](const mqtt::publish_packet& p) { on_publish(p); }) {}

  int run();

 private:
  void send_next();
  void on_publish(const mqtt::publish_packet& pkt);

  const load_options& o_;
  latency_pair pair_;
  asio::steady_timer& timer_ = pair_.timer();
  publish_frame frame_;
  // The pair's thread only, until done_ is set.
  std::uint32_t next_ = 0;
  std::uint32_t warmup_ = 0;
  std::uint32_t total_ = 0;
  clock_type::time_point sent_at_;
  std::vector<double> samples_us_;
  std::uint64_t lost_ = 0;
  std::uint64_t late_ = 0;
  std::atomic<bool> done_{false};
};

void latency_run::send_next() {
  if (next_ == total_) {
    done_.store(true);
    return;
  }
  std::uint32_t seq = next_++;
  frame_.number(frame_.bytes.data(), seq);
  sent_at_ = clock_type::now();
  pair_.publisher().send(frame_.bytes);
  timer_.expires_after(reply_limit);
  timer_.async_wait([this, seq](const boost::system::error_code& ec) {
    if (ec || seq + 1 != next_ || done_.load()) return;
    ++lost_;
    send_next();
  });
}

void latency_run::on_publish(const mqtt::publish_packet& pkt) {
  auto now = clock_type::now();
  std::uint32_t seq = 0;
  if (pkt.payload.size() != o_.payload_size) return;
  std::memcpy(&seq, pkt.payload.data() + payload_sequence_at, sizeof seq);
  if (seq + 1 != next_) {
    ++late_;  // arrived after it was given up on
    return;
  }
  if (seq >= warmup_) {
    samples_us_.push_back(std::chrono::duration<double, std::micro>(now - sent_at_).count());
  }
  timer_.cancel();
  send_next();
}

int latency_run::run() {
  std::uint32_t count = o_.count ? static_cast<std::uint32_t>(*o_.count) : 10000;
  warmup_ = std::min<std::uint32_t>(1000, count / 10);
  total_ = warmup_ + count;
  frame_ = pair_.encode(std::string(o_.payload_size, 'x'));

  std::string name = result_name(o_);
  if (!pair_.start(name)) return 1;
  asio::post(pair_.context(), [this] { send_next(); });
  // Each message has its own deadline, so the whole run has one too.
  auto limit = milliseconds(10000) + reply_limit * (total_ / 100 + 1);
  bool finished = wait_for([&] { return done_.load() || pair_.dropped(); }, limit);
  // Stop the sequence on its own thread before reading what it wrote.
  pair_.close([this] { done_.store(true); });

  std::string fields = latency_fields(samples_us_);
  std::printf("RESULT %s %s lost=%" PRIu64 " late=%" PRIu64 " complete=%d\n", name.c_str(),
              fields.c_str(), lost_, late_, finished && !pair_.dropped() ? 1 : 0);
  std::fflush(stdout);
  return finished ? 0 : 1;
}

}  // namespace

int run_latency(const load_options& o, const asio::ip::tcp::endpoint& broker) {
  latency_run run(o, broker);
  return run.run();
}

}  // namespace bench
