#pragma once
// What the two latency scenarios share: a publisher and a subscriber on one thread (so one clock
// stamps both ends and no cross-thread hand-off is measured), connected and subscribed to one
// topic, with the one timer that paces the sends, then stopped and closed; the PUBLISH they send,
// encoded once and numbered per copy; and the summary of the samples. Each scenario keeps only
// when it sends and what it counts.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "load_client.hpp"
#include "load_options.hpp"

namespace bench {

// One encoded PUBLISH; copies of it get their sequence number and packet id written in.
struct publish_frame {
  std::string bytes;
  std::size_t payload_at = 0;
  std::size_t packet_id_at = 0;
  bool has_packet_id = false;  // QoS 1: each copy gets its own id

  // `copy` points at a copy of `bytes`: writes the sequence number (payload bytes 4..7) and, at
  // QoS 1, a packet id taken from it.
  void number(char* copy, std::uint32_t seq) const;
};

class latency_pair {
 public:
  // The topic is <prefix>/<leaf>. `on_publish` runs on the pair's thread for every message the
  // subscriber receives.
  latency_pair(const load_options& o, const boost::asio::ip::tcp::endpoint& broker,
               const std::string& leaf,
               std::function<void(const mqtt::publish_packet&)> on_publish);
  ~latency_pair();
  latency_pair(const latency_pair&) = delete;
  latency_pair& operator=(const latency_pair&) = delete;

  // The thread both clients run on.
  boost::asio::io_context& context() { return pool_.at(0); }
  // The scenario's timer, on that thread; close() cancels it.
  boost::asio::steady_timer& timer() { return timer_; }
  load_client& publisher() { return *pub_; }

  // `payload` of the options' size, sent to the pair's topic at the options' QoS.
  publish_frame encode(const std::string& payload) const;

  // Connects both clients and subscribes; on failure prints the RESULT error line for `name`
  // and returns false.
  bool start(const std::string& name);
  // A connection lost before close() was called.
  bool dropped() const { return dropped_.load(); }
  // Runs `stop` on the pair's thread, cancels the timer, disconnects both and waits for the
  // thread to finish, so that what the handlers wrote can be read.
  void close(std::function<void()> stop);

 private:
  const load_options& o_;
  std::string topic_;
  io_pool pool_;
  connect_ramp ramp_;
  std::shared_ptr<load_client> pub_;
  std::shared_ptr<load_client> sub_;
  boost::asio::steady_timer timer_;
  std::atomic<int> subacks_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> dropped_{false};
};

// Sorts `samples` and formats their "p50_us=... p99_us=... p999_us=... max_us=... mean_us=...
// samples=N" fields.
std::string latency_fields(std::vector<double>& samples);

// The sample at quantile q of sorted samples, 0 when there are none.
double percentile(const std::vector<double>& sorted, double q);

}  // namespace bench
