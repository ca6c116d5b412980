#pragma once
// Starts many clients without flooding the broker's listen backlog: at most `concurrency`
// connects are in progress at once, the rest wait their turn.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "load_client.hpp"

namespace bench {

struct ramp_result {
  std::size_t connected = 0;
  std::size_t failed = 0;
  std::string first_error;
  double seconds = 0;
};

class connect_ramp {
 public:
  explicit connect_ramp(std::size_t concurrency) : concurrency_(concurrency) {}

  // Each client reports here exactly once: from on_connected, or from on_closed when it closed
  // before it was connected. Callable from any thread.
  void answered(const std::string& error);

  // Starts every client on its own executor and returns once all answered or `limit` passed.
  ramp_result run(const std::vector<std::shared_ptr<load_client>>& clients,
                  std::chrono::milliseconds limit);

 private:
  std::size_t concurrency_;
  std::atomic<std::size_t> connected_{0};
  std::atomic<std::size_t> failed_{0};
  std::mutex error_mutex_;
  std::string first_error_;
};

}  // namespace bench
