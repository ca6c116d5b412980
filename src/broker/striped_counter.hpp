#pragma once
// A counter every I/O thread changes on its hot path (messages and bytes in and out, bytes
// queued): each thread adds to its own slot, on its own cache line, and a reader sums the slots.
// With one atomic, the line holding it moved between the cores on every message, as the broker
// lock's reader count did before it was striped the same way (rw_lock.hpp).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace broker {

inline constexpr std::size_t thread_slot_count = 16;

// The calling thread's slot: threads get them in turn; past thread_slot_count they share one,
// which is still correct, only slower.
inline std::size_t thread_slot() {
  static std::atomic<std::size_t> next_thread{0};
  thread_local const std::size_t index =
      next_thread.fetch_add(1, std::memory_order_relaxed) % thread_slot_count;
  return index;
}

class striped_counter {
 public:
  // Relaxed: the counter orders nothing else. A slot may go below zero (one thread adds what
  // another takes away); unsigned arithmetic wraps, and the sum comes out right.
  void add(std::uint64_t n) { slots_[thread_slot()].value.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::uint64_t n) { slots_[thread_slot()].value.fetch_sub(n, std::memory_order_relaxed); }
  // The total: exact when nothing changes meanwhile, else off by what changes during the sum.
  // The sum may see a subtraction on one thread's slot and miss the addition it undoes on
  // another's: below zero it would wrap to about 2^64, so it is clamped at 0.
  std::uint64_t load() const {
    std::uint64_t sum = 0;
    for (const slot& s : slots_) sum += s.value.load(std::memory_order_relaxed);
    return static_cast<std::int64_t>(sum) < 0 ? 0 : sum;
  }

 private:
  struct alignas(64) slot {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<slot, thread_slot_count> slots_;
};

}  // namespace broker
