#include "addon/supervisor_services.hpp"

#include <unistd.h>

namespace addon {

supervisor_services::create_result supervisor_services::create(std::string_view api_url,
                                                               std::string token,
                                                               const system_users& users,
                                                               broker::logger& log) {
  supervisor_endpoint_result parsed = parse_supervisor_url(api_url);
  if (!parsed.value) return {nullptr, std::move(parsed.error)};
  return {
      std::make_unique<supervisor_services>(std::move(*parsed.value), std::move(token), users, log),
      {}};
}

supervisor_services::supervisor_services(supervisor_endpoint endpoint, std::string token,
                                         const system_users& users, broker::logger& log)
    : client_(std::move(endpoint), std::move(token), log),
      hub_(client_, log),
      users_(users),
      log_(log) {}

supervisor_services::~supervisor_services() {
  // Not withdrawing here: only a clean shutdown withdraws, and main() asks for it.
  shut_down_ = true;
  client_.stop();
}

void supervisor_services::start_discovery(std::uint16_t mqtt_port) {
  if (mqtt_port == 0) {
    log_.log(broker::log_level::warning,
             "Supervisor: the plain MQTT listener is off, so the broker is not announced to the "
             "hub nor to the other add-ons");
    return;
  }
  discovery_settings settings;
  settings.host = container_host_name();
  settings.port = mqtt_port;
  discovery_.emplace(client_, users_, std::move(settings), log_);
  discovery_->start();
}

void supervisor_services::shut_down(std::chrono::milliseconds deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  if (discovery_) {
    if (discovery_->withdraw(deadline)) {
      log_.log(broker::log_level::info, "Supervisor: mqtt service withdrawn");
    }
  }
  client_.stop();
}

std::string container_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace addon
