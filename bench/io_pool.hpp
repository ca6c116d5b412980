#pragma once
// One io_context per thread; clients are spread over them so the generator uses every core it
// is given, and each client's handlers run on one thread only.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace bench {

class io_pool {
 public:
  explicit io_pool(int threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }

  // Lets the threads finish once no handler is pending, waiting at most `grace`; then stops
  // whatever is left and joins. Safe to call twice.
  void finish(std::chrono::milliseconds grace);

 private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<work_guard> guards_;
  std::vector<std::thread> threads_;
};

// Polls `done` every few milliseconds until it holds or `limit` passes; returns whether it held.
// The coordinating thread waits this way so that every wait has a deadline.
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit);

}  // namespace bench
