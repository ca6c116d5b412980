#include "transport/io_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

#include "transport/io_thread.hpp"

namespace transport {

namespace asio = boost::asio;

namespace {
constexpr std::size_t read_buffer_size = 64 * 1024;
}

struct io_pool::slot {
  // Concurrency hint 1: each context is only ever run by one thread.
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(context)};
  std::vector<std::uint8_t> read_buffer = std::vector<std::uint8_t>(read_buffer_size);
  io_thread::home home{read_buffer};
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
