#include "transport/io_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

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

std::span<std::uint8_t> io_pool::read_buffer(std::size_t index) {
  return slots_.at(index)->read_buffer;
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

void io_pool::run_slot(slot& s) {
  while (true) {
    try {
      s.context.run();
      break;
    } catch (const std::exception& e) {
      // A handler that throws is a bug; keep serving the other connections on this thread.
      log_.log(broker::log_level::error, std::string("I/O thread: unexpected error: ") + e.what());
    }
  }
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
