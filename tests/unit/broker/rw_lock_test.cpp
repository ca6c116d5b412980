// rw_lock: readers share it, a writer excludes them, and a waiting writer is not starved by
// readers that keep arriving (the reason the broker does not use std::shared_mutex).

#include "broker/rw_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace broker {
namespace {

using namespace std::chrono_literals;

TEST(rw_lock, readers_share_it_and_a_writer_waits_for_them) {
  rw_lock lock;
  std::shared_lock first(lock);
  EXPECT_TRUE(lock.try_lock_shared());  // a second reader gets in at once
  lock.unlock_shared();
  EXPECT_FALSE(lock.try_lock());  // a writer does not
  first.unlock();
  EXPECT_TRUE(lock.try_lock());
  EXPECT_FALSE(lock.try_lock_shared());  // nor does a reader while the writer holds it
  lock.unlock();
}

TEST(rw_lock, a_writer_gets_in_while_readers_keep_overlapping) {
  rw_lock lock;
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  // Two readers whose holds overlap, so that at every instant one of them holds the lock: a
  // reader-preferring lock never lets a writer in while they run.
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      if (r == 1) std::this_thread::sleep_for(1ms);
      while (!stop.load()) {
        std::shared_lock hold(lock);
        reads.fetch_add(1);
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  while (reads.load() < 4) std::this_thread::sleep_for(1ms);
  const auto asked = std::chrono::steady_clock::now();
  std::atomic<bool> written{false};
  std::thread writer([&] {
    std::lock_guard hold(lock);
    written.store(true);
  });
  while (!written.load() && std::chrono::steady_clock::now() - asked < 5s) {
    std::this_thread::sleep_for(1ms);
  }
  const auto waited = std::chrono::steady_clock::now() - asked;
  stop.store(true);
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_TRUE(written.load());
  // The readers hold it 2 ms at a time: the writer waits for the holds in progress, no more
  // (a generous bound for a loaded machine).
  EXPECT_LT(waited, 1s);
}

}  // namespace
}  // namespace broker
