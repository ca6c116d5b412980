// pubsub, fanout and fanin. Publishers send as fast as the broker takes the bytes, but never
// more than a window of messages ahead of their slowest subscriber: this measures the rate the
// broker sustains without piling up queues (Mosquitto drops beyond 1000 queued messages per
// client, and an unbounded flood would only measure who drops more).

#include <unistd.h>
#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <thread>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "mqtt/encoder.hpp"
#include "scenarios.hpp"
#include "stuck_subscribers.hpp"
#include "throughput_parts.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How much a publisher queues beyond the write in flight: enough for large writes, small
// enough that TCP back-pressure reaches it quickly.
constexpr std::size_t batch_bytes = 16 * 1024;
// A window shut this long means messages were lost (QoS 0): write them off and go on.
constexpr milliseconds stall_limit(1000);

struct totals {
  clock_type::time_point at;
  std::uint64_t delivered = 0;
  std::uint64_t published = 0;
};

class throughput_run {
 public:
  throughput_run(const load_options& o, const asio::ip::tcp::endpoint& broker)
      : o_(o),
        broker_(broker),
        sub_broker_(broker.address(), o.sub_port != 0 ? o.sub_port : broker.port()),
        pool_(o.threads),
        ramp_(static_cast<std::size_t>(o.connect_concurrency)) {}
  ~throughput_run() { pool_.finish(milliseconds(0)); }

  int run();

 private:
  void build(const std::string& prefix);
  void fill(publisher& p);
  void begin_wait(publisher& p, int blocking);
  std::uint64_t min_received(const publisher& p, int& blocking) const;
  void on_publish(subscriber& s, const mqtt::publish_packet& pkt);
  void on_puback(publisher& p, std::uint16_t id);
  void on_closed(const std::string& reason, bool was_connected);
  totals snapshot() const;
  std::uint64_t expected_deliveries() const;
  bool all_acked() const;
  void print(const totals& a, const totals& b, std::uint64_t lost);

  const load_options& o_;
  asio::ip::tcp::endpoint broker_;
  asio::ip::tcp::endpoint sub_broker_;  // where the subscribers connect (--sub-port)
  topology topo_;
  io_pool pool_;
  connect_ramp ramp_;
  std::vector<std::unique_ptr<subscriber>> subs_;
  std::vector<std::unique_ptr<publisher>> pubs_;
  std::vector<std::shared_ptr<load_client>> clients_;  // in start order
  std::uint64_t window_ = 0;                           // per publisher, in messages
  std::uint64_t limit_ = UINT64_MAX;                   // messages per publisher
  std::atomic<bool> stop_{false};
  std::atomic<bool> closing_{false};
  std::atomic<int> subacks_{0};
  std::atomic<int> refused_subscriptions_{0};
  std::atomic<int> closed_{0};
  std::atomic<int> dropped_{0};  // connections lost during the run
  std::mutex reason_mutex_;
  std::string drop_reason_;
  stuck_subscribers stuck_;           // --stuck
  std::unique_ptr<rss_sampler> rss_;  // --broker-pid
};

void throughput_run::build(const std::string& prefix) {
  topo_ = make_topology(o_, prefix);
  auto qos = static_cast<mqtt::qos>(o_.qos);
  std::size_t n_pubs = topo_.topics.size();
  std::size_t n_subs = topo_.filters.size();
  // Each subscriber's window is shared by the publishers that feed it.
  window_ = std::max<std::uint64_t>(1, o_.window / topo_.feeds_per_subscriber);
  if (o_.count) limit_ = *o_.count;
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-";
  std::vector<std::pair<std::size_t, std::shared_ptr<load_client>>> placed;
  for (std::size_t i = 0; i < n_subs; ++i) {
    auto s = std::make_unique<subscriber>(static_cast<int>(i), n_pubs);
    std::size_t slot = topo_.interleave ? 2 * i + 1 : n_pubs + i;
    client_handlers h;
    h.on_connected = [this](const std::string& e) { ramp_.answered(e); };
    h.on_publish = [this, s = s.get()](const mqtt::publish_packet& p) { on_publish(*s, p); };
    h.on_suback = [this](std::uint16_t, bool granted) {
      if (!granted) refused_subscriptions_.fetch_add(1);
      subacks_.fetch_add(1);
    };
    h.on_closed = [this](const std::string& r, bool was) { on_closed(r, was); };
    s->client = std::make_shared<load_client>(
        pool_.at(slot), make_client_config(o_, sub_broker_, tag + "s" + std::to_string(i)), h);
    placed.emplace_back(slot, s->client);
    subs_.push_back(std::move(s));
  }
  for (std::size_t i = 0; i < n_pubs; ++i) {
    auto p = std::make_unique<publisher>();
    p->index = static_cast<int>(i);
    p->receivers = topo_.receivers[i];
    std::size_t slot = topo_.interleave ? 2 * i : i;
    client_handlers h;
    h.on_connected = [this](const std::string& e) { ramp_.answered(e); };
    h.on_puback = [this, p = p.get()](std::uint16_t id) { on_puback(*p, id); };
    h.on_written = [this, p = p.get()] { fill(*p); };
    h.on_closed = [this](const std::string& r, bool was) { on_closed(r, was); };
    p->client = std::make_shared<load_client>(
        pool_.at(slot), make_client_config(o_, broker_, tag + "p" + std::to_string(i)), h);
    p->stall_timer = std::make_unique<asio::steady_timer>(pool_.at(slot));
    // One PUBLISH encoded by the codec; every later message is a copy with two fields patched.
    mqtt::publish_packet pkt;
    pkt.topic = topo_.topics[i];
    pkt.qos = qos;
    pkt.packet_id = qos == mqtt::qos::at_most_once ? 0 : 1;
    pkt.payload.assign(o_.payload_size, 'x');
    auto index = static_cast<std::uint32_t>(i);
    std::memcpy(pkt.payload.data() + payload_publisher_at, &index, sizeof index);
    mqtt::encode(pkt, o_.version, p->frame);
    std::size_t payload_at = p->frame.size() - o_.payload_size;
    p->sequence_at = payload_at + payload_sequence_at;
    // 3.1.1: the packet id directly precedes the payload; 5.0 puts an empty property list between.
    p->packet_id_at = payload_at - 2 - (o_.version == mqtt::protocol_version::v5 ? 1 : 0);
    placed.emplace_back(slot, p->client);
    pubs_.push_back(std::move(p));
  }
  std::sort(placed.begin(), placed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [slot, c] : placed) clients_.push_back(c);
}

std::uint64_t throughput_run::min_received(const publisher& p, int& blocking) const {
  std::uint64_t least = UINT64_MAX;
  for (int r : p.receivers) {
    std::uint64_t n = subs_[r]->from_publisher[p.index].load();
    if (n < least) {
      least = n;
      blocking = r;
    }
  }
  return least;
}

void throughput_run::fill(publisher& p) {
  if (stop_.load(std::memory_order_relaxed) || p.waiting.load() || !p.client->connected()) return;
  if (p.client->queued_bytes() >= batch_bytes) return;
  int blocking = -1;
  std::uint64_t allowed = min_received(p, blocking) + p.forgiven + window_;
  bool qos1 = o_.qos == 1;
  p.batch.clear();
  bool shut = false;
  while (p.client->queued_bytes() + p.batch.size() < batch_bytes && p.sent_local < limit_) {
    if (qos1 && p.outstanding >= o_.inflight) break;  // the next PUBACK calls fill again
    if (p.sent_local >= allowed) {
      shut = true;
      break;
    }
    std::size_t at = p.batch.size();
    p.batch.append(p.frame);
    auto seq = static_cast<std::uint32_t>(p.sent_local);
    std::memcpy(p.batch.data() + at + p.sequence_at, &seq, sizeof seq);
    if (qos1) {
      std::uint16_t id = p.next_packet_id;
      p.next_packet_id = id == 65535 ? 1 : id + 1;  // 0 is not a packet id [MQTT-2.3.1-1]
      p.batch[at + p.packet_id_at] = static_cast<char>(id >> 8);
      p.batch[at + p.packet_id_at + 1] = static_cast<char>(id & 0xff);
      p.id_in_flight[id] = true;
      ++p.outstanding;
    }
    ++p.sent_local;
  }
  if (!p.batch.empty()) {
    p.sent.store(p.sent_local, std::memory_order_relaxed);
    p.client->send(p.batch);
  }
  if (shut) begin_wait(p, blocking);
}

void throughput_run::begin_wait(publisher& p, int blocking) {
  // Wake when the subscriber holding the window shut has caught up to half a window.
  std::uint64_t target = p.sent_local - p.forgiven - window_ / 2;
  p.wake_at.store(target);
  p.waiting_on.store(blocking);
  p.waiting.store(true);
  // The subscriber may have passed the target before it could see `waiting`.
  if (subs_[blocking]->from_publisher[p.index].load() >= target && p.waiting.exchange(false)) {
    asio::post(p.client->executor(), [this, &p] { fill(p); });
    return;
  }
  std::uint64_t generation = ++p.wait_generation;
  p.stall_timer->expires_after(stall_limit);
  p.stall_timer->async_wait([this, &p, generation](const boost::system::error_code& ec) {
    if (ec || generation != p.wait_generation || !p.waiting.exchange(false)) return;
    p.stalls.fetch_add(1);
    int ignored = -1;
    p.forgiven = p.sent_local - min_received(p, ignored);
    fill(p);
  });
}

void throughput_run::on_publish(subscriber& s, const mqtt::publish_packet& pkt) {
  std::uint32_t from = 0;
  std::uint32_t seq = 0;
  if (pkt.payload.size() != o_.payload_size) {
    s.foreign.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::memcpy(&from, pkt.payload.data() + payload_publisher_at, sizeof from);
  std::memcpy(&seq, pkt.payload.data() + payload_sequence_at, sizeof seq);
  if (from >= pubs_.size()) {
    s.foreign.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Published and subscribed at the same QoS, so it must arrive at that QoS [MQTT-3.8.4-6];
  // a broker that downgraded would make the QoS 1 row measure QoS 0.
  if (static_cast<int>(pkt.qos) < o_.qos) s.downgraded.fetch_add(1, std::memory_order_relaxed);
  std::uint32_t& next = s.next_sequence[from];
  if (seq < next) {
    s.backwards.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (seq > next) s.skipped.fetch_add(seq - next, std::memory_order_relaxed);
    next = seq + 1;
  }
  std::uint64_t count = s.from_publisher[from].fetch_add(1) + 1;
  s.total.fetch_add(1, std::memory_order_relaxed);
  publisher& p = *pubs_[from];
  if (p.waiting.load() && p.waiting_on.load() == s.index && count >= p.wake_at.load() &&
      p.waiting.exchange(false)) {
    asio::post(p.client->executor(), [this, &p] { fill(p); });
  }
}

void throughput_run::on_puback(publisher& p, std::uint16_t id) {
  if (!p.id_in_flight[id]) {
    p.stray_acks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  p.id_in_flight[id] = false;
  --p.outstanding;
  p.acked.fetch_add(1, std::memory_order_relaxed);
  fill(p);
}

void throughput_run::on_closed(const std::string& reason, bool was_connected) {
  closed_.fetch_add(1);
  if (!was_connected) {
    ramp_.answered(reason);
    return;
  }
  if (closing_.load()) return;
  dropped_.fetch_add(1);
  std::lock_guard lock(reason_mutex_);
  if (drop_reason_.empty()) drop_reason_ = reason;
}

totals throughput_run::snapshot() const {
  totals t;
  t.at = clock_type::now();
  for (auto& s : subs_) t.delivered += s->total.load(std::memory_order_relaxed);
  for (auto& p : pubs_) t.published += p->sent.load(std::memory_order_relaxed);
  return t;
}

std::uint64_t throughput_run::expected_deliveries() const {
  std::uint64_t n = 0;
  for (auto& p : pubs_) n += p->sent.load() * p->receivers.size();
  return n;
}

bool throughput_run::all_acked() const {
  if (o_.qos == 0) return true;
  for (auto& p : pubs_) {
    if (p->acked.load() != p->sent.load()) return false;
  }
  return true;
}

void throughput_run::print(const totals& a, const totals& b, std::uint64_t lost) {
  double seconds = std::chrono::duration<double>(b.at - a.at).count();
  if (seconds <= 0) seconds = 1e-9;
  std::uint64_t backwards = 0, skipped = 0, foreign = 0, stalls = 0, stray = 0, unacked = 0;
  std::uint64_t downgraded = 0;
  for (auto& s : subs_) {
    downgraded += s->downgraded.load();
    backwards += s->backwards.load();
    skipped += s->skipped.load();
    foreign += s->foreign.load();
  }
  for (auto& p : pubs_) {
    stalls += p->stalls.load();
    stray += p->stray_acks.load();
    if (o_.qos == 1) unacked += p->sent.load() - p->acked.load();
  }
  std::printf("RESULT %s msgs_per_s=%.0f published_per_s=%.0f delivered=%" PRIu64
              " seconds=%.2f lost=%" PRIu64 " unacked=%" PRIu64 " reordered=%" PRIu64
              " skipped=%" PRIu64 " foreign=%" PRIu64 " downgraded=%" PRIu64 " stalls=%" PRIu64
              " stray_acks=%" PRIu64 " disconnects=%d",
              result_name(o_).c_str(), double(b.delivered - a.delivered) / seconds,
              double(b.published - a.published) / seconds, b.delivered - a.delivered, seconds, lost,
              unacked, backwards, skipped, foreign, downgraded, stalls, stray, dropped_.load());
  if (rss_) {
    std::printf(" rss_before_kib=%lld rss_peak_kib=%lld rss_growth_mib=%.1f", rss_->before_kib(),
                rss_->peak_kib(), double(rss_->peak_kib() - rss_->before_kib()) / 1024.0);
  }
  std::printf("\n");
  std::fflush(stdout);
  if (lost > 0 && o_.qos > 0) {
    std::fprintf(stderr, "mqtt-load: %" PRIu64 " QoS %d messages were lost\n", lost, o_.qos);
  }
  if (dropped_.load() > 0) {
    std::fprintf(stderr, "mqtt-load: %d connections dropped during the run, first: %s\n",
                 dropped_.load(), drop_reason_.c_str());
  }
}

int throughput_run::run() {
  std::string prefix =
      o_.topic_prefix.empty() ? "bench/" + std::to_string(getpid()) : o_.topic_prefix;
  build(prefix);
  std::string name = result_name(o_);
  auto ramp = ramp_.run(clients_, milliseconds(30000));
  if (ramp.connected != clients_.size()) {
    std::fprintf(stderr, "mqtt-load: %zu of %zu clients could not connect: %s\n",
                 clients_.size() - ramp.connected, clients_.size(), ramp.first_error.c_str());
    std::printf("RESULT %s error=connect_failed\n", name.c_str());
    return 1;
  }
  auto qos = static_cast<mqtt::qos>(o_.qos);
  for (std::size_t i = 0; i < subs_.size(); ++i) {
    auto c = subs_[i]->client;
    asio::post(c->executor(), [c, f = topo_.filters[i], qos] { c->subscribe(1, f, qos); });
  }
  int wanted = static_cast<int>(subs_.size());
  if (!wait_for([&] { return subacks_.load() == wanted; }, milliseconds(10000)) ||
      refused_subscriptions_.load() > 0) {
    std::fprintf(stderr, "mqtt-load: subscriptions not granted (%d of %d answered, %d refused)\n",
                 subacks_.load(), wanted, refused_subscriptions_.load());
    std::printf("RESULT %s error=subscribe_failed\n", name.c_str());
    return 1;
  }
  if (o_.stuck > 0) {
    const std::string error = stuck_.open(o_, topo_.filters[0], o_.stuck);
    if (!error.empty()) {
      std::fprintf(stderr, "mqtt-load: %s\n", error.c_str());
      std::printf("RESULT %s error=stuck_failed\n", name.c_str());
      return 1;
    }
  }
  if (o_.broker_pid) rss_ = std::make_unique<rss_sampler>(*o_.broker_pid);
  for (auto& p : pubs_) asio::post(p->client->executor(), [this, p = p.get()] { fill(*p); });

  totals a, b;
  if (!o_.count) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.warmup_s));
    a = snapshot();
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.duration_s));
    b = snapshot();
  } else {
    a = snapshot();
    std::uint64_t all = limit_ * pubs_.size();
    wait_for(
        [&] {
          b = snapshot();
          return b.published == all && b.delivered == expected_deliveries() && all_acked();
        },
        milliseconds(600000));
  }
  stop_.store(true);
  // Drain: what was sent must arrive. Give up once nothing moved for a second.
  std::uint64_t last = 0;
  auto moved = clock_type::now();
  wait_for(
      [&] {
        std::uint64_t now = snapshot().delivered;
        if (now != last) {
          last = now;
          moved = clock_type::now();
        }
        return (now >= expected_deliveries() && all_acked()) ||
               clock_type::now() - moved > milliseconds(1000);
      },
      milliseconds(10000));
  std::uint64_t expected = expected_deliveries();
  std::uint64_t delivered = snapshot().delivered;
  print(a, b, expected > delivered ? expected - delivered : 0);

  closing_.store(true);
  for (auto& p : pubs_) {
    asio::post(p->client->executor(), [p = p.get()] { p->stall_timer->cancel(); });
  }
  for (auto& c : clients_) asio::post(c->executor(), [c] { c->disconnect(); });
  int all = static_cast<int>(clients_.size());
  wait_for([&] { return closed_.load() == all; }, milliseconds(3000));
  pool_.finish(milliseconds(2000));
  return 0;
}

}  // namespace

int run_throughput(const load_options& o, const asio::ip::tcp::endpoint& broker) {
  throughput_run run(o, broker);
  return run.run();
}

}  // namespace bench
