#pragma once
// SUPERVISOR_API (CONTRACT.md): "http://supervisor" by default; a host, an optional port and an
// optional path prefix that every request path is appended to.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace addon {

inline constexpr std::string_view default_supervisor_api = "http://supervisor";

struct supervisor_endpoint {
  std::string host;         // to resolve: "supervisor", "127.0.0.1", "::1" (no brackets)
  std::uint16_t port = 80;  // http's
  std::string host_header;  // the Host header: as written, "[::1]:8080" or "supervisor"
  std::string path_prefix;  // "" or "/api" (no trailing '/'), put before "/discovery"
};

struct supervisor_endpoint_result {
  std::optional<supervisor_endpoint> value;
  std::string error;  // what is wrong with the URL, when value is empty
};

// Only plain http: the Supervisor is on the add-on's internal network. Never throws.
supervisor_endpoint_result parse_supervisor_url(std::string_view url);

}  // namespace addon
