#pragma once
// Everything the broker does with the Supervisor, for main(): the HTTP client on its own thread,
// hub-user logins through /auth, discovery and the mqtt service at start, the withdrawal at
// shutdown. Exists only when there is a token (CONTRACT.md: without one the broker is standalone).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "addon/discovery.hpp"
#include "addon/hub_authenticator.hpp"
#include "addon/supervisor_client.hpp"
#include "addon/system_users.hpp"
#include "broker/logger.hpp"

namespace addon {

class supervisor_services {
 public:
  struct create_result {
    std::unique_ptr<supervisor_services> value;
    std::string error;  // what is wrong with `api_url`
  };
  // `users` and `log` must outlive the object.
  static create_result create(std::string_view api_url, std::string token,
                              const system_users& users, broker::logger& log);

  supervisor_services(supervisor_endpoint endpoint, std::string token, const system_users& users,
                      broker::logger& log);
  ~supervisor_services();  // shut_down(0)

  // The fallback of login_authenticator for users it does not know.
  broker::authenticator& hub_logins() { return hub_; }

  // Announces the broker in the background (retrying while the Supervisor is away). `mqtt_port`
  // is the plain MQTT listener's; 0 (no such listener) announces nothing, with one warning.
  void start_discovery(std::uint16_t mqtt_port);

  // Withdraws the mqtt service (waiting at most `deadline`), then stops the HTTP thread: no
  // callback runs after this returns. Idempotent.
  void shut_down(std::chrono::milliseconds deadline);

 private:
  supervisor_client client_;
  hub_authenticator hub_;
  const system_users& users_;
  broker::logger& log_;
  std::optional<addon::discovery> discovery_;
  bool shut_down_ = false;
};

// The container's host name (gethostname()); "localhost" if it cannot be read.
std::string container_host_name();

}  // namespace addon
