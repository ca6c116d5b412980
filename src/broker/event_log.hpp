#pragma once
// The broker's recent notable events, for the web UI: refused logins (never a password), limit
// hits, bridge state. A ring of the last `capacity` events, numbered so a reader asks only for
// what it has not seen. Thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace broker {

enum class event_kind { login_refused, connect_refused, limit, client, bridge };

const char* name_of(event_kind kind);

struct broker_event {
  std::uint64_t seq = 0;  // 1, 2, ... in the order added
  std::chrono::system_clock::time_point time;
  event_kind kind = event_kind::client;
  std::string client_id;  // may be empty
  std::string text;
};

class event_log {
 public:
  explicit event_log(std::size_t capacity = 500) : capacity_(capacity) {}

  void add(event_kind kind, std::string_view client_id, std::string_view text);
  // Events numbered above `seq`, oldest first, at most `limit` (the newest ones).
  std::vector<broker_event> since(std::uint64_t seq, std::size_t limit) const;
  // The number of the newest event, 0 when none.
  std::uint64_t last_seq() const;
  // Events added so far of `kind`, including those the ring has forgotten.
  std::uint64_t count(event_kind kind) const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<broker_event> events_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t counts_[5] = {};
};

}  // namespace broker
