// Mosquitto bridge files, read as the Mosquitto add-on's users wrote them.
#include "addon/mosquitto_conf.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

mosquitto_conf read_one(std::string_view text, const std::string& name = "bridge.conf") {
  mosquitto_conf_reader reader("host");
  reader.read(text, name);
  return reader.finish();
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(mosquitto_conf, a_minimal_bridge_gets_mosquittos_defaults) {
  const mosquitto_conf c = read_one("connection cloud\naddress broker.example.com\ntopic #\n");
  ASSERT_TRUE(c.bridge_errors.empty()) << c.bridge_errors[0];
  ASSERT_EQ(c.bridges.size(), 1u);
  const bridge::bridge_settings& b = c.bridges[0];
  EXPECT_EQ(b.name, "cloud");
  EXPECT_EQ(b.origin, "bridge.conf:1");
  ASSERT_EQ(b.addresses.size(), 1u);
  EXPECT_EQ(b.addresses[0].host, "broker.example.com");
  EXPECT_EQ(b.addresses[0].port, 1883);
  EXPECT_EQ(b.remote_clientid, "host.cloud");
  EXPECT_EQ(b.local_clientid, "local.host.cloud");
  EXPECT_EQ(b.notification_topic, "$SYS/broker/connection/host.cloud/state");
  EXPECT_TRUE(b.notifications);
  EXPECT_TRUE(b.try_private);
  EXPECT_FALSE(b.cleansession);
  EXPECT_FALSE(b.local_clean());
  EXPECT_EQ(b.version, mqtt::protocol_version::v3_1_1);
  EXPECT_EQ(b.keepalive, 60);
  EXPECT_EQ(b.restart_base, std::chrono::seconds(5));
  ASSERT_TRUE(b.restart_cap);
  EXPECT_EQ(*b.restart_cap, std::chrono::seconds(30));
  ASSERT_EQ(b.topics.size(), 1u);
  EXPECT_EQ(b.topics[0].pattern, "#");
  EXPECT_EQ(b.topics[0].dir, bridge::direction::out);
  EXPECT_EQ(b.topics[0].qos, mqtt::qos::at_most_once);
  EXPECT_FALSE(b.tls.enabled());
}

TEST(mosquitto_conf, every_supported_directive_is_read) {
  const mosquitto_conf c = read_one(R"(# a second site
connection site2
address 10.0.0.2:1884 10.0.0.3
addresses [fd00::1]:8883
round_robin true
topic sensors/# out 1 home/ site1/
topic cmd/# in 2 "" site2/
topic "" both 0 local/state remote/state
remote_username bridge user
remote_password secret with spaces
remote_clientid site1-bridge
local_clientid site1-local
bridge_protocol_version mqttv50
cleansession true
local_cleansession false
try_private false
notifications false
notifications_local_only true
notification_topic bridges/site2/state
keepalive_interval 30
restart_timeout 2
start_type once
bridge_cafile /share/ca.pem
bridge_capath /etc/ssl/certs
bridge_certfile client.pem
bridge_keyfile client.key
bridge_insecure true
bridge_tls_version tlsv1.3
bridge_alpn mqtt
)");
  ASSERT_TRUE(c.bridge_errors.empty()) << c.bridge_errors[0];
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_EQ(c.bridges.size(), 1u);
  const bridge::bridge_settings& b = c.bridges[0];
  ASSERT_EQ(b.addresses.size(), 3u);
  EXPECT_EQ(b.addresses[0].text(), "10.0.0.2:1884");
  EXPECT_EQ(b.addresses[1].text(), "10.0.0.3:1883");
  EXPECT_EQ(b.addresses[2].host, "fd00::1");
  EXPECT_EQ(b.addresses[2].text(), "[fd00::1]:8883");
  EXPECT_TRUE(b.round_robin);
  ASSERT_EQ(b.topics.size(), 3u);
  EXPECT_EQ(b.topics[0].local_filter(), "home/sensors/#");
  EXPECT_EQ(b.topics[0].remote_filter(), "site1/sensors/#");
  EXPECT_EQ(b.topics[0].qos, mqtt::qos::at_least_once);
  EXPECT_EQ(b.topics[1].dir, bridge::direction::in);
  EXPECT_EQ(b.topics[1].local_prefix, "");
  EXPECT_EQ(b.topics[1].qos, mqtt::qos::exactly_once);
  EXPECT_EQ(b.topics[2].pattern, "");
  EXPECT_EQ(b.topics[2].local_filter(), "local/state");
  EXPECT_EQ(b.topics[2].origin, "bridge.conf:8");
  EXPECT_EQ(b.remote_username, "bridge user");
  EXPECT_EQ(b.remote_password, "secret with spaces");
  EXPECT_EQ(b.remote_clientid, "site1-bridge");
  EXPECT_EQ(b.local_clientid, "site1-local");
  EXPECT_EQ(b.version, mqtt::protocol_version::v5);
  EXPECT_TRUE(b.cleansession);
  EXPECT_FALSE(b.local_clean());
  EXPECT_FALSE(b.try_private);
  EXPECT_FALSE(b.notifications);
  EXPECT_TRUE(b.notifications_local_only);
  EXPECT_EQ(b.notification_topic, "bridges/site2/state");
  EXPECT_EQ(b.keepalive, 30);
  EXPECT_EQ(b.restart_base, std::chrono::seconds(2));
  EXPECT_FALSE(b.restart_cap);
  EXPECT_EQ(b.start, bridge::start_type::once);
  EXPECT_TRUE(b.tls.enabled());
  EXPECT_EQ(b.tls.cafile, "/share/ca.pem");
  EXPECT_EQ(b.tls.capath, "/etc/ssl/certs");
  EXPECT_EQ(b.tls.certfile, "client.pem");
  EXPECT_EQ(b.tls.keyfile, "client.key");
  EXPECT_TRUE(b.tls.insecure);
  EXPECT_EQ(b.tls.tls_version, "tlsv1.3");
  EXPECT_EQ(b.tls.alpn, "mqtt");
}

TEST(mosquitto_conf, restart_timeout_with_a_cap_backs_off) {
  const mosquitto_conf c = read_one("connection a\naddress h\ntopic x\nrestart_timeout 3 60\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].restart_base, std::chrono::seconds(3));
  EXPECT_EQ(c.bridges[0].restart_cap, std::chrono::seconds(60));
}

TEST(mosquitto_conf, a_bad_line_names_file_and_line_and_stops_only_its_bridge) {
  const mosquitto_conf c = read_one(
      "connection good\naddress h1\ntopic a/#\n\nconnection bad\naddress h2\ntopic b/# sideways 1\n"
      "topic c/#\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].name, "good");
  ASSERT_EQ(c.bridge_errors.size(), 1u);
  EXPECT_TRUE(contains(c.bridge_errors[0],
                       "bridge.conf:7: topic direction must be in, out or both "
                       "(got 'sideways'); bridge 'bad' not started"))
      << c.bridge_errors[0];
}

TEST(mosquitto_conf, bad_values_are_errors_with_their_line) {
  const std::pair<const char*, const char*> cases[] = {
      {"address h:0", "port must be a number from 1 to 65535"},
      {"address h:x", "port must be a number from 1 to 65535"},
      {"topic a/# out 3", "QoS must be 0, 1 or 2"},
      {"topic a/# out 1 local/", "no remote prefix"},
      {"topic a/#/b", "not a valid topic filter"},
      {"topic a out 0 l/+ r/", "must not contain + or #"},
      {"topic \"\" out 0 \"\" r/x", "needs a local and a remote prefix"},
      {"cleansession maybe", "cleansession must be true or false (got 'maybe')"},
      {"bridge_protocol_version mqttv4", "must be mqttv31, mqttv311 or mqttv50"},
      {"keepalive_interval 70000", "keepalive_interval must be a number"},
      {"restart_timeout 10 5", "cap not below base"},
      {"start_type sometimes", "start_type must be automatic, lazy or once"},
      {"bridge_tls_version tlsv1.0", "must be tlsv1.3, tlsv1.2 or tlsv1.1"},
      {"notification_topic a/#", "notification_topic must be a topic name"},
  };
  for (const auto& [line, expected] : cases) {
    const mosquitto_conf c =
        read_one(std::string("connection b\naddress h\ntopic ok\n") + line + "\n", "x.conf");
    EXPECT_TRUE(c.bridges.empty()) << line;
    ASSERT_EQ(c.bridge_errors.size(), 1u) << line;
    EXPECT_TRUE(contains(c.bridge_errors[0], "x.conf:4: ")) << c.bridge_errors[0];
    EXPECT_TRUE(contains(c.bridge_errors[0], expected)) << c.bridge_errors[0];
  }
}

TEST(mosquitto_conf, an_incomplete_bridge_is_refused_at_its_connection_line) {
  const std::pair<const char*, const char*> cases[] = {
      {"connection a\ntopic x\n", "bridge 'a': no address"},
      {"connection a\naddress h\n", "bridge 'a': no topic line"},
      {"connection a\naddress h\ntopic x\nremote_password p\n", "remote_password without"},
      {"connection a\naddress h\ntopic x\nbridge_cafile c\nbridge_certfile c\n",
       "bridge_certfile and bridge_keyfile go together"},
      {"connection a\naddress h\ntopic x\nbridge_insecure true\n", "TLS options without"},
  };
  for (const auto& [text, expected] : cases) {
    const mosquitto_conf c = read_one(text, "y.conf");
    EXPECT_TRUE(c.bridges.empty()) << text;
    ASSERT_EQ(c.bridge_errors.size(), 1u) << text;
    EXPECT_TRUE(contains(c.bridge_errors[0], "y.conf:1: ")) << c.bridge_errors[0];
    EXPECT_TRUE(contains(c.bridge_errors[0], expected)) << c.bridge_errors[0];
  }
}

TEST(mosquitto_conf, unknown_and_unsupported_directives_are_warned_once_and_ignored) {
  mosquitto_conf_reader reader("host");
  reader.read(
      "listener 1883\nconnection a\naddress h\ntopic x\nbridge_max_packet_size 100\n"
      "log_type all\n",
      "a.conf");
  reader.read("listener 1884\nconnection b\naddress h\ntopic y\nbridge_max_packet_size 100\n",
              "b.conf");
  const mosquitto_conf c = reader.finish();
  EXPECT_EQ(c.bridges.size(), 2u);
  EXPECT_TRUE(c.bridge_errors.empty());
  ASSERT_EQ(c.warnings.size(), 3u);
  EXPECT_TRUE(contains(c.warnings[0], "a.conf:1: 'listener' is not supported")) << c.warnings[0];
  EXPECT_TRUE(contains(c.warnings[1], "a.conf:5: 'bridge_max_packet_size' is not supported"))
      << c.warnings[1];
  EXPECT_TRUE(contains(c.warnings[2], "a.conf:6: 'log_type'")) << c.warnings[2];
}

TEST(mosquitto_conf, a_misspelt_or_unsafe_bridge_directive_stops_its_bridge) {
  // Ignored, a misspelt bridge_cafile would connect without TLS and send the password in clear;
  // an ignored bridge_psk would connect without the key.
  for (const auto& [line, expected] : {
           std::pair<std::string, std::string>{"bridge_ca_file /ssl/ca.pem",
                                               "unknown bridge directive 'bridge_ca_file'"},
           {"bridge_psk 0123abcd", "'bridge_psk' is not supported by this broker's bridges"},
           {"bridge_identity me", "'bridge_identity' is not supported"},
       }) {
    const mosquitto_conf c = read_one(
        "connection cloud\naddress h:8883\n" + line + "\nremote_password s\ntopic #\n", "c.conf");
    EXPECT_TRUE(c.bridges.empty()) << line;
    ASSERT_EQ(c.bridge_errors.size(), 1u) << line;
    EXPECT_TRUE(contains(c.bridge_errors[0], "c.conf:3: " + expected)) << c.bridge_errors[0];
    EXPECT_TRUE(contains(c.bridge_errors[0], "bridge 'cloud' not started")) << c.bridge_errors[0];
  }
  // Outside a bridge there is nothing to stop: a warning, as for any other directive.
  const mosquitto_conf c = read_one("bridge_psk 0123abcd\n", "d.conf");
  EXPECT_TRUE(c.bridge_errors.empty());
  ASSERT_EQ(c.warnings.size(), 1u);
}

TEST(mosquitto_conf, a_bridge_directive_before_any_connection_is_an_error) {
  const mosquitto_conf c = read_one("address h\n", "z.conf");
  EXPECT_TRUE(c.bridges.empty());
  ASSERT_EQ(c.bridge_errors.size(), 1u);
  EXPECT_TRUE(contains(c.bridge_errors[0], "z.conf:1: 'address' outside a bridge"));
}

TEST(mosquitto_conf, a_bridge_ends_with_its_file) {
  mosquitto_conf_reader reader("host");
  reader.read("connection a\naddress h\ntopic x\n", "a.conf");
  reader.read("topic y\n", "b.conf");
  const mosquitto_conf c = reader.finish();
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].topics.size(), 1u);
  ASSERT_EQ(c.bridge_errors.size(), 1u);
  EXPECT_TRUE(contains(c.bridge_errors[0], "b.conf:1: 'topic' outside a bridge"));
}

TEST(mosquitto_conf, duplicate_names_and_local_client_ids_are_refused) {
  const mosquitto_conf c = read_one(
      "connection a\naddress h\ntopic x\nconnection a\naddress h\ntopic x\n"
      "connection b\naddress h\ntopic x\nlocal_clientid local.host.a\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  ASSERT_EQ(c.bridge_errors.size(), 2u);
  EXPECT_TRUE(contains(c.bridge_errors[0], "bridge.conf:4: a bridge named 'a' exists already"));
  EXPECT_TRUE(contains(c.bridge_errors[1], "local_clientid 'local.host.a' is used by another"));
}

TEST(mosquitto_conf, acl_file_lines_are_collected_with_their_place) {
  const mosquitto_conf c = read_one("acl_file /share/mosquitto/acl\nacl_file\n");
  ASSERT_EQ(c.acl_files.size(), 1u);
  EXPECT_EQ(c.acl_files[0].value, "/share/mosquitto/acl");
  EXPECT_EQ(c.acl_files[0].where, "bridge.conf:1");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(contains(c.warnings[0], "bridge.conf:2: acl_file without a path"));
}

TEST(mosquitto_conf, start_type_lazy_is_warned_and_runs_automatic) {
  const mosquitto_conf c = read_one("connection a\naddress h\ntopic x\nstart_type lazy\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].start, bridge::start_type::automatic);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(contains(c.warnings[0], "start_type lazy"));
}

TEST(mosquitto_conf, hostile_input_never_throws) {
  std::string junk;
  for (int i = 0; i < 2000; ++i) junk += static_cast<char>((i * 7919) % 256);
  mosquitto_conf_reader reader("host");
  reader.read(junk, "junk.conf");
  reader.read("connection\n\n\ntopic\naddress [::1\naddress :\nrestart_timeout\n", "j2.conf");
  const mosquitto_conf c = reader.finish();
  EXPECT_TRUE(c.bridges.empty());
  EXPECT_FALSE(c.bridge_errors.empty());
}

}  // namespace
}  // namespace addon
