#include "addon/supervisor_url.hpp"

#include <charconv>

namespace addon {
namespace {

supervisor_endpoint_result fail(std::string what) {
  return {std::nullopt, std::move(what)};
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

supervisor_endpoint_result parse_supervisor_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) {
    return fail("must start with http:// (the only scheme supported)");
  }
  std::string_view rest = url.substr(scheme.size());
  const std::size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) return fail("must not hold user info");
  if (path.find_first_of("?#") != std::string_view::npos) {
    return fail("must not hold a query or fragment");
  }

  supervisor_endpoint ep;
  ep.host_header = std::string(authority);
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unclosed '[' in its host");
    ep.host = std::string(authority.substr(1, close - 1));
    if (ep.host.empty() ||
        ep.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return fail("has an invalid IPv6 address");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("has text after its IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("has an empty port");
    }
  } else {
    const std::size_t colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("has an empty port");
    }
    for (const char c : ep.host) {
      if (!valid_host_char(c)) return fail("has an invalid host name");
    }
  }
  if (ep.host.empty()) return fail("has no host");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return fail("has an invalid port (1 to 65535)");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  ep.path_prefix = std::string(path);
  return {std::move(ep), {}};
}

}  // namespace addon
