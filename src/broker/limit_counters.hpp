#pragma once
// What every limit of the broker did, in one place: $SYS/broker/limits/... and /metrics read it.

#include <atomic>
#include <cstdint>

namespace broker {

// A snapshot, for readers.
struct limit_stats {
  std::uint64_t dropped_client_budget = 0;    // QoS 0 not sent: a connected client's buffer full
  std::uint64_t dropped_total_budget = 0;     // not queued: every buffer together full
  std::uint64_t dropped_offline = 0;          // not kept: offline session past its limits
  std::uint64_t disconnected_for_budget = 0;  // clients that left QoS 1/2 past their budget
  std::uint64_t connections_refused = 0;      // past max_connections
  std::uint64_t connect_timeouts = 0;         // no CONNECT within connect_timeout
  std::uint64_t logins_throttled = 0;         // login attempts held back by the throttle
  std::uint64_t subscriptions_refused = 0;    // past max_subscriptions(_per_client)
  std::uint64_t sessions_refused = 0;         // new sessions past max_sessions
  std::uint64_t retained_refused = 0;         // retained messages not kept: max_retained_bytes
  std::uint64_t input_budget_closed = 0;      // connections closed: packets arriving past budget
  std::uint64_t input_bytes = 0;              // now: large packets still arriving, all together
  std::uint64_t buffered_bytes = 0;           // now: queued in every session together
  std::uint64_t connections_open = 0;         // now: sockets open (connected or not yet)
};

// The live counters; relaxed atomics, written from any thread.
struct limit_counters {
  std::atomic<std::uint64_t> dropped_client_budget{0};
  std::atomic<std::uint64_t> dropped_total_budget{0};
  std::atomic<std::uint64_t> dropped_offline{0};
  std::atomic<std::uint64_t> disconnected_for_budget{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> connect_timeouts{0};
  std::atomic<std::uint64_t> logins_throttled{0};
  std::atomic<std::uint64_t> subscriptions_refused{0};
  std::atomic<std::uint64_t> sessions_refused{0};
  std::atomic<std::uint64_t> retained_refused{0};
  std::atomic<std::uint64_t> input_budget_closed{0};
  // Bytes of unfinished incoming packets held past input_threshold (connection.cpp), every
  // connection together; changed only by connections receiving large packets.
  std::atomic<std::uint64_t> input_bytes{0};
  std::atomic<std::uint64_t> connections_open{0};

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace broker
