// retained and retained-read: what a broker writes per retained update, and how fast it hands
// a large retained set back after a restart. Both run one client on the calling thread.
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

#include "load_client.hpp"
#include "mqtt/encoder.hpp"
#include "scenarios.hpp"
#include "storage_scenarios.hpp"

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

  int run() {
    deadline_.expires_after(run_limit);
    deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) client_->close("not done within the run limit");
    });
    client_->start();
    io_.run();
    if (!done_) {
      std::fprintf(stderr, "mqtt-load: retained: %s (%" PRIu64 " of %" PRIu64 " sent)\n",
                   error_.c_str(), sent_, total_);
      std::printf("RESULT retained error=%s published=%" PRIu64 "\n",
                  sent_ == 0 ? "connect_failed" : "incomplete", sent_);
      return 1;
    }
    double s = seconds_between(start_, end_);
    std::printf("RESULT retained published=%" PRIu64 " topics=%" PRIu64
                " payload=%zu seconds=%.3f msgs_per_s=%.0f\n",
                total_, o_.topics, o_.base.payload_size, s, double(total_) / (s > 0 ? s : 1e-9));
    return 0;
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

  int run() {
    started_at_ = clock_type::now();
    client_->start();
    arm_check();
    io_.run();
    if (connected_at_ == clock_type::time_point{}) {
      std::fprintf(stderr, "mqtt-load: retained-read: %s\n", error_.c_str());
      std::printf("RESULT retained_read error=connect_failed\n");
      return 1;
    }
    double s = seconds_between(subscribed_at_, last_at_);
    std::uint64_t missing = expected_ - unique_;
    std::printf("RESULT retained_read received=%" PRIu64 " expected=%" PRIu64 " missing=%" PRIu64
                " duplicates=%" PRIu64 " stale=%" PRIu64 " foreign=%" PRIu64
                " not_retained=%" PRIu64
                " connect_ms=%.1f first_ms=%.1f seconds=%.3f msgs_per_s=%.0f%s%s\n",
                received_, expected_, missing, duplicates_, stale_, foreign_, not_retained_,
                1000 * seconds_between(started_at_, connected_at_),
                received_ ? 1000 * seconds_between(subscribed_at_, first_at_) : 0.0, s,
                double(received_) / (s > 0 ? s : 1e-9),
                error_.empty() ? "" : " error=", error_.empty() ? "" : "closed");
    if (!error_.empty()) std::fprintf(stderr, "mqtt-load: retained-read: %s\n", error_.c_str());
    return 0;
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
  return p.run();
}

int run_retained_read(const storage_options& o, const asio::ip::tcp::endpoint& broker) {
  retained_reader r(o, broker);
  return r.run();
}

}  // namespace bench
