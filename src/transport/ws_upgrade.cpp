#include "transport/ws_upgrade.hpp"

#include <algorithm>

namespace transport {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string_view> split_header_list(std::string_view value) {
  std::vector<std::string_view> tokens;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view token = trim(value.substr(0, comma));
    if (!token.empty()) tokens.push_back(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return tokens;
}

upgrade_decision decide_upgrade(const upgrade_request& request) {
  // The URI has no meaning for MQTT; these two are what clients are told to use.
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (path != "/" && path != "/mqtt") {
    return {404, {}, "no WebSocket endpoint at this path: use / or /mqtt"};
  }
  if (!request.is_websocket_upgrade) {
    return {426, {}, "this port serves MQTT over WebSocket: connect with a WebSocket client"};
  }
  const std::vector<std::string_view> offered = split_header_list(request.subprotocols);
  // Subprotocol names compare exactly (RFC 6455 4.1: the server echoes one of the offered ones).
  for (const std::string_view wanted : {std::string_view("mqtt"), std::string_view("mqttv3.1")}) {
    if (std::find(offered.begin(), offered.end(), wanted) != offered.end()) {
      return {101, std::string(wanted), {}};
    }
  }
  return {101, {}, {}};
}

}  // namespace transport
