#pragma once
// Tells the Supervisor where the broker is (CONTRACT.md "Discovery"): the discovery message for
// the hub (user homeassistant), then the `mqtt` service for the other add-ons (user addons);
// retried with backoff while the Supervisor is away; the service withdrawn at shutdown. The
// discovery message is never deleted: the hub would drop its MQTT configuration on every restart.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "addon/supervisor_transport.hpp"
#include "addon/system_users.hpp"
#include "broker/logger.hpp"

namespace addon {

struct discovery_settings {
  std::string host;        // gethostname(): the container's name on the add-on network
  std::uint16_t port = 0;  // the plain MQTT listener's
  std::chrono::milliseconds request_deadline{10000};
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{60000};
};

// The delay before retry number `attempt` (1 for the first retry): first_retry doubled per
// attempt up to max_retry, scaled by `jitter` (0.8 to 1.2) so many add-ons restarted together
// do not retry in step.
std::chrono::milliseconds retry_delay(const discovery_settings& s, unsigned attempt, double jitter);

// The JSON of the two announcements (exactly CONTRACT.md's fields).
std::string discovery_body(const discovery_settings& s, const std::string& password);
std::string service_body(const discovery_settings& s, const std::string& password);

class discovery {
 public:
  // `transport` and `log` must outlive this object; stop the transport before destroying it.
  discovery(supervisor_transport& transport, const system_users& users, discovery_settings s,
            broker::logger& log);

  // Starts announcing in the background; returns at once.
  void start();

  // Stops retrying and sends DELETE /services/mqtt; blocks until it is answered or `deadline`
  // passed. True when the Supervisor answered with success.
  bool withdraw(std::chrono::milliseconds deadline);

  bool announced() const { return announced_.load(); }  // discovery and service both accepted

 private:
  enum class step { discovery, service };

  void attempt(step s);
  void post_service();
  void failed(step s, const std::string& what);
  void succeeded_after_failures();
  double next_jitter();

  supervisor_transport& transport_;
  system_users users_;
  discovery_settings settings_;
  broker::logger& log_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> announced_{false};
  // On the transport's thread only.
  unsigned failures_ = 0;
  std::minstd_rand random_;
};

// An answer the Supervisor accepted: 2xx, and not {"result": "error"}.
bool supervisor_accepted(const supervisor_response& r);

// One line describing a failed answer: "HTTP 500: <message>" or the transport's error.
std::string describe_failure(const supervisor_response& r);

}  // namespace addon
