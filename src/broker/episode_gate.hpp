#pragma once
// One log line per episode of a limit being hit, not one per event: the first event of an
// episode says so, the rest are only counted, until the limit has been quiet for a while; the
// next event then opens a new episode. Thread-safe, lock-free.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace broker {

class episode_gate {
 public:
  using clock = std::chrono::steady_clock;

  explicit episode_gate(clock::duration quiet = std::chrono::seconds(60)) : quiet_(quiet) {}

  // True when this event opens an episode: log it.
  bool begins(clock::time_point now) {
    const std::int64_t at = now.time_since_epoch().count();
    const std::int64_t previous = last_event_.exchange(at, std::memory_order_relaxed);
    return previous == never || at - previous > quiet_.count();
  }

 private:
  static constexpr std::int64_t never = INT64_MIN;
  clock::duration quiet_;
  std::atomic<std::int64_t> last_event_{never};
};

}  // namespace broker

namespace broker {

// The limits whose hits are logged once per episode.
struct limit_episodes {
  episode_gate total_budget;
  episode_gate connect_timeout;
  episode_gate connections_refused;
  episode_gate subscriptions_refused;
  episode_gate sessions_refused;
  episode_gate retained_refused;
  episode_gate input_budget;
};

}  // namespace broker
