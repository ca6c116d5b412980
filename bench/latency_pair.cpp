#include "latency_pair.hpp"

#include <unistd.h>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstring>

#include "mqtt/encoder.hpp"
#include "scenarios.hpp"
#include "throughput_parts.hpp"

namespace bench {

namespace asio = boost::asio;
using std::chrono::milliseconds;

void publish_frame::number(char* copy, std::uint32_t seq) const {
  std::memcpy(copy + payload_at + payload_sequence_at, &seq, sizeof seq);
  if (has_packet_id) {
    auto id = static_cast<std::uint16_t>(seq % 65535 + 1);
    copy[packet_id_at] = static_cast<char>(id >> 8);
    copy[packet_id_at + 1] = static_cast<char>(id & 0xff);
  }
}

latency_pair::latency_pair(const load_options& o, const asio::ip::tcp::endpoint& broker,
                           const std::string& leaf,
                           std::function<void(const mqtt::publish_packet&)> on_publish)
    : o_(o), pool_(1), ramp_(2), timer_(pool_.at(0)) {
  std::string prefix =
      o_.topic_prefix.empty() ? "bench/" + std::to_string(getpid()) : o_.topic_prefix;
  topic_ = prefix + "/" + leaf;
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-";

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
  pub_ = std::make_shared<load_client>(pool_.at(0), make_client_config(o_, broker, tag + "p"), h);
  h.on_publish = std::move(on_publish);
  h.on_suback = [this](std::uint16_t, bool granted) { subacks_.fetch_add(granted ? 1 : 100); };
  sub_ = std::make_shared<load_client>(pool_.at(0), make_client_config(o_, broker, tag + "s"), h);
}

latency_pair::~latency_pair() {
  pool_.finish(milliseconds(0));
}

publish_frame latency_pair::encode(const std::string& payload) const {
  mqtt::publish_packet pkt;
  pkt.topic = topic_;
  pkt.qos = static_cast<mqtt::qos>(o_.qos);
  pkt.packet_id = o_.qos == 0 ? 0 : 1;
  pkt.payload.assign(payload.begin(), payload.end());
  publish_frame f;
  mqtt::encode(pkt, o_.version, f.bytes);
  f.payload_at = f.bytes.size() - payload.size();
  // 5.0 puts an empty property list between the packet id and the payload.
  f.packet_id_at = f.payload_at - 2 - (o_.version == mqtt::protocol_version::v5 ? 1 : 0);
  f.has_packet_id = o_.qos == 1;
  return f;
}

bool latency_pair::start(const std::string& name) {
  auto ramp = ramp_.run({pub_, sub_}, milliseconds(10000));
  if (ramp.connected != 2) {
    std::fprintf(stderr, "mqtt-load: could not connect: %s\n", ramp.first_error.c_str());
    std::printf("RESULT %s error=connect_failed\n", name.c_str());
    return false;
  }
  asio::post(sub_->executor(),
             [this, q = static_cast<mqtt::qos>(o_.qos)] { sub_->subscribe(1, topic_, q); });
  if (!wait_for([&] { return subacks_.load() != 0; }, milliseconds(10000)) ||
      subacks_.load() != 1) {
    std::fprintf(stderr, "mqtt-load: the subscription was not granted\n");
    std::printf("RESULT %s error=subscribe_failed\n", name.c_str());
    return false;
  }
  return true;
}

void latency_pair::close(std::function<void()> stop) {
  closing_.store(true);
  asio::post(pub_->executor(), [this, stop = std::move(stop)] {
    stop();
    timer_.cancel();
    pub_->disconnect();
    sub_->disconnect();
  });
  wait_for([&] { return closed_.load() == 2; }, milliseconds(3000));
  pool_.finish(milliseconds(2000));
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::string latency_fields(std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  double mean = 0;
  for (double s : samples) mean += s;
  if (!samples.empty()) mean /= static_cast<double>(samples.size());
  char text[256];
  std::snprintf(text, sizeof text,
                "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f samples=%zu",
                percentile(samples, 0.50), percentile(samples, 0.99), percentile(samples, 0.999),
                samples.empty() ? 0.0 : samples.back(), mean, samples.size());
  return text;
}

}  // namespace bench
