// mqtt-broker: reads the flags and the add-on options, prepares the data dir and the system
// users, then wires the broker core to the network and serves until SIGTERM or SIGINT.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "addon/login_authenticator.hpp"
#include "addon/options.hpp"
#include "addon/system_users.hpp"
#include "app/flags.hpp"
#include "broker/broker_config.hpp"
#include "broker/broker_core.hpp"
#include "broker/logger.hpp"
#include "transport/server.hpp"

namespace {

using broker::log_level;

constexpr int exit_ok = 0;
constexpr int exit_runtime_failure = 1;
constexpr int exit_invalid = 2;

bool has_supervisor_token() {
  for (const char* name : {"SUPERVISOR_TOKEN", "HASSIO_TOKEN"}) {
    const char* value = std::getenv(name);
    if (value && *value) return true;
  }
  return false;
}

// The listeners a later version brings: say so once each rather than pretend.
void report_unavailable_listeners(const app::flags& f, broker::logger& log) {
  const std::pair<const char*, std::uint16_t> later[] = {
      {"ws", f.ws_port}, {"mqtts", f.mqtts_port}, {"wss", f.wss_port}};
  for (const auto& [kind, port] : later) {
    if (port == 0) continue;
    log.log(log_level::notice, std::string(kind) + " listener (port " + std::to_string(port) +
                                   ") is not available in this version yet; not started");
  }
}

int run_broker(const app::flags& f, broker::logger& log) {
  log.log(log_level::info, "mqtt-broker " MQTT_BROKER_VERSION " starting");

  const addon::options_file_result loaded = addon::load_options_file(f.options_path);
  if (!loaded.value) {
    log.log(log_level::error, "invalid options in " + f.options_path + ": " + loaded.error);
    return exit_invalid;
  }
  const addon::options& options = *loaded.value;
  log.set_level(options.log_level);
  if (loaded.file_missing) {
    log.log(log_level::info, "options: " + f.options_path + " not found, using the defaults");
  } else {
    log.log(log_level::info, "options: " + f.options_path);
  }
  for (const std::string& warning : loaded.warnings) {
    log.log(log_level::warning, "options: " + warning);
  }

  std::error_code ec;
  std::filesystem::create_directories(f.data_dir, ec);
  if (ec) {
    log.log(log_level::error, "cannot create the data dir " + f.data_dir + ": " + ec.message());
    return exit_runtime_failure;
  }
  log.log(log_level::info, "data dir: " + f.data_dir);

  const addon::system_users_result users = addon::load_or_create_system_users(f.data_dir);
  if (!users.value) {
    log.log(log_level::error, users.error);
    return exit_runtime_failure;
  }
  log.log(log_level::info,
          std::string("system users: ") + (users.created ? "created " : "loaded ") + users.path);

  if (!has_supervisor_token()) {
    log.log(log_level::info,
            "no SUPERVISOR_TOKEN: running standalone (no discovery, no hub-user logins)");
  } else {
    log.log(log_level::notice,
            "Supervisor token found, but discovery and hub-user logins are not available in "
            "this version yet");
  }
  report_unavailable_listeners(f, log);

  addon::login_authenticator auth(*users.value, options.logins, log);
  broker::broker_config config;
  config.version = MQTT_BROKER_VERSION;
  broker::broker_core core(config, auth, log);

  transport::server_config server_config;
  server_config.bind_address = f.bind_address;
  server_config.threads = f.threads;
  if (f.mqtt_port != 0) server_config.listeners.push_back({"mqtt", f.mqtt_port});
  if (server_config.listeners.empty()) log.log(log_level::warning, "no listener is enabled");

  log.log(log_level::info, std::to_string(f.threads) + " I/O threads");
  transport::server server(std::move(server_config), core, log);
  if (std::optional<std::string> error = server.listen()) {
    log.log(log_level::error, *error);
    return exit_runtime_failure;
  }
  server.run([&core](std::chrono::steady_clock::time_point now) { core.tick(now); });
  log.log(log_level::info, "stopped");
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must not kill the broker; sockets never raise SIGPIPE (Asio sends with
  // MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  broker::logger log(log_level::info, std::cout);

  const std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const app::flags_result parsed = app::parse_flags(args, std::thread::hardware_concurrency());
  if (!parsed.value) {
    log.log(log_level::error, parsed.error + " (see --help)");
    return exit_invalid;
  }
  if (parsed.value->show_help) {
    std::cout << app::usage_text();
    return exit_ok;
  }
  if (parsed.value->show_version) {
    std::cout << "mqtt-broker " MQTT_BROKER_VERSION "\n";
    return exit_ok;
  }
  try {
    return run_broker(*parsed.value, log);
  } catch (const std::exception& e) {
    log.log(log_level::fatal, std::string("unexpected failure: ") + e.what());
    return exit_runtime_failure;
  }
}
