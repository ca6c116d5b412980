#pragma once
// Hub users (CONTRACT.md "Hub users"): a login the broker does not know is asked of the
// Supervisor's /auth. 200 accepts; 401 or 403 refuse (bad user name or password); anything else,
// or no answer in time, is "the hub cannot say" and refuses with "server unavailable" - never
// accepts. Accepted pairs are remembered briefly (credential_cache), and identical requests in
// flight at once share one /auth call.

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "addon/credential_cache.hpp"
#include "addon/supervisor_transport.hpp"
#include "broker/authenticator.hpp"
#include "broker/logger.hpp"

namespace addon {

struct hub_auth_settings {
  // Below the broker's connect timeout (10 s), so the client hears CONNACK 3 rather than a close.
  std::chrono::milliseconds deadline{5000};
  std::chrono::milliseconds cache_ttl{60000};
  std::size_t cache_capacity = 10000;
  std::size_t max_pending_logins = 4096;  // distinct pairs waiting for /auth at once
};

// The CONNACK verdict for an /auth answer.
broker::auth_result hub_verdict(const supervisor_response& r);

class hub_authenticator : public broker::authenticator {
 public:
  // `transport` and `log` must outlive this object.
  hub_authenticator(supervisor_transport& transport, broker::logger& log,
                    hub_auth_settings settings = {});

  // Thread-safe; `done` runs on the transport's thread, or inline for a cached pair.
  void authenticate(const broker::credentials& who,
                    std::function<void(broker::auth_result)> done) override;

  std::size_t cached() const { return cache_.size(); }

 private:
  void answered(const std::string& key, const std::string& username, supervisor_response r);

  supervisor_transport& transport_;
  broker::logger& log_;
  hub_auth_settings settings_;
  credential_cache cache_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::function<void(broker::auth_result)>>> pending_;
  bool failing_ = false;  // under mutex_: log the hub's trouble once per outage
};

}  // namespace addon
