#pragma once
// What one I/O thread shares with the sessions it serves, and the wake-ups it saves.
//
// A message for a subscriber on another I/O thread reaches it through a wake: a post to that
// thread's io_context. When that thread sleeps (in epoll_wait), the post costs a second thread
// wake-up after the publisher's own, and that wake-up is most of the latency a second I/O
// thread adds over a single-threaded broker at low rates (Mosquitto's). So a session handler that
// wakes sessions of a sleeping thread keeps those wakes until it ends, and then writes their
// output itself (stream_session::deferred_wake): the subscriber's bytes leave on the publisher's
// thread and the sleeping thread sleeps on. Only a few per handler (max_deferred), so that a
// fan-out still wakes the other thread and shares the work; a busy thread is always posted to,
// and then writes a whole batch at once.
//
// One thread-local pointer (current()) tells a wake which thread it runs on, the way Asio's own
// call stack tells an executor whether it runs in this thread.

#include <boost/asio/buffer.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "broker/output_batch.hpp"
#include "transport/deadline_queue.hpp"

namespace boost::asio {
class io_context;
}

namespace transport {
class fd_poller;
}

namespace transport::io_thread {

class wake_target {
 public:
  // On another I/O thread, between handlers: writes the session's waiting output if it can, else
  // posts the wake to the session's own thread.
  virtual void deferred_wake() = 0;

 protected:
  ~wake_target() = default;
};

// Cross-thread wakes one handler may keep for its end; the rest are posted at once.
constexpr std::size_t max_deferred = 4;

// One per I/O thread (io_pool's slot).
struct home {
  explicit home(std::span<std::uint8_t> buffer) : read_buffer(buffer) {}

  // Shared by the thread's plain TCP streams: only one handler runs at a time and read bytes are
  // consumed before it returns, so an idle connection holds no read buffer of its own.
  std::span<std::uint8_t> read_buffer;
  // The thread waits for events (or has just woken up and not yet entered a session handler).
  // Read by other threads as a hint only: what it guards is taken with the session's own lock.
  std::atomic<bool> idle{false};
  // The deadlines of this thread's sessions, served by one timer (io_pool's).
  deadline_queue deadlines;
  // The context the thread runs, and what watches its plain TCP sockets (fd_poller.hpp, used
  // on this thread only): io_pool's.
  boost::asio::io_context* context = nullptr;
  fd_poller* poller = nullptr;

  // The rest is touched by this home's thread only.
  int depth = 0;  // nested handler_scopes
  std::vector<std::weak_ptr<wake_target>> deferred;
  std::vector<std::weak_ptr<wake_target>> draining;
  // What a deferred wake writes from this thread: the output and its gather list.
  broker::output_batch scratch;
  std::vector<boost::asio::const_buffer> scratch_buffers;
  // What a deferred wake threw (it runs in a destructor, which must not throw): io_pool rethrows
  // it after the handler, where a handler's own exception would have gone.
  std::exception_ptr failure;
};

// The calling thread's home; nullptr off the I/O threads.
home* current();
// io_pool, on each of its threads before it runs the context (nullptr after).
void set_current(home* h);

// Keeps a wake of a session living on `target` for the end of the current handler. False (post
// the wake now) off an I/O thread, outside a handler, for the calling thread's own sessions, when
// `target`'s thread is not idle, or when the handler already keeps max_deferred.
bool defer(home& target, std::weak_ptr<wake_target> session);

// Every session handler opens one: on its thread the home is busy, and when the outermost one
// closes (after the handler let go of its session) the kept wakes run.
class handler_scope {
 public:
  handler_scope() : home_(current()) {
    if (!home_) return;
    ++home_->depth;
    if (home_->idle.load(std::memory_order_relaxed)) {
      home_->idle.store(false, std::memory_order_relaxed);
    }
  }
  ~handler_scope() {
    if (home_ && --home_->depth == 0 && !home_->deferred.empty()) drain(*home_);
  }
  handler_scope(const handler_scope&) = delete;
  handler_scope& operator=(const handler_scope&) = delete;

 private:
  static void drain(home& h);
  home* home_;
};

// A session's lock, one byte: its own thread takes it for every handler, another thread only
// with try_lock() for a deferred wake's write (a few microseconds), so waiting is a short spin.
class session_lock {
 public:
  bool try_lock() { return !taken_.exchange(true, std::memory_order_acquire); }
  void lock() {
    for (int spins = 0; !try_lock(); ++spins) {
      if (spins >= 64) std::this_thread::yield();
    }
  }
  void unlock() { taken_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> taken_{false};
};

}  // namespace transport::io_thread
