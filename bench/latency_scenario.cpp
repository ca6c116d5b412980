// Round-trip latency: one message at a time from a publisher through the broker to a subscriber
// (a second client on the same thread, so no cross-thread hand-off is measured), the next one
// sent as soon as the previous one arrived.

#include <unistd.h>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "mqtt/encoder.hpp"
#include "scenarios.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A message not back within this is counted lost and the next one goes out.
constexpr milliseconds reply_limit(2000);
constexpr std::size_t sequence_at = 4;  // same payload layout as the throughput scenarios

class latency_run {
 public:
  latency_run(const load_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o), broker_(broker), pool_(1), ramp_(2), timer_(pool_.at(0)) {}
  ~latency_run() { pool_.finish(milliseconds(0)); }

  int run();

 private:
  void send_next();
  void on_publish(const mqtt::publish_packet& pkt);

  const load_options& o_;
  asio::ip::tcp::endpoint broker_;
  io_pool pool_;
  connect_ramp ramp_;
  asio::steady_timer timer_;
  std::shared_ptr<load_client> pub_;
  std::shared_ptr<load_client> sub_;
  std::string frame_;
  std::size_t sequence_at_ = 0;
  std::size_t packet_id_at_ = 0;
  // The pool's thread only, until done_ is set.
  std::uint32_t next_ = 0;
  std::uint32_t warmup_ = 0;
  std::uint32_t total_ = 0;
  clock_type::time_point sent_at_;
  std::vector<double> samples_us_;
  std::uint64_t lost_ = 0;
  std::uint64_t late_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> subacks_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> dropped_{false};
};

void latency_run::send_next() {
  if (next_ == total_) {
    done_.store(true);
    return;
  }
  std::uint32_t seq = next_++;
  std::memcpy(frame_.data() + sequence_at_, &seq, sizeof seq);
  if (o_.qos == 1) {
    auto id = static_cast<std::uint16_t>(seq % 65535 + 1);
    frame_[packet_id_at_] = static_cast<char>(id >> 8);
    frame_[packet_id_at_ + 1] = static_cast<char>(id & 0xff);
  }
  sent_at_ = clock_type::now();
  pub_->send(frame_);
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
  std::memcpy(&seq, pkt.payload.data() + sequence_at, sizeof seq);
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

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

int latency_run::run() {
  std::string prefix =
      o_.topic_prefix.empty() ? "bench/" + std::to_string(getpid()) : o_.topic_prefix;
  std::string topic = prefix + "/latency";
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-";
  std::uint32_t count = o_.count ? static_cast<std::uint32_t>(*o_.count) : 10000;
  warmup_ = std::min<std::uint32_t>(1000, count / 10);
  total_ = warmup_ + count;

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
  mqtt::encode(pkt, o_.version, frame_);
  sequence_at_ = frame_.size() - o_.payload_size + sequence_at;
  // 5.0 puts an empty property list between the packet id and the payload.
  packet_id_at_ =
      frame_.size() - o_.payload_size - 2 - (o_.version == mqtt::protocol_version::v5 ? 1 : 0);

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
  asio::post(pub_->executor(), [this] { send_next(); });
  // Each message has its own deadline, so the whole run has one too.
  auto limit = milliseconds(10000) + reply_limit * (total_ / 100 + 1);
  bool finished = wait_for([&] { return done_.load() || dropped_.load(); }, limit);
  closing_.store(true);
  // Stop the sequence on its own thread before reading what it wrote.
  asio::post(pub_->executor(), [this] {
    done_.store(true);
    timer_.cancel();
    pub_->disconnect();
    sub_->disconnect();
  });
  wait_for([&] { return closed_.load() == 2; }, milliseconds(3000));
  pool_.finish(milliseconds(2000));

  std::sort(samples_us_.begin(), samples_us_.end());
  double mean = 0;
  for (double s : samples_us_) mean += s;
  if (!samples_us_.empty()) mean /= static_cast<double>(samples_us_.size());
  std::printf(
      "RESULT %s p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f "
      "samples=%zu lost=%" PRIu64 " late=%" PRIu64 " complete=%d\n",
      name.c_str(), percentile(samples_us_, 0.50), percentile(samples_us_, 0.99),
      percentile(samples_us_, 0.999), samples_us_.empty() ? 0.0 : samples_us_.back(), mean,
      samples_us_.size(), lost_, late_, finished && !dropped_.load() ? 1 : 0);
  std::fflush(stdout);
  return finished ? 0 : 1;
}

}  // namespace

int run_latency(const load_options& o, const asio::ip::tcp::endpoint& broker) {
  latency_run run(o, broker);
  return run.run();
}

}  // namespace bench
