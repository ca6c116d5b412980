#pragma once
// One thread for work too slow for an I/O thread (a PBKDF2 derivation takes tens of ms), with a
// bounded queue: when it is full, post() says no and the caller answers otherwise.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace addon {

class background_worker {
 public:
  explicit background_worker(std::size_t max_queued);
  ~background_worker();  // stop()s
  background_worker(const background_worker&) = delete;
  background_worker& operator=(const background_worker&) = delete;

  // Thread-safe. False (and `job` is not run) when the queue is full or the worker stopped.
  bool post(std::function<void()> job);

  // Finishes the job in progress, drops the queued ones, joins. Idempotent.
  void stop();

 private:
  void run();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace addon
