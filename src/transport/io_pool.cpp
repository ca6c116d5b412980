#include "transport/io_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <optional>
#include <utility>

#include "transport/fd_poller.hpp"
#include "transport/io_thread.hpp"

namespace transport {

namespace asio = boost::asio;

namespace {
constexpr std::size_t read_buffer_size = 64 * 1024;

// Serves the home's deadline queue with one timer on the slot's context. Its timer is touched on
// the slot's thread only: a change asked for elsewhere (a session closed by close_all_now after
// the threads stopped) is posted there.
class deadline_driver final : public deadline_queue::driver {
 public:
  deadline_driver(asio::io_context& context, io_thread::home& home)
      : context_(context), home_(home), timer_(context) {}

  void wake_at(deadline_queue::clock::time_point t) override {
    if (!on_own_thread()) return post_rearm();
    if (armed_ && t >= armed_for_) return;
    arm(t);
  }

  void stand_down() override {
    if (!on_own_thread()) return post_rearm();
    disarm();
  }

 private:
  bool on_own_thread() const { return io_thread::current() == &home_; }

  void post_rearm() {
    asio::post(context_, [this] { rearm(); });
  }

  // In a handler of the context: on its thread, or in io_pool::drain() when no thread runs it.
  void rearm() {
    const deadline_queue::clock::time_point t = home_.deadlines.earliest();
    if (t == deadline_queue::clock::time_point::max()) return disarm();
    if (!armed_ || t < armed_for_) arm(t);
  }

  void disarm() {
    // Cancelled, the wait completes at once and does nothing, so an idle context runs dry.
    if (armed_) timer_.cancel();
    armed_ = false;
  }

  void arm(deadline_queue::clock::time_point t) {
    armed_ = true;
    armed_for_ = t;
    timer_.expires_at(t);  // a wait still pending completes as cancelled
    timer_.async_wait([this, t](boost::system::error_code ec) {
      if (ec || !armed_ || armed_for_ != t) return;  // cancelled or superseded
      armed_ = false;
      home_.deadlines.expire(deadline_queue::clock::now(), expired_);
      // Each runs under its own session's lock and may schedule its entry again, which arms
      // the timer earlier if it must.
      // A handler that throws is a bug (run_slot logs it); the other sessions still get theirs.
      std::exception_ptr failure;
      for (std::shared_ptr<deadline_queue::entry>& e : expired_) {
        const std::shared_ptr<deadline_queue::entry> owner = std::move(e);
        try {
          owner->expired();
        } catch (...) {
          if (!failure) failure = std::current_exception();
        }
      }
      expired_.clear();
      rearm();
      if (failure) std::rethrow_exception(failure);
    });
  }

  asio::io_context& context_;
  io_thread::home& home_;
  asio::steady_timer timer_;
  bool armed_ = false;
  deadline_queue::clock::time_point armed_for_{};
  std::vector<std::shared_ptr<deadline_queue::entry>> expired_;  // reused between wakes
};
}  // namespace

struct io_pool::slot {
  // Before the context: a session that the context's abandoned handlers still hold at shutdown
  // is destroyed with the context and takes its entry out of this home's deadline queue.
  std::vector<std::uint8_t> read_buffer = std::vector<std::uint8_t>(read_buffer_size);
  io_thread::home home{read_buffer};
  // Concurrency hint 1: each context is only ever run by one thread.
  asio::io_context context{1};
  // After the context, so destroyed before it: sessions it still watches at shutdown are let go
  // while their context and home exist.
  fd_poller poller{context};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(context)};
  deadline_driver deadlines{context, home};

  slot() {
    home.deadlines.set_driver(&deadlines);
    home.context = &context;
    home.poller = &poller;
  }
  ~slot() { home.deadlines.set_driver(nullptr); }
};

io_pool::io_pool(std::size_t threads, broker::logger& log) : log_(log) {
  if (threads == 0) threads = 1;
  slots_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) slots_.push_back(std::make_unique<slot>());
}

io_pool::~io_pool() {
  stop();
  join();
  drain();
}

asio::io_context& io_pool::context(std::size_t index) {
  return slots_.at(index)->context;
}

io_thread::home& io_pool::home(std::size_t index) {
  return slots_.at(index)->home;
}

std::size_t io_pool::next_index() {
  return next_.fetch_add(1, std::memory_order_relaxed) % slots_.size();
}

void io_pool::start() {
  {
    std::lock_guard lock(mutex_);
    running_ = slots_.size();
  }
  for (auto& s : slots_) threads_.emplace_back([this, &s] { run_slot(*s); });
}

namespace {
// io_context::run(), except that the home says when the thread waits for events: run what is
// ready, and only when nothing is, sleep in run_one() marked idle.
void run_marking_idle(asio::io_context& context, io_thread::home& home) {
  while (true) {
    const std::size_t ran = context.poll();
    if (home.failure) std::rethrow_exception(std::exchange(home.failure, nullptr));
    if (context.stopped()) return;
    if (ran != 0) continue;
    home.idle.store(true, std::memory_order_relaxed);
    const std::size_t woken = context.run_one();
    home.idle.store(false, std::memory_order_relaxed);
    if (home.failure) std::rethrow_exception(std::exchange(home.failure, nullptr));
    if (woken == 0) return;
  }
}
}  // namespace

void io_pool::run_slot(slot& s) {
  io_thread::set_current(&s.home);
  while (true) {
    try {
      run_marking_idle(s.context, s.home);
      break;
    } catch (const std::exception& e) {
      s.home.idle.store(false, std::memory_order_relaxed);
      // A handler that throws is a bug; keep serving the other connections on this thread.
      log_.log(broker::log_level::error, std::string("I/O thread: unexpected error: ") + e.what());
    }
  }
  io_thread::set_current(nullptr);
  std::lock_guard lock(mutex_);
  if (--running_ == 0) idle_.notify_all();
}

void io_pool::release() {
  for (auto& s : slots_) s->work.reset();
}

bool io_pool::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return running_ == 0; });
}

void io_pool::stop() {
  for (auto& s : slots_) s->context.stop();
}

void io_pool::join() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void io_pool::drain() {
  release();
  // Bounded: a completion may queue another (a closing connection waking a subscriber), but
  // closed connections start no new I/O, so this settles within a few rounds.
  for (int round = 0; round < 100; ++round) {
    std::size_t ran = 0;
    for (auto& s : slots_) {
      s->context.restart();
      try {
        ran += s->context.poll();
      } catch (const std::exception& e) {
        log_.log(broker::log_level::error, std::string("shutdown: unexpected error: ") + e.what());
      }
    }
    if (ran == 0) return;
  }
}

}  // namespace transport
