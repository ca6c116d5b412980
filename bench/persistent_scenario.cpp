// persistent: QoS 1 to subscribers that keep their session (clean session 0), the traffic a
// broker's session store has to follow. N pairs, each a publisher (clean session) and a
// persistent subscriber on its own topic, both on one generator thread so that a pair's state
// needs no locks.
//
// 1. Stream: publishers send QoS 1 as fast as the broker takes it, at most --inflight without
//    PUBACK and --window ahead of their subscriber (as the pubsub scenario); deliveries per
//    second are counted over --duration after --warmup, then the pipes drain and every message
//    must have arrived once, in order.
// 2. With --offline M: the subscribers disconnect, each publisher sends M more messages, and the
//    subscribers come back with the same client id and clean session 0, without subscribing
//    again: the broker must deliver all M from the stored session [MQTT-3.1.2-4], [MQTT-3.1.2-5].

#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "mqtt/encoder.hpp"
#include "scenarios.hpp"
#include "storage_scenarios.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t batch_bytes = 16 * 1024;  // as the throughput scenarios

struct pair_state {
  int index = 0;
  std::string topic;
  std::string subscriber_id;
  std::shared_ptr<load_client> pub;
  std::shared_ptr<load_client> sub;
  std::string frame;  // one encoded PUBLISH; copies get their sequence and packet id patched
  std::size_t sequence_at = 0;
  std::size_t packet_id_at = 0;
  std::string batch;
  // The pair's thread only.
  std::uint64_t sent_local = 0;
  std::uint64_t limit = UINT64_MAX;  // messages this publisher may send in the current phase
  std::uint32_t next_sequence = 0;
  std::uint16_t next_packet_id = 1;
  int outstanding = 0;
  bool windowed = true;  // off while the subscriber is away
  bool subscriber_leaving = false;
  std::vector<bool> id_in_flight = std::vector<bool>(65536);
  // Read by the coordinating thread.
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> received{0};  // in sequence, each once
  std::atomic<std::uint64_t> backwards{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::uint64_t> downgraded{0};
  std::atomic<std::uint64_t> foreign{0};
  std::atomic<std::uint64_t> stray_acks{0};
  std::atomic<bool> subscriber_closed{false};
};

class persistent_run {
 public:
  persistent_run(const storage_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o), broker_(broker), pool_(o.base.threads) {}
  ~persistent_run() { pool_.finish(milliseconds(0)); }

  int run();

 private:
  std::shared_ptr<load_client> make_subscriber(pair_state& p, connect_ramp& ramp);
  void fill(pair_state& p);
  void on_publish(pair_state& p, const mqtt::publish_packet& pkt);
  void on_puback(pair_state& p, std::uint16_t id);
  void on_closed(const std::string& reason, bool was_connected);
  std::uint64_t sum(std::atomic<std::uint64_t> pair_state::*field) const;
  bool drained() const;
  // Waits until every message sent arrived and was acknowledged, or nothing moved for `quiet`.
  void drain(milliseconds quiet, milliseconds limit);
  bool connect_all(connect_ramp& ramp, const std::vector<std::shared_ptr<load_client>>& clients);

  const storage_options& o_;
  asio::ip::tcp::endpoint broker_;
  io_pool pool_;
  std::vector<std::unique_ptr<pair_state>> pairs_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closing_{false};
  std::atomic<int> subacks_{0};
  std::atomic<int> refused_{0};
  std::atomic<int> dropped_{0};
  std::mutex reason_mutex_;
  std::string drop_reason_;
};

std::shared_ptr<load_client> persistent_run::make_subscriber(pair_state& p, connect_ramp& ramp) {
  client_handlers h;
  h.on_connected = [&ramp](const std::string& e) { ramp.answered(e); };
  h.on_publish = [this, &p](const mqtt::publish_packet& pkt) { on_publish(p, pkt); };
  h.on_suback = [this](std::uint16_t, bool granted) {
    if (!granted) refused_.fetch_add(1);
    subacks_.fetch_add(1);
  };
  h.on_closed = [this, &p, &ramp](const std::string& r, bool was_connected) {
    if (!was_connected) ramp.answered(r);
    p.subscriber_closed.store(true);
    if (!p.subscriber_leaving) on_closed(r, was_connected);
  };
  auto cfg = make_client_config(o_.base, broker_, p.subscriber_id);
  cfg.clean_session = false;
  p.subscriber_closed.store(false);
  return std::make_shared<load_client>(pool_.at(static_cast<std::size_t>(p.index)), cfg, h);
}

void persistent_run::fill(pair_state& p) {
  if (stop_.load(std::memory_order_relaxed) || !p.pub->connected()) return;
  if (p.pub->queued_bytes() >= batch_bytes) return;
  std::uint64_t allowed = p.limit;
  if (p.windowed) {
    allowed = std::min(allowed, p.received.load(std::memory_order_relaxed) +
                                    static_cast<std::uint64_t>(o_.base.window));
  }
  p.batch.clear();
  while (p.pub->queued_bytes() + p.batch.size() < batch_bytes && p.sent_local < allowed &&
         p.outstanding < o_.base.inflight) {
    std::size_t at = p.batch.size();
    p.batch.append(p.frame);
    auto seq = static_cast<std::uint32_t>(p.sent_local);
    std::memcpy(p.batch.data() + at + p.sequence_at, &seq, sizeof seq);
    std::uint16_t id = p.next_packet_id;
    p.next_packet_id = id == 65535 ? 1 : id + 1;  // 0 is not a packet id [MQTT-2.3.1-1]
    p.batch[at + p.packet_id_at] = static_cast<char>(id >> 8);
    p.batch[at + p.packet_id_at + 1] = static_cast<char>(id & 0xff);
    p.id_in_flight[id] = true;
    ++p.outstanding;
    ++p.sent_local;
  }
  if (p.batch.empty()) return;
  p.sent.store(p.sent_local, std::memory_order_relaxed);
  p.pub->send(p.batch);
}

void persistent_run::on_publish(pair_state& p, const mqtt::publish_packet& pkt) {
  std::uint32_t from = 0;
  std::uint32_t seq = 0;
  if (pkt.payload.size() != o_.base.payload_size) {
    p.foreign.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::memcpy(&from, pkt.payload.data(), sizeof from);
  std::memcpy(&seq, pkt.payload.data() + 4, sizeof seq);
  if (from != static_cast<std::uint32_t>(p.index)) {
    p.foreign.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Published and subscribed at QoS 1: it must arrive at QoS 1 [MQTT-3.8.4-6].
  if (pkt.qos == mqtt::qos::at_most_once) p.downgraded.fetch_add(1, std::memory_order_relaxed);
  if (seq < p.next_sequence) {
    // A redelivery (DUP) after the reconnect is allowed at QoS 1; counted, not an error.
    p.backwards.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (seq > p.next_sequence) p.skipped.fetch_add(seq - p.next_sequence, std::memory_order_relaxed);
  p.next_sequence = seq + 1;
  p.received.fetch_add(1, std::memory_order_relaxed);
  if (p.windowed) fill(p);
}

void persistent_run::on_puback(pair_state& p, std::uint16_t id) {
  if (!p.id_in_flight[id]) {
    p.stray_acks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  p.id_in_flight[id] = false;
  --p.outstanding;
  p.acked.fetch_add(1, std::memory_order_relaxed);
  fill(p);
}

void persistent_run::on_closed(const std::string& reason, bool was_connected) {
  if (!was_connected || closing_.load()) return;
  dropped_.fetch_add(1);
  std::lock_guard lock(reason_mutex_);
  if (drop_reason_.empty()) drop_reason_ = reason;
}

std::uint64_t persistent_run::sum(std::atomic<std::uint64_t> pair_state::*field) const {
  std::uint64_t n = 0;
  for (auto& p : pairs_) n += ((*p).*field).load();
  return n;
}

bool persistent_run::drained() const {
  for (auto& p : pairs_) {
    std::uint64_t sent = p->sent.load();
    if (p->acked.load() != sent || p->received.load() < sent) return false;
  }
  return true;
}

void persistent_run::drain(milliseconds quiet, milliseconds limit) {
  std::uint64_t last = UINT64_MAX;
  auto moved = clock_type::now();
  wait_for(
      [&] {
        std::uint64_t now = sum(&pair_state::received) + sum(&pair_state::acked);
        if (now != last) {
          last = now;
          moved = clock_type::now();
        }
        return drained() || clock_type::now() - moved > quiet;
      },
      limit);
}

bool persistent_run::connect_all(connect_ramp& ramp,
                                 const std::vector<std::shared_ptr<load_client>>& clients) {
  auto r = ramp.run(clients, milliseconds(30000));
  if (r.connected == clients.size()) return true;
  std::fprintf(stderr, "mqtt-load: %zu of %zu clients could not connect: %s\n",
               clients.size() - r.connected, clients.size(), r.first_error.c_str());
  return false;
}

int persistent_run::run() {
  std::string name = "persistent_" + std::to_string(o_.base.pairs) + "_qos1";
  if (!o_.base.name.empty()) name = o_.base.name;
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-";
  connect_ramp ramp(static_cast<std::size_t>(o_.base.connect_concurrency));
  std::vector<std::shared_ptr<load_client>> clients;
  for (int i = 0; i < o_.base.pairs; ++i) {
    auto p = std::make_unique<pair_state>();
    pair_state& pr = *p;
    pr.index = i;
    pr.topic = o_.prefix + "/persistent/" + std::to_string(i);
    pr.subscriber_id = tag + "ps" + std::to_string(i);
    client_handlers h;
    h.on_connected = [&ramp](const std::string& e) { ramp.answered(e); };
    h.on_puback = [this, &pr](std::uint16_t id) { on_puback(pr, id); };
    h.on_written = [this, &pr] { fill(pr); };
    h.on_closed = [this, &ramp](const std::string& r, bool was_connected) {
      if (!was_connected) ramp.answered(r);
      on_closed(r, was_connected);
    };
    pr.pub = std::make_shared<load_client>(
        pool_.at(static_cast<std::size_t>(i)),
        make_client_config(o_.base, broker_, tag + "pp" + std::to_string(i)), h);
    pr.sub = make_subscriber(pr, ramp);
    mqtt::publish_packet pkt;
    pkt.topic = pr.topic;
    pkt.qos = mqtt::qos::at_least_once;
    pkt.packet_id = 1;
    pkt.payload.assign(o_.base.payload_size, 'p');
    auto index = static_cast<std::uint32_t>(i);
    std::memcpy(pkt.payload.data(), &index, sizeof index);
    mqtt::encode(pkt, mqtt::protocol_version::v3_1_1, pr.frame);
    std::size_t payload_at = pr.frame.size() - o_.base.payload_size;
    pr.sequence_at = payload_at + 4;
    pr.packet_id_at = payload_at - 2;  // 3.1.1: the packet id directly precedes the payload
    clients.push_back(pr.sub);
    clients.push_back(pr.pub);
    pairs_.push_back(std::move(p));
  }
  if (!connect_all(ramp, clients)) {
    std::printf("RESULT %s error=connect_failed\n", name.c_str());
    return 1;
  }
  for (auto& p : pairs_) {
    asio::post(p->sub->executor(),
               [s = p->sub, f = p->topic] { s->subscribe(1, f, mqtt::qos::at_least_once); });
  }
  if (!wait_for([&] { return subacks_.load() == o_.base.pairs; }, milliseconds(10000)) ||
      refused_.load() > 0) {
    std::fprintf(stderr, "mqtt-load: subscriptions not granted (%d answered, %d refused)\n",
                 subacks_.load(), refused_.load());
    std::printf("RESULT %s error=subscribe_failed\n", name.c_str());
    return 1;
  }

  // 1. The stream, subscribers connected.
  for (auto& p : pairs_) asio::post(p->pub->executor(), [this, p = p.get()] { fill(*p); });
  std::this_thread::sleep_for(std::chrono::duration<double>(o_.base.warmup_s));
  auto a_at = clock_type::now();
  std::uint64_t a_delivered = sum(&pair_state::received), a_sent = sum(&pair_state::sent);
  std::this_thread::sleep_for(std::chrono::duration<double>(o_.base.duration_s));
  auto b_at = clock_type::now();
  std::uint64_t b_delivered = sum(&pair_state::received), b_sent = sum(&pair_state::sent);
  stop_.store(true);
  drain(milliseconds(1000), milliseconds(10000));
  std::uint64_t sent = sum(&pair_state::sent), received = sum(&pair_state::received);
  std::uint64_t lost = sent > received ? sent - received : 0;
  std::uint64_t unacked = sent - sum(&pair_state::acked);
  double seconds = std::chrono::duration<double>(b_at - a_at).count();

  // 2. Messages for sessions whose client is away.
  std::uint64_t offline_sent = 0, offline_received = 0;
  double queue_s = 0, drain_s = 0;
  if (o_.offline > 0 && lost == 0 && unacked == 0) {
    for (auto& p : pairs_) {
      asio::post(p->sub->executor(), [p = p.get()] {
        p->subscriber_leaving = true;
        p->sub->disconnect();
      });
    }
    wait_for(
        [&] {
          for (auto& p : pairs_)
            if (!p->subscriber_closed.load()) return false;
          return true;
        },
        milliseconds(5000));
    // Let the broker read the DISCONNECTs before the first message for the session arrives.
    std::this_thread::sleep_for(milliseconds(100));
    std::uint64_t before = sum(&pair_state::received);
    auto queue_start = clock_type::now();
    stop_.store(false);
    for (auto& p : pairs_) {
      asio::post(p->pub->executor(), [this, p = p.get()] {
        p->windowed = false;
        p->limit = p->sent_local + static_cast<std::uint64_t>(o_.offline);
        fill(*p);
      });
    }
    offline_sent = static_cast<std::uint64_t>(o_.offline) * pairs_.size();
    wait_for([&] { return sum(&pair_state::acked) == sent + offline_sent; }, milliseconds(60000));
    queue_s = std::chrono::duration<double>(clock_type::now() - queue_start).count();
    connect_ramp back(static_cast<std::size_t>(o_.base.connect_concurrency));
    std::vector<std::shared_ptr<load_client>> subs;
    for (auto& p : pairs_) {
      p->subscriber_leaving = false;  // its old client is closed: nothing else reads it
      p->sub = make_subscriber(*p, back);
      subs.push_back(p->sub);
    }
    auto drain_start = clock_type::now();
    if (connect_all(back, subs)) drain(milliseconds(5000), milliseconds(60000));
    drain_s = std::chrono::duration<double>(clock_type::now() - drain_start).count();
    offline_received = sum(&pair_state::received) - before;
    unacked = sum(&pair_state::sent) - sum(&pair_state::acked);
  }

  auto rate = [](double n, double s) { return n / (s > 0 ? s : 1e-9); };
  std::uint64_t offline_lost =
      offline_sent > offline_received ? offline_sent - offline_received : 0;
  std::printf("RESULT %s msgs_per_s=%.0f published_per_s=%.0f delivered=%" PRIu64
              " seconds=%.2f lost=%" PRIu64 " unacked=%" PRIu64 " reordered=%" PRIu64
              " skipped=%" PRIu64 " foreign=%" PRIu64 " downgraded=%" PRIu64 " stray_acks=%" PRIu64
              " disconnects=%d sent_total=%" PRIu64 " offline_sent=%" PRIu64
              " offline_received=%" PRIu64 " offline_lost=%" PRIu64
              " offline_queue_s=%.3f offline_drain_s=%.3f offline_msgs_per_s=%.0f\n",
              name.c_str(), rate(double(b_delivered - a_delivered), seconds),
              rate(double(b_sent - a_sent), seconds), b_delivered - a_delivered, seconds, lost,
              unacked, sum(&pair_state::backwards), sum(&pair_state::skipped),
              sum(&pair_state::foreign), sum(&pair_state::downgraded), sum(&pair_state::stray_acks),
              dropped_.load(), sum(&pair_state::sent), offline_sent, offline_received, offline_lost,
              queue_s, drain_s, offline_sent ? rate(double(offline_sent), queue_s + drain_s) : 0.0);
  std::fflush(stdout);
  if (lost > 0 || offline_lost > 0) {
    std::fprintf(stderr, "mqtt-load: %" PRIu64 " QoS 1 messages lost (%" PRIu64 " offline)\n",
                 lost + offline_lost, offline_lost);
  }
  if (dropped_.load() > 0) {
    std::fprintf(stderr, "mqtt-load: %d connections dropped during the run, first: %s\n",
                 dropped_.load(), drop_reason_.c_str());
  }

  closing_.store(true);
  for (auto& p : pairs_) {
    asio::post(p->pub->executor(), [p = p.get()] {
      p->pub->disconnect();
      p->sub->disconnect();
    });
  }
  pool_.finish(milliseconds(3000));
  return 0;
}

}  // namespace

int run_persistent(const storage_options& o, const asio::ip::tcp::endpoint& broker) {
  persistent_run run(o, broker);
  return run.run();
}

}  // namespace bench
