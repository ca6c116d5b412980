#pragma once
// The command line of CONTRACT.md "The binary". Both `--flag value` and `--flag=value`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace app {

struct flags {
  std::string options_path = "/data/options.json";
  std::string data_dir = "/data";
  std::string ssl_dir = "/ssl";
  std::string share_dir = "/share";
  std::string bind_address;  // empty: every IPv4 and IPv6 address
  std::uint16_t mqtt_port = 1883;
  std::uint16_t ws_port = 1884;
  std::uint16_t mqtts_port = 8883;
  std::uint16_t wss_port = 8884;
  std::uint16_t ingress_port = 8099;  // HTTP: the web UI and /metrics
  std::size_t threads = 1;
  bool show_version = false;
  bool show_help = false;
};

struct flags_result {
  std::optional<app::flags> value;
  std::string error;  // "<flag>: <what is wrong>" when value is empty
};

// `args` excludes the program name. `default_threads` is the number of cores.
flags_result parse_flags(std::span<const std::string_view> args, std::size_t default_threads);

std::string usage_text();

}  // namespace app
