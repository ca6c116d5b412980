// Open-loop latency (`latency --rate R`): a publisher sends R messages per second on a timer,
// whether or not earlier ones have arrived, and a subscriber on a second connection takes each
// one's time from send to receipt. Unlike the closed-loop latency scenario (one message in
// flight), this is how a broker answers a steady stream of sensor readings: a message that
// waits behind others counts its wait.
//
// Both clients run on one thread, so one clock stamps both ends. Message i is due at
// start + i / R; a late timer sends everything that is due at once (catching up, never skipping),
// and how late each send was is reported, so a generator that could not keep the pace shows.

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cinttypes>
#include <cmath>
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
using std::chrono::nanoseconds;

// Payload bytes 8..15: the send time, steady_clock nanoseconds (bytes 0..7 as everywhere).
constexpr std::size_t stamp_at = 8;
// Once everything is sent, a message not back within this counts as lost.
constexpr milliseconds drain_limit(2000);

class paced_latency_run {
 public:
  paced_latency_run(const load_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o),
        pair_(o, broker, "paced", [this](const mqtt::publish_packet& p) { on_publish(p); }) {}

  int run();

 private:
  clock_type::time_point due(std::uint32_t i) const {
    return start_ + nanoseconds(std::llround(static_cast<double>(i) * 1e9 / o_.rate));
  }
  void tick();
  void on_publish(const mqtt::publish_packet& pkt);
  void print(const std::string& name, bool all_sent);

  const load_options& o_;
  latency_pair pair_;
  asio::steady_timer& timer_ = pair_.timer();
  publish_frame frame_;
  std::string batch_;
  // The pair's thread only, until the run is stopped.
  std::uint32_t warmup_ = 0;
  std::uint32_t total_ = 0;
  clock_type::time_point start_;
  clock_type::time_point last_sent_at_;
  std::uint32_t next_ = 0;  // the next message to send
  std::vector<bool> seen_;
  std::vector<double> samples_us_;   // measured messages: receipt - send
  std::vector<double> send_lag_us_;  // measured messages: send - due
  std::uint64_t received_ = 0;
  std::uint64_t measured_received_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t foreign_ = 0;
  std::int64_t highest_ = -1;
  std::atomic<bool> all_sent_{false};
  std::atomic<bool> all_received_{false};
  std::atomic<bool> stopped_{false};
};

void paced_latency_run::tick() {
  if (stopped_.load()) return;
  auto now = clock_type::now();
  auto stamp = static_cast<std::int64_t>(
      std::chrono::duration_cast<nanoseconds>(now.time_since_epoch()).count());
  batch_.clear();
  while (next_ < total_ && due(next_) <= now) {
    std::uint32_t seq = next_++;
    std::size_t at = batch_.size();
    batch_.append(frame_.bytes);
    frame_.number(batch_.data() + at, seq);
    std::memcpy(batch_.data() + at + frame_.payload_at + stamp_at, &stamp, sizeof stamp);
    if (seq >= warmup_) {
      send_lag_us_.push_back(std::chrono::duration<double, std::micro>(now - due(seq)).count());
    }
  }
  if (!batch_.empty()) {
    pair_.publisher().send(batch_);
    last_sent_at_ = now;
  }
  if (next_ == total_) {
    all_sent_.store(true);
    return;
  }
  timer_.expires_at(due(next_));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void paced_latency_run::on_publish(const mqtt::publish_packet& pkt) {
  auto now = clock_type::now();
  if (pkt.payload.size() != o_.payload_size) {
    ++foreign_;
    return;
  }
  std::uint32_t seq = 0;
  std::int64_t stamp = 0;
  std::memcpy(&seq, pkt.payload.data() + payload_sequence_at, sizeof seq);
  std::memcpy(&stamp, pkt.payload.data() + stamp_at, sizeof stamp);
  if (seq >= next_) {  // never sent: not a message of this run
    ++foreign_;
    return;
  }
  if (seen_[seq]) {
    ++duplicates_;
    return;
  }
  seen_[seq] = true;
  ++received_;
  // MQTT keeps one publisher's messages on one topic in order.
  if (static_cast<std::int64_t>(seq) < highest_) ++reordered_;
  highest_ = std::max<std::int64_t>(highest_, seq);
  if (seq >= warmup_) {
    ++measured_received_;
    auto sent = clock_type::time_point(nanoseconds(stamp));
    samples_us_.push_back(std::chrono::duration<double, std::micro>(now - sent).count());
  }
  if (received_ == total_) all_received_.store(true);
}

void paced_latency_run::print(const std::string& name, bool all_sent) {
  std::string fields = latency_fields(samples_us_);
  std::sort(send_lag_us_.begin(), send_lag_us_.end());
  double sending_s = std::chrono::duration<double>(last_sent_at_ - start_).count();
  std::uint64_t measured = total_ - warmup_;
  std::printf(
      "RESULT %s rate=%.0f sent_per_s=%.0f %s sent=%" PRIu32 " lost=%" PRIu64
      " measured_lost=%" PRIu64 " duplicates=%" PRIu64 " reordered=%" PRIu64 " foreign=%" PRIu64
      " send_lag_p99_us=%.1f send_lag_max_us=%.1f complete=%d\n",
      name.c_str(), o_.rate, sending_s > 0 && next_ > 1 ? double(next_ - 1) / sending_s : 0.0,
      fields.c_str(), next_, next_ - received_, measured - measured_received_, duplicates_,
      reordered_, foreign_, percentile(send_lag_us_, 0.99),
      send_lag_us_.empty() ? 0.0 : send_lag_us_.back(), all_sent && !pair_.dropped() ? 1 : 0);
  std::fflush(stdout);
}

int paced_latency_run::run() {
  auto count = static_cast<std::uint32_t>(o_.count ? *o_.count : 10000);
  warmup_ = static_cast<std::uint32_t>(std::llround(o_.rate * o_.warmup_s));
  total_ = warmup_ + count;
  seen_.assign(total_, false);
  samples_us_.reserve(count);
  send_lag_us_.reserve(count);
  std::string payload(o_.payload_size, 'x');
  std::memset(payload.data(), 0, stamp_at + sizeof(std::int64_t));  // publisher index 0
  frame_ = pair_.encode(payload);

  std::string name = result_name(o_);
  if (!pair_.start(name)) return 1;
  asio::post(pair_.context(), [this] {
    start_ = clock_type::now();
    tick();
  });
  auto schedule = std::chrono::duration_cast<milliseconds>(
      std::chrono::duration<double>(static_cast<double>(total_) / o_.rate));
  bool sent =
      wait_for([&] { return all_sent_.load() || pair_.dropped(); }, schedule + milliseconds(10000));
  // Everything sent: give the last ones the drain limit to arrive.
  if (sent) wait_for([&] { return all_received_.load() || pair_.dropped(); }, drain_limit);
  // Stop on the pair's thread before reading what it wrote.
  pair_.close([this] { stopped_.store(true); });
  // Messages that never arrived are counted lost; the run still measured the others.
  print(name, sent);
  return sent ? 0 : 1;
}

}  // namespace

int run_paced_latency(const load_options& o, const asio::ip::tcp::endpoint& broker) {
  paced_latency_run run(o, broker);
  return run.run();
}

}  // namespace bench
