#pragma once
// Runs the configured bridges on one thread of their own, beside the I/O threads: for each, the
// connection to the remote broker (address fail-over, reconnect with backoff, TLS) around its
// Sans-I/O bridge_engine. Keeps Asio out of the app.

#include <chrono>
#include <memory>
#include <vector>

#include "bridge/bridge_settings.hpp"
#include "bridge/bridge_status.hpp"
#include "broker/broker_core.hpp"
#include "broker/logger.hpp"

namespace transport {

class bridge_runner {
 public:
  // `core` and `log` must outlive the runner. Call core.reserve_bridge_client_ids() first.
  bridge_runner(std::vector<bridge::bridge_settings> bridges, broker::broker_core& core,
                broker::logger& log);
  ~bridge_runner();  // stop()s with a short limit
  bridge_runner(const bridge_runner&) = delete;
  bridge_runner& operator=(const bridge_runner&) = delete;

  // Starts the thread and every bridge (start_type automatic and once).
  void start();
  // Ends every bridge cleanly (notification 0, DISCONNECT) within `limit`, then joins.
  void stop(std::chrono::milliseconds limit);
  // Thread-safe snapshot, one entry per bridge in configuration order.
  std::vector<bridge::bridge_status> status() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace transport
