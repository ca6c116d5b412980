#include "addon/supervisor_url.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

supervisor_endpoint parse_ok(std::string_view url) {
  supervisor_endpoint_result r = parse_supervisor_url(url);
  EXPECT_TRUE(r.value) << url << ": " << r.error;
  return r.value.value_or(supervisor_endpoint{});
}

TEST(supervisor_url, the_default_is_host_supervisor_on_port_80) {
  const supervisor_endpoint ep = parse_ok(default_supervisor_api);
  EXPECT_EQ(ep.host, "supervisor");
  EXPECT_EQ(ep.port, 80);
  EXPECT_EQ(ep.host_header, "supervisor");
  EXPECT_EQ(ep.path_prefix, "");
}

TEST(supervisor_url, reads_port_and_path_prefix) {
  const supervisor_endpoint ep = parse_ok("http://127.0.0.1:8123/api/hassio/");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 8123);
  EXPECT_EQ(ep.host_header, "127.0.0.1:8123");
  EXPECT_EQ(ep.path_prefix, "/api/hassio");
  EXPECT_EQ(parse_ok("http://supervisor/").path_prefix, "");
}

TEST(supervisor_url, reads_bracketed_ipv6) {
  const supervisor_endpoint ep = parse_ok("http://[::1]:9000");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 9000);
  EXPECT_EQ(ep.host_header, "[::1]:9000");
  EXPECT_EQ(parse_ok("http://[fd00::2]").port, 80);
}

TEST(supervisor_url, refuses_what_it_cannot_use) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://supervisor", "must start with http:// (the only scheme supported)"},
      {"supervisor", "must start with http:// (the only scheme supported)"},
      {"http://", "has no host"},
      {"http://:80", "has no host"},
      {"http://supervisor:", "has an empty port"},
      {"http://supervisor:0", "has an invalid port (1 to 65535)"},
      {"http://supervisor:65536", "has an invalid port (1 to 65535)"},
      {"http://supervisor:8x", "has an invalid port (1 to 65535)"},
      {"http://user:pw@supervisor", "must not hold user info"},
      {"http://supervisor/a?b=c", "must not hold a query or fragment"},
      {"http://super visor", "has an invalid host name"},
      {"http://[::1", "has an unclosed '[' in its host"},
      {"http://[::1]x", "has text after its IPv6 address"},
      {"http://[zz]", "has an invalid IPv6 address"},
  };
  for (const auto& [url, error] : cases) {
    const supervisor_endpoint_result r = parse_supervisor_url(url);
    EXPECT_FALSE(r.value) << url;
    EXPECT_EQ(r.error, error) << url;
  }
}

}  // namespace
}  // namespace addon
