#include "connect_ramp.hpp"

#include <boost/asio/post.hpp>
#include <thread>

namespace bench {

void connect_ramp::answered(const std::string& error) {
  if (error.empty()) {
    connected_.fetch_add(1);
    return;
  }
  {
    std::lock_guard lock(error_mutex_);
    if (first_error_.empty()) first_error_ = error;
  }
  failed_.fetch_add(1);
}

ramp_result connect_ramp::run(const std::vector<std::shared_ptr<load_client>>& clients,
                              std::chrono::milliseconds limit) {
  auto begin = std::chrono::steady_clock::now();
  auto deadline = begin + limit;
  std::size_t started = 0;
  for (;;) {
    std::size_t answered = connected_.load() + failed_.load();
    if (answered >= clients.size() || std::chrono::steady_clock::now() >= deadline) break;
    while (started < clients.size() && started - answered < concurrency_) {
      auto c = clients[started++];
      boost::asio::post(c->executor(), [c] { c->start(); });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ramp_result r;
  r.connected = connected_.load();
  r.failed = failed_.load();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::lock_guard lock(error_mutex_);
  r.first_error = first_error_;
  if (r.connected + r.failed < clients.size() && r.first_error.empty()) {
    r.first_error = "not every client answered within " + std::to_string(limit.count()) + " ms";
  }
  return r;
}

}  // namespace bench
