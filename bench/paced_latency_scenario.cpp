// Open-loop latency (`latency --rate R`): a publisher sends R messages per second on a timer,
// whether or not earlier ones have arrived, and a subscriber on a second connection takes each
// one's time from send to receipt. Unlike the closed-loop latency scenario (one message in
// flight), this is how a broker answers a steady stream of sensor readings: a message that
// waits behind others counts its wait.
//
// Both clients run on one thread, so one clock stamps both ends. Message i is due at
// start + i / R; a late timer sends everything that is due at once (catching up, never skipping),
// and how late each send was is reported, so a generator that could not keep the pace shows.

#include <unistd.h>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "mqtt/encoder.hpp"
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

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

class paced_latency_run {
 public:
  paced_latency_run(const load_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o), broker_(broker), pool_(1), ramp_(2), timer_(pool_.at(0)) {}
  ~paced_latency_run() { pool_.finish(milliseconds(0)); }

  int run();

 private:
  clock_type::time_point due(std::uint32_t i) const {
    return start_ + nanoseconds(std::llround(static_cast<double>(i) * 1e9 / o_.rate));
  }
  void tick();
  void on_publish(const mqtt::publish_packet& pkt);
  void print(const std::string& name, bool all_sent);

  const load_options& o_;
  asio::ip::tcp::endpoint broker_;
  io_pool pool_;
  connect_ramp ramp_;
  asio::steady_timer timer_;
  std::shared_ptr<load_client> pub_;
  std::shared_ptr<load_client> sub_;
  std::string frame_;
  std::string batch_;
  std::size_t payload_at_ = 0;
  std::size_t packet_id_at_ = 0;
  // The pool's thread only, until the run is stopped.
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
  std::atomic<int> subacks_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> dropped_{false};
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
    batch_.append(frame_);
    std::memcpy(batch_.data() + at + payload_at_ + payload_sequence_at, &seq, sizeof seq);
    std::memcpy(batch_.data() + at + payload_at_ + stamp_at, &stamp, sizeof stamp);
    if (o_.qos == 1) {
      auto id = static_cast<std::uint16_t>(seq % 65535 + 1);
      batch_[at + packet_id_at_] = static_cast<char>(id >> 8);
      batch_[at + packet_id_at_ + 1] = static_cast<char>(id & 0xff);
    }
    if (seq >= warmup_) {
      send_lag_us_.push_back(std::chrono::duration<double, std::micro>(now - due(seq)).count());
    }
  }
  if (!batch_.empty()) {
    pub_->send(batch_);
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
  std::sort(samples_us_.begin(), samples_us_.end());
  std::sort(send_lag_us_.begin(), send_lag_us_.end());
  double mean = 0;
  for (double s : samples_us_) mean += s;
  if (!samples_us_.empty()) mean /= static_cast<double>(samples_us_.size());
  double sending_s = std::chrono::duration<double>(last_sent_at_ - start_).count();
  std::uint64_t measured = total_ - warmup_;
  std::printf(
      "RESULT %s rate=%.0f sent_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
      "mean_us=%.1f samples=%zu sent=%" PRIu32 " lost=%" PRIu64 " measured_lost=%" PRIu64
      " duplicates=%" PRIu64 " reordered=%" PRIu64 " foreign=%" PRIu64
      " send_lag_p99_us=%.1f send_lag_max_us=%.1f complete=%d\n",
      name.c_str(), o_.rate, sending_s > 0 && next_ > 1 ? double(next_ - 1) / sending_s : 0.0,
      percentile(samples_us_, 0.50), percentile(samples_us_, 0.99), percentile(samples_us_, 0.999),
      samples_us_.empty() ? 0.0 : samples_us_.back(), mean, samples_us_.size(), next_,
      next_ - received_, measured - measured_received_, duplicates_, reordered_, foreign_,
      percentile(send_lag_us_, 0.99), send_lag_us_.empty() ? 0.0 : send_lag_us_.back(),
      all_sent && !dropped_.load() ? 1 : 0);
  std::fflush(stdout);
}

int paced_latency_run::run() {
  std::string prefix =
      o_.topic_prefix.empty() ? "bench/" + std::to_string(getpid()) : o_.topic_prefix;
  std::string topic = prefix + "/paced";
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-";
  auto count = static_cast<std::uint32_t>(o_.count ? *o_.count : 10000);
  warmup_ = static_cast<std::uint32_t>(std::llround(o_.rate * o_.warmup_s));
  total_ = warmup_ + count;
  seen_.assign(total_, false);
  samples_us_.reserve(count);
  send_lag_us_.reserve(count);

  client_handlers h;
  h.on_connected = [this](const std::string& e) { ramp_.answered(e); };
  h.on_closed = [this](const std::string& r, bool was) {
    closed_.fetch_add(1);
    if (!was) ramp_.answered(r);
    if (was && !closing_.load()) {
      std::fprintf(stderr, "mqtt-load: connection lost during the run: %s\n", r.c_str());
      dropped_.store(true);
    }
  };
  pub_ = std::make_shared<load_client>(pool_.at(0), make_client_config(o_, broker_, tag + "p"), h);
  h.on_publish = [this](const mqtt::publish_packet& p) { on_publish(p); };
  h.on_suback = [this](std::uint16_t, bool granted) { subacks_.fetch_add(granted ? 1 : 100); };
  sub_ = std::make_shared<load_client>(pool_.at(0), make_client_config(o_, broker_, tag + "s"), h);

  mqtt::publish_packet pkt;
  pkt.topic = topic;
  pkt.qos = static_cast<mqtt::qos>(o_.qos);
  pkt.packet_id = o_.qos == 0 ? 0 : 1;
  pkt.payload.assign(o_.payload_size, 'x');
  std::memset(pkt.payload.data(), 0, stamp_at + sizeof(std::int64_t));  // publisher index 0
  mqtt::encode(pkt, o_.version, frame_);
  payload_at_ = frame_.size() - o_.payload_size;
  // 5.0 puts an empty property list between the packet id and the payload.
  packet_id_at_ = payload_at_ - 2 - (o_.version == mqtt::protocol_version::v5 ? 1 : 0);

  std::string name = result_name(o_);
  auto ramp = ramp_.run({pub_, sub_}, milliseconds(10000));
  if (ramp.connected != 2) {
    std::fprintf(stderr, "mqtt-load: could not connect: %s\n", ramp.first_error.c_str());
    std::printf("RESULT %s error=connect_failed\n", name.c_str());
    return 1;
  }
  asio::post(sub_->executor(), [this, topic, q = pkt.qos] { sub_->subscribe(1, topic, q); });
  if (!wait_for([&] { return subacks_.load() != 0; }, milliseconds(10000)) ||
      subacks_.load() != 1) {
    std::fprintf(stderr, "mqtt-load: the subscription was not granted\n");
    std::printf("RESULT %s error=subscribe_failed\n", name.c_str());
    return 1;
  }
  asio::post(pub_->executor(), [this] {
    start_ = clock_type::now();
    tick();
  });
  auto schedule = std::chrono::duration_cast<milliseconds>(
      std::chrono::duration<double>(static_cast<double>(total_) / o_.rate));
  bool sent =
      wait_for([&] { return all_sent_.load() || dropped_.load(); }, schedule + milliseconds(10000));
  // Everything sent: give the last ones the drain limit to arrive.
  if (sent) wait_for([&] { return all_received_.load() || dropped_.load(); }, drain_limit);
  closing_.store(true);
  // Stop on the pool's thread before reading what it wrote.
  asio::post(pub_->executor(), [this] {
    stopped_.store(true);
    timer_.cancel();
    pub_->disconnect();
    sub_->disconnect();
  });
  wait_for([&] { return closed_.load() == 2; }, milliseconds(3000));
  pool_.finish(milliseconds(2000));
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
