#include "io_pool.hpp"

#include <atomic>

namespace bench {

io_pool::io_pool(int threads) {
  for (int i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] { c->run(); });
  }
}

io_pool::~io_pool() {
  finish(std::chrono::milliseconds(0));
}

void io_pool::finish(std::chrono::milliseconds grace) {
  for (auto& g : guards_) g.reset();
  guards_.clear();
  wait_for(
      [this] {
        for (auto& c : contexts_) {
          if (!c->stopped()) return false;
        }
        return true;
      },
      grace);
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace bench
