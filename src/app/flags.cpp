#include "app/flags.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace app {

namespace {

constexpr std::size_t max_threads = 1024;

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// Applies one flag's value; an error message without the flag name, or empty.
std::string apply(flags& f, std::string_view name, std::string_view value) {
  auto port = [&](std::uint16_t& out) -> std::string {
    const std::optional<std::uint64_t> n = parse_number(value);
    if (!n || *n > 65535) return "must be a port number from 0 to 65535 (0 turns it off)";
    out = static_cast<std::uint16_t>(*n);
    return {};
  };
  auto path = [&](std::string& out) -> std::string {
    if (value.empty()) return "must not be empty";
    out = std::string(value);
    return {};
  };
  if (name == "--options") return path(f.options_path);
  if (name == "--data-dir") return path(f.data_dir);
  if (name == "--ssl-dir") return path(f.ssl_dir);
  if (name == "--share-dir") return path(f.share_dir);
  if (name == "--mqtt-port") return port(f.mqtt_port);
  if (name == "--ws-port") return port(f.ws_port);
  if (name == "--mqtts-port") return port(f.mqtts_port);
  if (name == "--wss-port") return port(f.wss_port);
  if (name == "--ingress-port") return port(f.ingress_port);
  if (name == "--bind") {
    if (!is_ip_address(std::string(value))) return "must be an IPv4 or IPv6 address";
    f.bind_address = std::string(value);
    return {};
  }
  if (name == "--threads") {
    const std::optional<std::uint64_t> n = parse_number(value);
    if (!n || *n == 0 || *n > max_threads) {
      return "must be a number of threads from 1 to " + std::to_string(max_threads);
    }
    f.threads = static_cast<std::size_t>(*n);
    return {};
  }
  return "unknown flag";
}

bool takes_value(std::string_view name) {
  return name == "--options" || name == "--data-dir" || name == "--ssl-dir" ||
         name == "--share-dir" || name == "--bind" || name == "--mqtt-port" ||
         name == "--ws-port" || name == "--mqtts-port" || name == "--wss-port" ||
         name == "--ingress-port" || name == "--threads";
}

}  // namespace

flags_result parse_flags(std::span<const std::string_view> args, std::size_t default_threads) {
  flags f;
  f.threads = default_threads == 0 ? 1 : std::min(default_threads, max_threads);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const std::size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    if (name == "--help" || name == "-h" || name == "--version") {
      if (equals != std::string_view::npos)
        return {std::nullopt, std::string(name) + ": takes no value"};
      (name == "--version" ? f.show_version : f.show_help) = true;
      continue;
    }
    if (!takes_value(name)) {
      if (!arg.starts_with("-")) return {std::nullopt, std::string(arg) + ": unexpected argument"};
      return {std::nullopt, std::string(name) + ": unknown flag"};
    }
    std::string_view value;
    if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return {std::nullopt, std::string(name) + ": missing value"};
    }
    if (std::string error = apply(f, name, value); !error.empty()) {
      return {std::nullopt,
              std::string(name) + ": " + error + " (got \"" + std::string(value) + "\")"};
    }
  }
  return {std::move(f), {}};
}

std::string usage_text() {
  return R"(Usage: mqtt-broker [flags]

An MQTT broker for the Home Assistant add-on platform.

  --options PATH     add-on options file (default /data/options.json; missing = defaults)
  --data-dir DIR     state that survives a restart: credentials, retained messages, sessions
                     (default /data)
  --ssl-dir DIR      where certfile, keyfile and cafile are looked up (default /ssl)
  --share-dir DIR    where customize.folder is looked up (default /share)
  --bind ADDR        listen address of every listener (default: all IPv4 and IPv6 addresses)
  --mqtt-port N      MQTT over TCP (default 1883; 0 turns it off)
  --ws-port N        MQTT over WebSocket (default 1884; 0 turns it off)
  --mqtts-port N     MQTT over TLS (default 8883; 0 turns it off)
  --wss-port N       MQTT over WebSocket over TLS (default 8884; 0 turns it off)
  --ingress-port N   HTTP: the web UI and /metrics (default 8099; 0 turns it off); with a
                     Supervisor token only Home Assistant's ingress proxy may use the UI
  --threads N        I/O threads (default: the number of cores)
  --version          print the version and exit
  --help             print this text and exit

Exit status: 0 after SIGTERM or SIGINT, 2 for invalid flags or options, 1 for a failure at run
time (a port in use, an unreadable file).
)";
}

}  // namespace app
