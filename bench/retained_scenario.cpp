// retained and retained-read: what a broker writes per retained update, and how fast it hands
// a large retained set back after a restart. Both run one client on the calling thread.
// retained-new-sub runs the two in turn on one broker: what the retained set costs in memory,
// and how fast a subscriber that arrives afterwards gets all of it.
//
// Update i goes to topic <prefix>/r/<i mod T> and carries i in its first 8 bytes (little
// endian), so the reader knows which value each topic must hold: the last update sent to it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <thread>

#include "load_client.hpp"
#include "mqtt/encoder.hpp"
#include "scenarios.hpp"
#include "storage_scenarios.hpp"
#include "stuck_subscribers.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Bytes queued in the client beyond the write in flight: big writes, quick back-pressure.
constexpr std::size_t queue_bytes = 256 * 1024;
// No run may take longer than this, whatever the broker does.
constexpr std::chrono::seconds run_limit(600);
constexpr std::uint16_t barrier_id = 1;
// retained-new-sub: how long the broker gets after the barrier before its memory is read.
constexpr milliseconds settle_time(2000);

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

class retained_publisher {
 public:
  retained_publisher(const storage_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o), total_(*o.base.count), pace_(io_), deadline_(io_) {
    client_handlers h;
    h.on_connected = [this](const std::string& e) {
      if (!e.empty()) return;
      start_ = clock_type::now();
      pump();
    };
    h.on_written = [this] { pump(); };
    h.on_puback = [this](std::uint16_t id) {
      if (id != barrier_id || !barrier_sent_) return;
      end_ = clock_type::now();
      done_ = true;
      client_->disconnect();
    };
    h.on_closed = [this](const std::string& reason, bool) {
      if (!done_ && error_.empty()) error_ = reason;
      pace_.cancel();
      deadline_.cancel();
    };
    auto cfg = make_client_config(o.base, broker, "mqtt-load-retained-" + o.prefix);
    client_ = std::make_shared<load_client>(io_, cfg, h);
  }

  // Publishes everything and waits for the barrier's PUBACK; false if the run broke off.
  bool publish() {
    deadline_.expires_after(run_limit);
    deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) client_->close("not done within the run limit");
    });
    client_->start();
    io_.run();
    return done_;
  }

  // The RESULT fields after `publish`: "published=... seconds=..." or "error=... published=...",
  // each key after `prefix` but for error.
  std::string fields(const char* prefix = "") const {
    char line[256];
    if (!done_) {
      std::snprintf(line, sizeof line, "error=%s %spublished=%" PRIu64,
                    sent_ == 0 ? "connect_failed" : "incomplete", prefix, sent_);
    } else {
      double s = seconds_between(start_, end_);
      std::snprintf(line, sizeof line,
                    "%spublished=%" PRIu64 " %stopics=%" PRIu64
                    " %spayload=%zu %sseconds=%.3f"
                    " %smsgs_per_s=%.0f",
                    prefix, total_, prefix, o_.topics, prefix, o_.base.payload_size, prefix, s,
                    prefix, double(total_) / (s > 0 ? s : 1e-9));
    }
    return line;
  }

  // On stderr, why `publish` broke off.
  void explain() const {
    std::fprintf(stderr, "mqtt-load: retained: %s (%" PRIu64 " of %" PRIu64 " sent)\n",
                 error_.c_str(), sent_, total_);
  }

 private:
  // Queues updates up to the byte limit, or as many as the pace allows so far.
  void pump() {
    if (done_ || barrier_sent_ || !client_->connected()) return;
    std::uint64_t allowed = total_;
    if (o_.rate > 0) {
      double due = o_.rate * seconds_between(start_, clock_type::now()) + 1;
      allowed = std::min<std::uint64_t>(total_, static_cast<std::uint64_t>(due));
    }
    batch_.clear();
    while (sent_ < allowed && client_->queued_bytes() + batch_.size() < queue_bytes) {
      append_update(sent_++);
    }
    if (!batch_.empty()) client_->send(batch_);
    if (sent_ == total_) {
      send_barrier();
    } else if (sent_ == allowed && !pacing_) {
      pacing_ = true;
      pace_.expires_after(milliseconds(2));
      pace_.async_wait([this](const boost::system::error_code& ec) {
        pacing_ = false;
        if (!ec) pump();
      });
    }
  }

  void append_update(std::uint64_t i) {
    topic_ = o_.prefix + "/r/";
    topic_ += std::to_string(i % o_.topics);
    mqtt::encode_publish_head(topic_, mqtt::qos::at_most_once, true, false, 0, o_.base.payload_size,
                              batch_);
    std::size_t at = batch_.size();
    batch_.append(o_.base.payload_size, 'r');
    std::memcpy(batch_.data() + at, &i, sizeof i);
  }

  // A broker handles one connection's packets in order, so the PUBACK of this QoS 1 message
  // means every retained update before it was processed [MQTT-4.6.0-2].
  void send_barrier() {
    barrier_sent_ = true;
    mqtt::publish_packet p;
    p.topic = o_.prefix + "/barrier";
    p.qos = mqtt::qos::at_least_once;
    p.packet_id = barrier_id;
    p.payload = "barrier";
    std::string bytes;
    mqtt::encode(p, mqtt::protocol_version::v3_1_1, bytes);
    client_->send(bytes);
  }

  const storage_options& o_;
  std::uint64_t total_;
  asio::io_context io_;
  asio::steady_timer pace_;
  asio::steady_timer deadline_;
  std::shared_ptr<load_client> client_;
  std::string batch_;
  std::string topic_;
  std::uint64_t sent_ = 0;
  clock_type::time_point start_;
  clock_type::time_point end_;
  bool pacing_ = false;
  bool barrier_sent_ = false;
  bool done_ = false;
  std::string error_;
};

class retained_reader {
 public:
  retained_reader(const storage_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o),
        updates_(*o.base.count),
        expected_(std::min(updates_, o.topics)),
        head_(o.prefix + "/r/"),
        seen_(o.topics, false),
        check_(io_) {
    client_handlers h;
    h.on_connected = [this](const std::string& e) {
      if (!e.empty()) return;
      connected_at_ = clock_type::now();
      subscribed_at_ = connected_at_;
      last_at_ = connected_at_;
      client_->subscribe(1, o_.prefix + "/r/#", static_cast<mqtt::qos>(o_.base.qos));
    };
    h.on_publish = [this](const mqtt::publish_packet& p) { on_publish(p); };
    h.on_suback = [this](std::uint16_t, bool granted) {
      if (!granted) finish("subscription refused");
    };
    h.on_closed = [this](const std::string& reason, bool) {
      if (!finished_) error_ = reason;
      finished_ = true;
      check_.cancel();
    };
    auto cfg = make_client_config(o.base, broker, "mqtt-load-reader-" + o.prefix);
    cfg.read_buffer_size = 256 * 1024;
    client_ = std::make_shared<load_client>(io_, cfg, h);
  }

  // Subscribes and counts what arrives; false if it could not connect.
  bool read() {
    started_at_ = clock_type::now();
    client_->start();
    arm_check();
    io_.run();
    if (!error_.empty()) std::fprintf(stderr, "mqtt-load: retained-read: %s\n", error_.c_str());
    return connected_at_ != clock_type::time_point{};
  }

  // The RESULT fields after `read`. `seconds`: from SUBSCRIBE sent to the last message.
  std::string fields() const {
    char line[512];
    double s = seconds_between(subscribed_at_, last_at_);
    std::uint64_t missing = expected_ - unique_;
    std::snprintf(line, sizeof line,
                  "received=%" PRIu64 " expected=%" PRIu64 " missing=%" PRIu64
                  " duplicates=%" PRIu64 " stale=%" PRIu64 " foreign=%" PRIu64
                  " not_retained=%" PRIu64
                  " connect_ms=%.1f first_ms=%.1f seconds=%.3f msgs_per_s=%.0f%s%s",
                  received_, expected_, missing, duplicates_, stale_, foreign_, not_retained_,
                  1000 * seconds_between(started_at_, connected_at_),
                  received_ ? 1000 * seconds_between(subscribed_at_, first_at_) : 0.0, s,
                  double(received_) / (s > 0 ? s : 1e-9),
                  error_.empty() ? "" : " error=", error_.empty() ? "" : "closed");
    return line;
  }

 private:
  void on_publish(const mqtt::publish_packet& p) {
    auto now = clock_type::now();
    if (received_++ == 0) first_at_ = now;
    last_at_ = now;
    if (!p.retain) ++not_retained_;
    std::uint64_t topic = 0;
    const char* end = p.topic.data() + p.topic.size();
    auto [ptr, ec] =
        std::from_chars(p.topic.data() + std::min(head_.size(), p.topic.size()), end, topic);
    if (!p.topic.starts_with(head_) || ec != std::errc{} || ptr != end || topic >= o_.topics ||
        p.payload.size() < 8) {
      ++foreign_;
      return;
    }
    if (seen_[topic]) {
      ++duplicates_;
      return;
    }
    seen_[topic] = true;
    ++unique_;
    std::uint64_t value = 0;
    std::memcpy(&value, p.payload.data(), sizeof value);
    // The last of the updates topic, topic + T, topic + 2T, ... below the update count.
    std::uint64_t latest = topic + o_.topics * ((updates_ - 1 - topic) / o_.topics);
    if (topic >= updates_ || value != latest) ++stale_;
    if (unique_ == expected_) finish("");
  }

  void arm_check() {
    check_.expires_after(milliseconds(50));
    check_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      auto now = clock_type::now();
      if (seconds_between(last_at_, now) > o_.idle_s && connected_at_ != clock_type::time_point{}) {
        finish("");  // nothing more is coming: the missing count says what is gone
      } else if (now - started_at_ > run_limit) {
        finish("not done within the run limit");
      } else {
        arm_check();
      }
    });
  }

  void finish(const std::string& error) {
    if (finished_) return;
    finished_ = true;
    error_ = error;
    check_.cancel();
    client_->disconnect();
  }

  const storage_options& o_;
  std::uint64_t updates_;
  std::uint64_t expected_;
  std::string head_;  // every topic of this run starts so
  std::vector<bool> seen_;
  asio::io_context io_;
  asio::steady_timer check_;
  std::shared_ptr<load_client> client_;
  clock_type::time_point started_at_, connected_at_, subscribed_at_, first_at_, last_at_;
  std::uint64_t received_ = 0, unique_ = 0, duplicates_ = 0, stale_ = 0, foreign_ = 0;
  std::uint64_t not_retained_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

int run_retained_publish(const storage_options& o, const asio::ip::tcp::endpoint& broker) {
  retained_publisher p(o, broker);
  bool done = p.publish();
  if (!done) p.explain();
  std::printf("RESULT retained %s\n", p.fields().c_str());
  return done ? 0 : 1;
}

int run_retained_read(const storage_options& o, const asio::ip::tcp::endpoint& broker) {
  retained_reader r(o, broker);
  if (!r.read()) {
    std::printf("RESULT retained_read error=connect_failed\n");
    return 1;
  }
  std::printf("RESULT retained_read %s\n", r.fields().c_str());
  return 0;
}

int run_retained_new_sub(const storage_options& o, const asio::ip::tcp::endpoint& broker) {
  std::string name = "retained_new_sub_" + std::to_string(*o.base.count);
  long long before = o.base.broker_pid ? process_rss_kib(*o.base.broker_pid) : -1;
  retained_publisher p(o, broker);
  if (!p.publish()) {
    p.explain();
    std::printf("RESULT %s %s\n", name.c_str(), p.fields("fill_").c_str());
    return 1;
  }
  std::string memory;
  if (o.base.broker_pid) {
    // Let the broker finish what it does after the PUBACK (ours commits its store within a
    // second) and free the publisher's connection before the figure is taken.
    std::this_thread::sleep_for(settle_time);
    long long after = process_rss_kib(*o.base.broker_pid);
    char line[160];
    std::snprintf(line, sizeof line,
                  " rss_before_kib=%lld rss_after_kib=%lld bytes_per_retained=%.1f", before, after,
                  1024.0 * static_cast<double>(after - before) / static_cast<double>(o.topics));
    memory = line;
  }
  retained_reader r(o, broker);
  if (!r.read()) {
    std::printf("RESULT %s error=connect_failed%s\n", name.c_str(), memory.c_str());
    return 1;
  }
  std::printf("RESULT %s %s%s %s\n", name.c_str(), p.fields("fill_").c_str(), memory.c_str(),
              r.fields().c_str());
  return 0;
}

}  // namespace bench
