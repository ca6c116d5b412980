// Golden bytes for MQTT 5.0 packets with properties and reason codes, both directions. The
// CONNECT, PUBLISH property and SUBSCRIBE bytes were cross-checked against paho-mqtt 1.6.

#include "codec_test_support.hpp"
#include "mqtt/reason_code.hpp"

namespace mqtt::test {
namespace {

constexpr auto v5 = protocol_version::v5;

property user(std::string name, std::string value) {
  return {property_id::user_property, std::pair{std::move(name), std::move(value)}};
}

TEST(codec_v5, connect_with_properties_and_will_properties_matches_golden_bytes) {
  connect_packet c;
  c.version = v5;
  c.clean_start = true;
  c.keep_alive = 30;
  c.client_id = "c5";
  c.props = {{property_id::session_expiry_interval, std::uint32_t{3600}},
             {property_id::receive_maximum, std::uint32_t{20}},
             user("k", "v")};
  will_message w{"w", "x", qos::at_most_once, false, {}};
  w.props = {{property_id::will_delay_interval, std::uint32_t{5}},
             {property_id::payload_format_indicator, std::uint32_t{1}}};
  c.will = w;
  c.username = "u";
  c.password = "p";
  const std::string bytes =
      wire({0x10, 0x32, 0x00, 0x04}) + "MQTT" + wire({0x05, 0xC6, 0x00, 0x1E}) +
      wire({0x0F, 0x11, 0x00, 0x00, 0x0E, 0x10, 0x21, 0x00, 0x14, 0x26, 0x00, 0x01, 'k', 0x00, 0x01,
            'v'}) +
      wire({0x00, 0x02}) + "c5" +
      wire({0x07, 0x18, 0x00, 0x00, 0x00, 0x05, 0x01, 0x01}) +  // will properties
      wire({0x00, 0x01, 'w', 0x00, 0x01, 'x', 0x00, 0x01, 'u', 0x00, 0x01, 'p'});
  EXPECT_TRUE(matches_golden(c, bytes, v5));
}

TEST(codec_v5, connect_may_carry_a_password_without_a_user_name) {
  connect_packet c;
  c.version = v5;
  c.client_id = "c";
  c.password = "token";
  const decode_result r = decode_wire(encoded(c, v5), v5);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<connect_packet>(r.pkt), c);
}

TEST(codec_v5, connack_with_properties_matches_golden_bytes) {
  connack_packet a;
  a.props = {{property_id::topic_alias_maximum, std::uint32_t{10}},
             {property_id::assigned_client_identifier, std::string("id")},
             {property_id::maximum_qos, std::uint32_t{1}}};
  const std::string bytes = wire(
      {0x20, 0x0D, 0x00, 0x00, 0x0A, 0x22, 0x00, 0x0A, 0x12, 0x00, 0x02, 'i', 'd', 0x24, 0x01});
  EXPECT_TRUE(matches_golden(a, bytes, v5));
}

TEST(codec_v5, connack_refusal_carries_reason_code_and_empty_properties) {
  EXPECT_TRUE(matches_golden(connack_packet{false, reason::not_authorized, {}},
                             wire({0x20, 0x03, 0x00, 0x87, 0x00}), v5));
}

TEST(codec_v5, publish_with_properties_matches_golden_bytes) {
  publish_packet p;
  p.topic = "t";
  p.qos = qos::at_least_once;
  p.packet_id = 1;
  p.payload = "hello";
  p.props = {{property_id::message_expiry_interval, std::uint32_t{60}},
             {property_id::correlation_data, std::string("ab")},
             {property_id::subscription_identifier, std::uint32_t{300}},
             {property_id::topic_alias, std::uint32_t{3}}};
  const std::string bytes =
      wire({0x32, 0x1B, 0x00, 0x01, 't', 0x00, 0x01, 0x10, 0x02, 0x00, 0x00, 0x00,
            0x3C, 0x09, 0x00, 0x02, 'a', 'b',  0x0B, 0xAC, 0x02, 0x23, 0x00, 0x03}) +
      "hello";
  EXPECT_TRUE(matches_golden(p, bytes, v5));
}

TEST(codec_v5, publish_without_properties_has_property_length_zero) {
  publish_packet p;
  p.topic = "t";
  EXPECT_TRUE(matches_golden(p, wire({0x30, 0x04, 0x00, 0x01, 't', 0x00}), v5));
}

TEST(codec_v5, publish_may_repeat_subscription_identifier_and_user_property) {
  publish_packet p;
  p.topic = "t";
  p.props = {{property_id::subscription_identifier, std::uint32_t{1}},
             {property_id::subscription_identifier, std::uint32_t{2}},
             user("a", "1"),
             user("a", "2")};
  const decode_result r = decode_wire(encoded(p, v5), v5);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<publish_packet>(r.pkt), p);
}

TEST(codec_v5, successful_ack_without_properties_is_two_bytes) {
  EXPECT_TRUE(matches_golden(puback_packet{1, 0, {}}, wire({0x40, 0x02, 0x00, 0x01}), v5));
  EXPECT_TRUE(matches_golden(pubcomp_packet{2, 0, {}}, wire({0x70, 0x02, 0x00, 0x02}), v5));
}

TEST(codec_v5, ack_with_reason_code_only_is_three_bytes) {
  EXPECT_TRUE(matches_golden(puback_packet{1, reason::no_matching_subscribers, {}},
                             wire({0x40, 0x03, 0x00, 0x01, 0x10}), v5));
  EXPECT_TRUE(matches_golden(pubrec_packet{2, reason::no_matching_subscribers, {}},
                             wire({0x50, 0x03, 0x00, 0x02, 0x10}), v5));
  EXPECT_TRUE(matches_golden(pubrel_packet{2, reason::packet_identifier_not_found, {}},
                             wire({0x62, 0x03, 0x00, 0x02, 0x92}), v5));
}

TEST(codec_v5, ack_with_reason_string_matches_golden_bytes) {
  puback_packet a{1, reason::no_matching_subscribers, {}};
  a.props = {{property_id::reason_string, std::string("no")}};
  EXPECT_TRUE(matches_golden(
      a, wire({0x40, 0x09, 0x00, 0x01, 0x10, 0x05, 0x1F, 0x00, 0x02, 'n', 'o'}), v5));
}

TEST(codec_v5, ack_with_success_and_properties_writes_the_reason_code) {
  pubcomp_packet a{3, 0, {user("k", "v")}};
  EXPECT_TRUE(matches_golden(
      a, wire({0x70, 0x0B, 0x00, 0x03, 0x00, 0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v'}), v5));
}

TEST(codec_v5, ack_with_remaining_length_four_and_empty_properties_decodes) {
  const decode_result r = decode_wire(wire({0x40, 0x04, 0x00, 0x01, 0x00, 0x00}), v5);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<puback_packet>(r.pkt), (puback_packet{1, 0, {}}));
}

TEST(codec_v5, subscribe_with_options_and_subscription_identifier_matches_golden_bytes) {
  subscribe_packet s;
  s.packet_id = 5;
  s.props = {{property_id::subscription_identifier, std::uint32_t{1}}};
  s.subscriptions = {{"a/+", qos::at_least_once, true, true, 1},
                     {"$share/g/x", qos::at_most_once, false, false, 2}};
  const std::string bytes = wire({0x82, 0x18, 0x00, 0x05, 0x02, 0x0B, 0x01, 0x00, 0x03}) + "a/+" +
                            wire({0x1D, 0x00, 0x0A}) + "$share/g/x" + wire({0x20});
  EXPECT_TRUE(matches_golden(s, bytes, v5));
}

TEST(codec_v5, suback_with_reason_codes_matches_golden_bytes) {
  suback_packet s;
  s.packet_id = 5;
  s.reason_codes = {reason::granted_qos_1, reason::topic_filter_invalid};
  EXPECT_TRUE(matches_golden(s, wire({0x90, 0x05, 0x00, 0x05, 0x00, 0x01, 0x8F}), v5));
}

TEST(codec_v5, unsubscribe_matches_golden_bytes) {
  unsubscribe_packet u;
  u.packet_id = 6;
  u.filters = {"a"};
  u.props = {user("k", "v")};
  EXPECT_TRUE(matches_golden(
      u,
      wire({0xA2, 0x0D, 0x00, 0x06, 0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x00, 0x01, 'a'}),
      v5));
}

TEST(codec_v5, unsuback_carries_reason_codes) {
  unsuback_packet u;
  u.packet_id = 6;
  u.reason_codes = {reason::success, reason::no_subscription_existed};
  EXPECT_TRUE(matches_golden(u, wire({0xB0, 0x05, 0x00, 0x06, 0x00, 0x00, 0x11}), v5));
}

TEST(codec_v5, normal_disconnect_is_two_bytes) {
  EXPECT_TRUE(matches_golden(disconnect_packet{}, wire({0xE0, 0x00}), v5));
}

TEST(codec_v5, disconnect_with_reason_code_only_is_three_bytes) {
  EXPECT_TRUE(matches_golden(disconnect_packet{reason::disconnect_with_will, {}},
                             wire({0xE0, 0x01, 0x04}), v5));
}

TEST(codec_v5, disconnect_with_session_expiry_matches_golden_bytes) {
  disconnect_packet d{0, {{property_id::session_expiry_interval, std::uint32_t{0}}}};
  EXPECT_TRUE(matches_golden(d, wire({0xE0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00}), v5));
}

TEST(codec_v5, auth_success_without_properties_is_two_bytes) {
  EXPECT_TRUE(matches_golden(auth_packet{}, wire({0xF0, 0x00}), v5));
}

TEST(codec_v5, auth_continue_with_method_and_data_matches_golden_bytes) {
  auth_packet a{reason::continue_authentication,
                {{property_id::authentication_method, std::string("SCRAM")},
                 {property_id::authentication_data, std::string("d")}}};
  const std::string bytes =
      wire({0xF0, 0x0E, 0x18, 0x0C, 0x15, 0x00, 0x05}) + "SCRAM" + wire({0x16, 0x00, 0x01, 'd'});
  EXPECT_TRUE(matches_golden(a, bytes, v5));
}

TEST(codec_v5, pingreq_and_pingresp_are_unchanged) {
  EXPECT_TRUE(matches_golden(pingreq_packet{}, wire({0xC0, 0x00}), v5));
  EXPECT_TRUE(matches_golden(pingresp_packet{}, wire({0xD0, 0x00}), v5));
}

TEST(codec_v5, every_property_type_round_trips) {
  connack_packet a;
  a.props = {
      {property_id::retain_available, std::uint32_t{1}},                  // byte
      {property_id::server_keep_alive, std::uint32_t{0xFFFF}},            // two byte
      {property_id::session_expiry_interval, std::uint32_t{0xFFFFFFFF}},  // four byte
      {property_id::response_information, std::string("r/\xC3\xA9")},     // UTF-8
      {property_id::authentication_data, std::string("\x00\xFF", 2)},     // binary
      user("name", ""),                                                   // string pair
  };
  const decode_result r = decode_wire(encoded(a, v5), v5);
  ASSERT_EQ(r.error, decode_error::none);
  EXPECT_EQ(std::get<connack_packet>(r.pkt), a);
  EXPECT_EQ(
      find_integer(std::get<connack_packet>(r.pkt).props, property_id::session_expiry_interval),
      0xFFFFFFFFu);
}

TEST(codec_v5, subscription_identifier_round_trips_at_varint_limits) {
  for (std::uint32_t id : {1u, 127u, 128u, 16383u, 16384u, 268435455u}) {
    subscribe_packet s;
    s.packet_id = 1;
    s.props = {{property_id::subscription_identifier, id}};
    s.subscriptions = {{"t", qos::at_most_once}};
    const decode_result r = decode_wire(encoded(s, v5), v5);
    ASSERT_EQ(r.error, decode_error::none) << id;
    EXPECT_EQ(std::get<subscribe_packet>(r.pkt), s) << id;
  }
}

TEST(codec_v5, property_with_a_value_of_the_wrong_type_is_left_out) {
  // A string where the id needs an integer cannot be written: the packet stays well formed.
  publish_packet p;
  p.topic = "t";
  p.props = {{property_id::topic_alias, std::string("x")}};
  EXPECT_EQ(hex(encoded(p, v5)), hex(wire({0x30, 0x04, 0x00, 0x01, 't', 0x00})));
}

}  // namespace
}  // namespace mqtt::test
