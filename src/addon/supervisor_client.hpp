#pragma once
// The Supervisor's HTTP API over Boost.Beast, on a thread of its own so no I/O thread ever waits
// for it. Every request carries `X-Supervisor-Token` and `Content-Type: application/json`
// (CONTRACT.md "Discovery") and has a deadline; requests beyond a limit wait in a bounded queue,
// and past that fail at once.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "addon/supervisor_transport.hpp"
#include "addon/supervisor_url.hpp"
#include "broker/logger.hpp"

namespace addon {

struct supervisor_client_limits {
  std::size_t max_in_flight = 16;  // exchanges at once (each its own connection)
  std::size_t max_waiting = 1024;  // queued behind those
};

class supervisor_client : public supervisor_transport {
 public:
  // Starts the thread. `log` must outlive the client.
  supervisor_client(supervisor_endpoint endpoint, std::string token, broker::logger& log,
                    supervisor_client_limits limits = {});
  ~supervisor_client() override;  // stop()s
  supervisor_client(const supervisor_client&) = delete;
  supervisor_client& operator=(const supervisor_client&) = delete;

  void send(supervisor_request request, std::function<void(supervisor_response)> done) override;
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override;

  // Abandons what is in flight or queued (their `done` is dropped, not called) and joins the
  // thread. Idempotent; call before anything the callbacks reference is destroyed.
  void stop();

  const supervisor_endpoint& endpoint() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace addon
