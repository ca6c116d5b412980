// Golden bytes for every MQTT 3.1.1 packet, both directions, and the MQTT 3.1 CONNECT.
// The bytes follow the layouts of MQTT 3.1.1 chapter 3 field by field.

#include "codec_test_support.hpp"

namespace mqtt::test {
namespace {

constexpr auto v311 = protocol_version::v3_1_1;

TEST(codec_v311, minimal_connect_matches_golden_bytes) {
  connect_packet c;
  c.version = v311;
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "c1";
  const std::string bytes =
      wire({0x10, 0x0E, 0x00, 0x04}) + "MQTT" + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x02}) + "c1";
  EXPECT_TRUE(matches_golden(c, bytes, v311));
}

TEST(codec_v311, connect_with_will_user_and_password_matches_golden_bytes) {
  connect_packet c;
  c.version = v311;
  c.clean_start = false;
  c.keep_alive = 10;
  c.client_id = "client";
  c.will = will_message{"w/t", "bye", qos::at_least_once, true, {}};
  c.username = "user";
  c.password = "pass";
  // Flags 0xEC: user name, password, will retain, will QoS 1, will.
  const std::string bytes = wire({0x10, 0x28, 0x00, 0x04}) + "MQTT" +
                            wire({0x04, 0xEC, 0x00, 0x0A, 0x00, 0x06}) + "client" +
                            wire({0x00, 0x03}) + "w/t" + wire({0x00, 0x03}) + "bye" +
                            wire({0x00, 0x04}) + "user" + wire({0x00, 0x04}) + "pass";
  EXPECT_TRUE(matches_golden(c, bytes, v311));
}

TEST(codec_v31, connect_uses_protocol_name_mqisdp_and_level_3) {
  connect_packet c;
  c.version = protocol_version::v3_1;
  c.keep_alive = 60;
  c.client_id = "paho";
  c.username = "u";
  c.password = "p";
  const std::string bytes = wire({0x10, 0x18, 0x00, 0x06}) + "MQIsdp" +
                            wire({0x03, 0xC2, 0x00, 0x3C, 0x00, 0x04}) + "paho" +
                            wire({0x00, 0x01}) + "u" + wire({0x00, 0x01}) + "p";
  EXPECT_TRUE(matches_golden(c, bytes, protocol_version::v3_1));
}

TEST(codec_v31, connect_decodes_whatever_version_the_reader_assumed) {
  // CONNECT carries its own protocol level; the version argument does not matter for it.
  const std::string bytes = wire({0x10, 0x12, 0x00, 0x06}) + "MQIsdp" +
                            wire({0x03, 0x02, 0x00, 0x3C, 0x00, 0x04}) + "paho";
  const decode_result r = decode_wire(bytes, v311);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<connect_packet>(r.pkt).version, protocol_version::v3_1);
}

TEST(codec_v31, connect_with_user_name_flag_but_no_user_name_reads_as_absent) {
  // Some 3.1 clients set the flag and leave the field out; 3.1 brokers have always taken that.
  const std::string bytes = wire({0x10, 0x12, 0x00, 0x06}) + "MQIsdp" +
                            wire({0x03, 0x82, 0x00, 0x3C, 0x00, 0x04}) + "paho";
  const decode_result r = decode_wire(bytes, protocol_version::v3_1);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_FALSE(std::get<connect_packet>(r.pkt).username.has_value());
}

TEST(codec_v31, connack_ignores_the_unused_first_byte) {
  const decode_result r = decode_wire(wire({0x20, 0x02, 0xFF, 0x02}), protocol_version::v3_1);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<connack_packet>(r.pkt).reason_code, 2);
  EXPECT_FALSE(std::get<connack_packet>(r.pkt).session_present);
}

TEST(codec_v311, connack_with_session_present_matches_golden_bytes) {
  EXPECT_TRUE(matches_golden(connack_packet{true, 0, {}}, wire({0x20, 0x02, 0x01, 0x00}), v311));
}

TEST(codec_v311, connack_refusal_matches_golden_bytes) {
  EXPECT_TRUE(matches_golden(connack_packet{false, 5, {}}, wire({0x20, 0x02, 0x00, 0x05}), v311));
}

TEST(codec_v311, publish_qos0_has_no_packet_identifier) {
  publish_packet p;
  p.topic = "a/b";
  p.payload = "hi";
  EXPECT_TRUE(matches_golden(p, wire({0x30, 0x07, 0x00, 0x03}) + "a/b" + "hi", v311));
}

TEST(codec_v311, publish_qos1_with_dup_and_retain_matches_golden_bytes) {
  publish_packet p;
  p.topic = "a/b";
  p.payload = "x";
  p.qos = qos::at_least_once;
  p.dup = true;
  p.retain = true;
  p.packet_id = 0x1234;
  EXPECT_TRUE(
      matches_golden(p, wire({0x3B, 0x08, 0x00, 0x03}) + "a/b" + wire({0x12, 0x34}) + "x", v311));
}

TEST(codec_v311, publish_qos2_with_empty_payload_matches_golden_bytes) {
  publish_packet p;
  p.topic = "t";
  p.qos = qos::exactly_once;
  p.packet_id = 1;
  EXPECT_TRUE(matches_golden(p, wire({0x34, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), v311));
}

TEST(codec_v311, puback_matches_golden_bytes) {
  EXPECT_TRUE(matches_golden(puback_packet{7, 0, {}}, wire({0x40, 0x02, 0x00, 0x07}), v311));
}

TEST(codec_v311, pubrec_matches_golden_bytes) {
  EXPECT_TRUE(matches_golden(pubrec_packet{7, 0, {}}, wire({0x50, 0x02, 0x00, 0x07}), v311));
}

TEST(codec_v311, pubrel_carries_flags_0010) {
  EXPECT_TRUE(matches_golden(pubrel_packet{7, 0, {}}, wire({0x62, 0x02, 0x00, 0x07}), v311));
}

TEST(codec_v311, pubcomp_matches_golden_bytes) {
  EXPECT_TRUE(matches_golden(pubcomp_packet{0xFFFF, 0, {}}, wire({0x70, 0x02, 0xFF, 0xFF}), v311));
}

TEST(codec_v311, subscribe_with_two_filters_matches_golden_bytes) {
  subscribe_packet s;
  s.packet_id = 10;
  s.subscriptions = {{"a/b", qos::at_least_once}, {"c/#", qos::exactly_once}};
  const std::string bytes = wire({0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03}) + "a/b" +
                            wire({0x01, 0x00, 0x03}) + "c/#" + wire({0x02});
  EXPECT_TRUE(matches_golden(s, bytes, v311));
}

TEST(codec_v311, suback_return_codes_include_failure) {
  suback_packet s;
  s.packet_id = 10;
  s.reason_codes = {0x01, 0x80};
  EXPECT_TRUE(matches_golden(s, wire({0x90, 0x04, 0x00, 0x0A, 0x01, 0x80}), v311));
}

TEST(codec_v311, unsubscribe_with_two_filters_matches_golden_bytes) {
  unsubscribe_packet u;
  u.packet_id = 11;
  u.filters = {"a/b", "#"};
  const std::string bytes =
      wire({0xA2, 0x0A, 0x00, 0x0B, 0x00, 0x03}) + "a/b" + wire({0x00, 0x01}) + "#";
  EXPECT_TRUE(matches_golden(u, bytes, v311));
}

TEST(codec_v311, unsuback_has_no_payload) {
  unsuback_packet u;
  u.packet_id = 11;
  EXPECT_TRUE(matches_golden(u, wire({0xB0, 0x02, 0x00, 0x0B}), v311));
}

TEST(codec_v311, unsuback_reason_codes_are_not_written_before_5_0) {
  unsuback_packet u;
  u.packet_id = 11;
  u.reason_codes = {0x00};
  EXPECT_EQ(hex(encoded(u, v311)), hex(wire({0xB0, 0x02, 0x00, 0x0B})));
}

TEST(codec_v311, pingreq_pingresp_and_disconnect_are_two_bytes) {
  EXPECT_TRUE(matches_golden(pingreq_packet{}, wire({0xC0, 0x00}), v311));
  EXPECT_TRUE(matches_golden(pingresp_packet{}, wire({0xD0, 0x00}), v311));
  EXPECT_TRUE(matches_golden(disconnect_packet{}, wire({0xE0, 0x00}), v311));
}

TEST(codec_v311, properties_are_not_written_before_5_0) {
  publish_packet p;
  p.topic = "t";
  p.props = {{property_id::message_expiry_interval, std::uint32_t{5}}};
  EXPECT_EQ(hex(encoded(p, v311)), hex(wire({0x30, 0x03, 0x00, 0x01, 't'})));
}

TEST(codec_v311, password_and_payload_may_hold_any_bytes) {
  connect_packet c;
  c.client_id = "c";
  c.username = "u";
  c.password = wire({0x00, 0xFF, 0xC0});
  c.will = will_message{"w", wire({0xFE, 0x00}), qos::at_most_once, false, {}};
  const decode_result r = decode_wire(encoded(c, v311), v311);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<connect_packet>(r.pkt), c);
}

TEST(codec_v311, large_publish_uses_multi_byte_remaining_length) {
  publish_packet p;
  p.topic = "t";
  p.payload = std::string(200, 'x');
  const std::string out = encoded(p, v311);
  // 3 + 200 = 203 = 0xCB 0x01 [MQTT-1.5.5]
  EXPECT_EQ(hex(out.substr(0, 3)), "30 cb 01");
  const decode_result r = decode_wire(out, v311);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<publish_packet>(r.pkt), p);
}

}  // namespace
}  // namespace mqtt::test
