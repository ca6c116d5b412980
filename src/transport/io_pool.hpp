#pragma once
// One io_context per I/O thread, each run by exactly one thread, so everything a connection does
// runs on one thread without locks (FlashMQ's model: clients pinned to a thread).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/logger.hpp"

namespace boost::asio {
class io_context;
}

namespace transport {

namespace io_thread {
struct home;
}

class io_pool {
 public:
  io_pool(std::size_t threads, broker::logger& log);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  std::size_t size() const { return slots_.size(); }
  boost::asio::io_context& context(std::size_t index);
  // What context `index`'s thread shares with its sessions (io_thread.hpp): its read buffer, and
  // whether it sleeps.
  io_thread::home& home(std::size_t index);
  // Round-robin over the contexts, for spreading new connections. Thread-safe.
  std::size_t next_index();

  void start();    // one thread per context
  void release();  // drops the keep-alive work: a context's run() returns once it has nothing left
  // Waits until every thread's run() has returned; false when `timeout` passed first.
  bool wait_idle(std::chrono::milliseconds timeout);
  void stop();  // abandons whatever is left (after a wait_idle timeout)
  void join();
  // After join(): runs the handlers still queued (completions of cancelled operations) so every
  // connection is released while all contexts still exist.
  void drain();

 private:
  struct slot;
  void run_slot(slot& s);

  broker::logger& log_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t running_ = 0;
};

}  // namespace transport
