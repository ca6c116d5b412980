// mqtt-broker: reads the flags and the add-on options, prepares the data dir and the system
// users, then wires the broker core to the network and serves until SIGTERM or SIGINT.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <unistd.h>

#include "addon/access_control.hpp"
#include "addon/background_worker.hpp"
#include "addon/login_authenticator.hpp"
#include "addon/options.hpp"
#include "addon/options_view.hpp"
#include "addon/supervisor_services.hpp"
#include "addon/system_users.hpp"
#include "app/flags.hpp"
#include "app/host_resources.hpp"
#include "app/ingress.hpp"
#include "bridge/bridge_metrics.hpp"
#include "broker/broker_config.hpp"
#include "broker/broker_core.hpp"
#include "broker/logger.hpp"
#include "storage/broker_store.hpp"
#include "storage/store_metrics.hpp"
#include "transport/bridge_runner.hpp"
#include "transport/server.hpp"

namespace {

using broker::log_level;

constexpr int exit_ok = 0;
constexpr int exit_runtime_failure = 1;
constexpr int exit_invalid = 2;

std::optional<std::string> supervisor_token() {
  for (const char* name : {"SUPERVISOR_TOKEN", "HASSIO_TOKEN"}) {
    const char* value = std::getenv(name);
    if (value && *value) return std::string(value);
  }
  return std::nullopt;
}

// The Supervisor side (discovery, hub users), or null when standalone.
std::unique_ptr<addon::supervisor_services> connect_supervisor(const addon::system_users& users,
                                                               broker::logger& log) {
  const std::optional<std::string> token = supervisor_token();
  if (!token) {
    log.log(log_level::info,
            "no SUPERVISOR_TOKEN: running standalone (no discovery, no hub-user logins)");
    return nullptr;
  }
  const char* api = std::getenv("SUPERVISOR_API");
  const std::string url = api && *api ? api : std::string(addon::default_supervisor_api);
  addon::supervisor_services::create_result created =
      addon::supervisor_services::create(url, *token, users, log);
  if (!created.value) {
    log.log(log_level::error, "SUPERVISOR_API=" + url + ": " + created.error +
                                  "; running standalone (no discovery, no hub-user logins)");
    return nullptr;
  }
  log.log(log_level::info, "Supervisor at " + url + ": discovery and hub-user logins enabled");
  return std::move(created.value);
}

// Time the store gets to write what is still in memory at shutdown (the add-on's stop timeout
// is 10 s, of which the Supervisor withdrawal may take 3).
constexpr std::chrono::seconds store_close_deadline{5};
// Time the Supervisor gets to withdraw the mqtt service at shutdown.
constexpr std::chrono::seconds withdraw_deadline{3};
// PBKDF2 checks waiting for the worker; beyond that a login hears "server unavailable".
constexpr std::size_t max_queued_password_checks = 256;
// Time the bridges get to say goodbye to their remotes at shutdown.
constexpr std::chrono::milliseconds bridges_stop_deadline{2000};

// Mosquitto's default bridge client id is "<hostname>.<connection>".
std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "mqtt-broker";
  return name;
}

// The listeners of CONTRACT.md; a port of 0 turns one off. The TLS ones also need the
// certificate and key in the ssl dir: without them they stay off, with one line saying so, and
// the others run (a user who has not set up TLS still gets a working broker).
void add_listeners(const app::flags& f, const addon::options& options,
                   transport::server_config& config, broker::logger& log) {
  if (f.mqtt_port != 0) config.listeners.push_back({"mqtt", f.mqtt_port});
  if (f.ws_port != 0) config.listeners.push_back({"ws", f.ws_port});
  if (f.mqtts_port == 0 && f.wss_port == 0) return;
  const std::filesystem::path ssl_dir(f.ssl_dir);
  const std::string certfile = (ssl_dir / options.certfile).string();
  const std::string keyfile = (ssl_dir / options.keyfile).string();
  std::string missing;
  for (const std::string& file : {certfile, keyfile}) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) continue;
    missing += (missing.empty() ? "" : " and ") + file;
  }
  if (!missing.empty()) {
    std::string off;
    if (f.mqtts_port != 0) off += "mqtts " + std::to_string(f.mqtts_port);
    if (f.wss_port != 0) off += (off.empty() ? "wss " : ", wss ") + std::to_string(f.wss_port);
    log.log(log_level::notice, "TLS listeners (" + off + ") not started: " + missing +
                                   " not found (options certfile and keyfile, in the ssl dir)");
    return;
  }
  config.tls =
      transport::tls_files{certfile, keyfile, (ssl_dir / options.effective_cafile()).string(),
                           options.require_certificate};
  if (f.mqtts_port != 0) config.listeners.push_back({"mqtts", f.mqtts_port});
  if (f.wss_port != 0) config.listeners.push_back({"wss", f.wss_port});
}

// The options of DOCS.md "Limits", and what the host allows.
void apply_limits(const addon::options& options, broker::broker_config& config,
                  broker::logger& log) {
  constexpr std::size_t mib = 1024 * 1024;
  config.max_queued_messages = options.max_queued_messages;
  config.max_queued_bytes = options.max_queued_mb * mib;
  config.max_client_buffer_bytes = options.max_client_buffer_mb * mib;
  const std::size_t memory = app::available_memory_bytes();
  config.max_total_buffer_bytes = options.max_total_buffer_mb
                                      ? *options.max_total_buffer_mb * mib
                                      : app::default_total_buffer_bytes(memory);
  // Retained messages get a budget of their own, of the same size: a quarter of the memory.
  config.max_retained_bytes = app::default_total_buffer_bytes(memory);
  config.max_connections = options.max_connections;
  config.connect_timeout = std::chrono::seconds(options.connect_timeout);
  // Each connection is a descriptor; the store, the listeners and the logs need a few more.
  constexpr std::size_t spare_files = 64;
  const std::size_t files = app::raise_open_files_limit();
  if (files != 0 && files < config.max_connections + spare_files) {
    log.log(log_level::warning, "max_connections is " + std::to_string(config.max_connections) +
                                    " but the system allows only " + std::to_string(files) +
                                    " open files: connections past that fail at accept");
  }
  log.log(log_level::info,
          "limits: " + std::to_string(config.max_connections) + " connections, " +
              std::to_string(config.max_client_buffer_bytes / mib) + " MiB per client, " +
              std::to_string(config.max_total_buffer_bytes / mib) + " MiB for all clients (" +
              (options.max_total_buffer_mb ? std::string("max_total_buffer_mb")
                                           : std::to_string(memory / mib) + " MiB of memory") +
              "), offline sessions " + std::to_string(config.max_queued_messages) +
              " messages or " + std::to_string(options.max_queued_mb) + " MiB, retained " +
              std::to_string(config.max_retained_bytes / mib) + " MiB");
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
  if (!users.not_saved.empty()) {
    log.log(log_level::error,
            users.not_saved +
                ": the disk is full. The hub's credentials live in memory only; a "
                "later start that can write them makes new ones");
  } else {
    log.log(log_level::info,
            std::string("system users: ") + (users.created ? "created " : "loaded ") + users.path);
  }

  const std::unique_ptr<addon::supervisor_services> supervisor =
      connect_supervisor(*users.value, log);

  addon::background_worker password_checks(max_queued_password_checks);
  addon::login_authenticator auth(*users.value, options.logins, log,
                                  supervisor ? &supervisor->hub_logins() : nullptr,
                                  &password_checks);
  const addon::access_control_result access = addon::load_access_control(
      options, addon::customize_paths{f.share_dir, f.ssl_dir, host_name()});
  for (const std::string& warning : access.warnings) log.log(log_level::warning, warning);
  // A bad bridge is left out with a line naming its file and line; the broker serves anyway.
  for (const std::string& error : access.bridge_errors) log.log(log_level::error, error);
  if (!access.acl) {
    log.log(log_level::error, access.error);
    return exit_runtime_failure;
  }
  log.log(log_level::info, access.summary);
  broker::broker_config config;
  config.version = MQTT_BROKER_VERSION;
  apply_limits(options, config, log);
  config.strict_durability = options.durability == addon::durability_mode::strict;

  // Retained messages and persistent sessions come back before any client can connect.
  storage::broker_store_options store_options;
  store_options.strict = config.strict_durability;
  std::string store_error;
  const std::string store_dir = (std::filesystem::path(f.data_dir) / "store").string();
  std::unique_ptr<storage::broker_store> store =
      storage::broker_store::open(store_dir, store_options, log, store_error);
  if (!store) {
    log.log(log_level::error, "cannot open the store in " + store_dir + ": " + store_error);
    return exit_runtime_failure;
  }
  broker::broker_core core(config, auth, log, access.acl.get(), store.get());
  std::vector<std::string> bridge_ids;
  std::string bridge_names;
  for (const auto& b : access.bridges) {
    bridge_ids.push_back(b.local_clientid);
    bridge_names += (bridge_names.empty() ? "" : ", ") + b.name + " (" + b.origin + ")";
  }
  // Before the store restores sessions: a bridge's session is one from the start.
  core.reserve_bridge_client_ids(bridge_ids);
  store->restore_into(core);

  // Built here, started once the listeners are up: /metrics reads its status.
  transport::bridge_runner bridges(access.bridges, core, log);

  transport::server_config server_config;
  server_config.bind_address = f.bind_address;
  server_config.threads = f.threads;
  add_listeners(f, options, server_config, log);
  // The web UI and /metrics on the ingress port.
  const bool in_addon = supervisor_token().has_value();
  addon::web_api web(core,
                     addon::options_view_json(options,
                                              {{"mqtt", f.mqtt_port},
                                               {"ws", f.ws_port},
                                               {"mqtts", f.mqtts_port},
                                               {"wss", f.wss_port},
                                               {"ingress", f.ingress_port}},
                                              !in_addon),
                     [&store, &bridges](broker::prometheus_text& out) {
                       storage::write_store_metrics(store->stats(), out);
                       bridge::write_bridge_metrics(bridges.status(), out);
                     });
  if (f.ingress_port != 0) {
    server_config.listeners.push_back({"ingress", f.ingress_port});
    server_config.http = app::ingress_service(web, in_addon);
  }
  if (server_config.listeners.empty()) log.log(log_level::warning, "no listener is enabled");

  log.log(log_level::info, std::to_string(f.threads) + " I/O threads");
  transport::server server(std::move(server_config), core, log);
  if (std::optional<std::string> error = server.listen()) {
    log.log(log_level::error, *error);
    return exit_runtime_failure;
  }
  if (supervisor) supervisor->start_discovery(f.mqtt_port);
  if (!access.bridges.empty()) log.log(log_level::info, "bridges: " + bridge_names);
  // Before server.run(): no request is served yet.
  web.set_bridge_source([&bridges] { return bridges.status(); });
  bridges.start();
  server.run([&core](std::chrono::steady_clock::time_point now) { core.tick(now); });
  // The bridges tell their remotes goodbye before the store writes the last changes.
  bridges.stop(bridges_stop_deadline);
  // Every connection is closed now (wills published): what they changed is written last.
  if (!store->close(std::chrono::steady_clock::now() + store_close_deadline)) {
    log.log(log_level::error, "storage: some changes could not be written before the deadline");
  }
  // Before anything their callbacks reach is destroyed.
  if (supervisor) supervisor->shut_down(withdraw_deadline);
  password_checks.stop();
  log.log(log_level::info, "stopped");
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must not kill the broker; sockets never raise SIGPIPE (Asio sends with
  // MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  // Before the first large block: the store's index and the retained set then live without the
  // holes large transient buffers would leave among them (host_resources.hpp).
  app::pin_large_allocation_threshold();
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
