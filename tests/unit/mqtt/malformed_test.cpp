// Every decode_error produced by a concrete malformed packet. The codec never throws: each case
// returns the error naming the broken rule. (unexpected_packet is the broker's to raise: the codec
// decodes server-to-client packets normally.)

#include "codec_test_support.hpp"

namespace mqtt::test {
namespace {

constexpr auto v31 = protocol_version::v3_1;
constexpr auto v311 = protocol_version::v3_1_1;
constexpr auto v5 = protocol_version::v5;

// A 3.1.1 CONNECT with the given flags and payload after the client id "c".
std::string connect_311(int flags, std::string_view tail = {}) {
  std::string body = wire({0x00, 0x04}) + "MQTT" + wire({0x04, flags, 0x00, 0x3C, 0x00, 0x01}) +
                     "c" + std::string(tail);
  return wire({0x10, static_cast<int>(body.size())}) + body;
}

std::string with_length(int first_byte, const std::string& body) {
  return wire({first_byte, static_cast<int>(body.size())}) + body;
}

TEST(malformed, type_zero_is_an_invalid_packet_type) {
  EXPECT_EQ(decode_error_of(wire({0x00, 0x00}), v311), decode_error::invalid_packet_type);
}

TEST(malformed, auth_before_5_0_is_an_invalid_packet_type) {
  EXPECT_EQ(decode_error_of(wire({0xF0, 0x00}), v311), decode_error::invalid_packet_type);
  EXPECT_EQ(decode_error_of(wire({0xF0, 0x00}), v5), decode_error::none);
}

TEST(malformed, reserved_fixed_header_flags_must_match_the_spec) {  // [MQTT-2.2.2-2]
  EXPECT_EQ(decode_error_of(wire({0x60, 0x02, 0x00, 0x01}), v311),
            decode_error::invalid_fixed_header_flags);  // PUBREL needs 0010
  EXPECT_EQ(decode_error_of(wire({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}), v311),
            decode_error::invalid_fixed_header_flags);  // SUBSCRIBE needs 0010
  EXPECT_EQ(decode_error_of(wire({0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}), v311),
            decode_error::invalid_fixed_header_flags);  // UNSUBSCRIBE needs 0010
  EXPECT_EQ(decode_error_of(wire({0xC1, 0x00}), v311), decode_error::invalid_fixed_header_flags);
  EXPECT_EQ(decode_error_of(wire({0x42, 0x02, 0x00, 0x01}), v5),
            decode_error::invalid_fixed_header_flags);  // PUBACK needs 0000
  EXPECT_EQ(decode_error_of(connect_311(0x02).replace(0, 1, 1, '\x11'), v311),
            decode_error::invalid_fixed_header_flags);
}

TEST(malformed, dup_on_qos0_publish_is_refused_from_3_1_1_on) {  // [MQTT-3.3.1-2]
  const std::string dup_qos0 = wire({0x38, 0x03, 0x00, 0x01, 't'});
  EXPECT_EQ(decode_error_of(dup_qos0, v311), decode_error::invalid_fixed_header_flags);
  EXPECT_EQ(decode_error_of(dup_qos0, v5), decode_error::invalid_fixed_header_flags);
  EXPECT_EQ(decode_error_of(dup_qos0, v31), decode_error::none);
}

TEST(malformed, mqtt_3_1_tolerates_dup_on_a_retried_subscribe) {
  const std::string retried = wire({0x8A, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00});
  EXPECT_EQ(decode_error_of(retried, v31), decode_error::none);
  EXPECT_EQ(decode_error_of(retried, v311), decode_error::invalid_fixed_header_flags);
}

TEST(malformed, publish_qos3_is_invalid) {  // [MQTT-3.3.1-4]
  EXPECT_EQ(decode_error_of(wire({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), v311),
            decode_error::invalid_qos);
}

TEST(malformed, field_running_past_the_end_is_truncated) {
  EXPECT_EQ(decode_error_of(wire({0x40, 0x01, 0x00}), v311), decode_error::truncated);
  EXPECT_EQ(decode_error_of(wire({0x30, 0x03, 0x00, 0x05, 't'}), v311), decode_error::truncated);
  EXPECT_EQ(decode_error_of(wire({0x32, 0x04, 0x00, 0x01, 't', 0x00}), v311),
            decode_error::truncated);  // half a packet identifier
  EXPECT_EQ(decode_error_of(wire({0x10, 0x04, 0x00, 0x04, 'M', 'Q'}), v311),
            decode_error::truncated);
  EXPECT_EQ(decode_error_of(connect_311(0x82), v311), decode_error::truncated);  // no user name
  EXPECT_EQ(decode_error_of(wire({0x20, 0x01, 0x00}), v311), decode_error::truncated);
  EXPECT_EQ(decode_error_of(wire({0x90, 0x02, 0x00, 0x01}), v311), decode_error::truncated);
}

TEST(malformed, property_length_past_the_end_is_truncated) {
  EXPECT_EQ(decode_error_of(wire({0x30, 0x05, 0x00, 0x01, 't', 0x05, 0x01}), v5),
            decode_error::truncated);
  // A property whose value runs past the property length.
  EXPECT_EQ(decode_error_of(wire({0x30, 0x07, 0x00, 0x01, 't', 0x02, 0x02, 0x00, 0x00}), v5),
            decode_error::truncated);
}

TEST(malformed, bytes_after_the_last_field_are_trailing_bytes) {
  EXPECT_EQ(decode_error_of(wire({0x40, 0x03, 0x00, 0x01, 0x00}), v311),
            decode_error::trailing_bytes);  // 3.1.1 acks are exactly 2 bytes
  EXPECT_EQ(decode_error_of(wire({0x20, 0x03, 0x00, 0x00, 0x00}), v311),
            decode_error::trailing_bytes);
  EXPECT_EQ(decode_error_of(wire({0xB0, 0x03, 0x00, 0x01, 0x00}), v311),
            decode_error::trailing_bytes);
  EXPECT_EQ(decode_error_of(wire({0xC0, 0x01, 0x00}), v311), decode_error::trailing_bytes);
  EXPECT_EQ(decode_error_of(wire({0xE0, 0x01, 0x00}), v311), decode_error::trailing_bytes);
  EXPECT_EQ(decode_error_of(connect_311(0x02, "x"), v311), decode_error::trailing_bytes);
}

TEST(malformed, ill_formed_utf8_in_a_topic_name_is_refused) {  // [MQTT-1.5.3-1]
  EXPECT_EQ(decode_error_of(wire({0x30, 0x04, 0x00, 0x02, 0xC0, 0x80}), v311),
            decode_error::invalid_utf8);  // overlong U+0000
  EXPECT_EQ(decode_error_of(wire({0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80}), v311),
            decode_error::invalid_utf8);  // surrogate U+D800
  EXPECT_EQ(decode_error_of(wire({0x30, 0x03, 0x00, 0x01, 0xFF}), v311),
            decode_error::invalid_utf8);
}

TEST(malformed, null_character_in_a_topic_name_is_refused) {  // [MQTT-1.5.3-2]
  EXPECT_EQ(decode_error_of(wire({0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'}), v311),
            decode_error::invalid_utf8);
}

TEST(malformed, invalid_utf8_is_refused_in_every_string_field) {
  const std::string bad = wire({0x00, 0x01, 0xFF});
  // filter, unsubscribe filter, client id, will topic, user name
  EXPECT_EQ(decode_error_of(with_length(0x82, wire({0x00, 0x01}) + bad + wire({0x00})), v311),
            decode_error::invalid_utf8);
  EXPECT_EQ(decode_error_of(with_length(0xA2, wire({0x00, 0x01}) + bad), v311),
            decode_error::invalid_utf8);
  std::string body = wire({0x00, 0x04}) + "MQTT" + wire({0x04, 0x02, 0x00, 0x3C}) + bad;
  EXPECT_EQ(decode_error_of(with_length(0x10, body), v311), decode_error::invalid_utf8);
  EXPECT_EQ(decode_error_of(connect_311(0x06, bad + wire({0x00, 0x00})), v311),
            decode_error::invalid_utf8);
  EXPECT_EQ(decode_error_of(connect_311(0x82, bad), v311), decode_error::invalid_utf8);
  // 5.0 string properties and user property names
  EXPECT_EQ(decode_error_of(wire({0x30, 0x08, 0x00, 0x01, 't', 0x04, 0x03, 0x00, 0x01, 0xFF}), v5),
            decode_error::invalid_utf8);
}

TEST(malformed, protocol_name_other_than_mqtt_or_mqisdp_is_refused) {  // [MQTT-3.1.2-1]
  std::string body = wire({0x00, 0x04}) + "MQTX" + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x00});
  EXPECT_EQ(decode_error_of(with_length(0x10, body), v311), decode_error::invalid_protocol_name);
}

TEST(malformed, unsupported_level_still_reports_the_version_byte) {  // [MQTT-3.1.2-2]
  std::string body = wire({0x00, 0x04}) + "MQTT" + wire({0x06, 0x02, 0x00, 0x3C, 0x00, 0x00});
  const decode_result r = decode_wire(with_length(0x10, body), v311);
  EXPECT_EQ(r.error, decode_error::unsupported_protocol_level);
  ASSERT_TRUE(std::holds_alternative<connect_packet>(r.pkt));
  EXPECT_EQ(static_cast<int>(std::get<connect_packet>(r.pkt).version), 6);
}

TEST(malformed, protocol_name_and_level_must_agree) {
  std::string mqtt3 = wire({0x00, 0x04}) + "MQTT" + wire({0x03, 0x02, 0x00, 0x3C, 0x00, 0x00});
  std::string mqisdp4 = wire({0x00, 0x06}) + "MQIsdp" + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x00});
  EXPECT_EQ(decode_error_of(with_length(0x10, mqtt3), v311),
            decode_error::unsupported_protocol_level);
  EXPECT_EQ(decode_error_of(with_length(0x10, mqisdp4), v311),
            decode_error::unsupported_protocol_level);
}

TEST(malformed, reserved_connect_flag_is_refused) {  // [MQTT-3.1.2-3]
  EXPECT_EQ(decode_error_of(connect_311(0x03), v311), decode_error::invalid_connect_flags);
}

TEST(malformed, will_qos_or_retain_without_will_flag_is_refused) {  // [MQTT-3.1.2-13] [-15]
  EXPECT_EQ(decode_error_of(connect_311(0x0A), v311), decode_error::invalid_connect_flags);
  EXPECT_EQ(decode_error_of(connect_311(0x22), v311), decode_error::invalid_connect_flags);
}

TEST(malformed, connack_reserved_flags_are_refused) {  // [MQTT-3.2.2-1]
  EXPECT_EQ(decode_error_of(wire({0x20, 0x02, 0x02, 0x00}), v311),
            decode_error::invalid_connect_flags);
}

TEST(malformed, will_qos3_is_invalid) {  // [MQTT-3.1.2-14]
  const std::string will = wire({0x00, 0x01, 'w', 0x00, 0x00});
  EXPECT_EQ(decode_error_of(connect_311(0x1E, will), v311), decode_error::invalid_qos);
}

TEST(malformed, password_without_user_name_is_refused_before_5_0) {  // [MQTT-3.1.2-22]
  const std::string password = wire({0x00, 0x01, 'p'});
  EXPECT_EQ(decode_error_of(connect_311(0x42, password), v311),
            decode_error::password_without_username);
}

TEST(malformed, packet_identifier_zero_is_refused) {  // [MQTT-2.3.1-1]
  EXPECT_EQ(decode_error_of(wire({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), v311),
            decode_error::zero_packet_id);
  EXPECT_EQ(decode_error_of(wire({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}), v311),
            decode_error::zero_packet_id);
  EXPECT_EQ(decode_error_of(wire({0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 'a'}), v311),
            decode_error::zero_packet_id);
  for (int type : {0x40, 0x50, 0x62, 0x70, 0xB0}) {
    EXPECT_EQ(decode_error_of(wire({type, 0x02, 0x00, 0x00}), v311), decode_error::zero_packet_id)
        << type;
  }
  EXPECT_EQ(decode_error_of(wire({0x90, 0x03, 0x00, 0x00, 0x00}), v311),
            decode_error::zero_packet_id);
}

TEST(malformed, subscribe_without_filters_is_refused) {  // [MQTT-3.8.3-3]
  EXPECT_EQ(decode_error_of(wire({0x82, 0x02, 0x00, 0x01}), v311),
            decode_error::empty_subscription_list);
  EXPECT_EQ(decode_error_of(wire({0x82, 0x03, 0x00, 0x01, 0x00}), v5),
            decode_error::empty_subscription_list);
}

TEST(malformed, unsubscribe_without_filters_is_refused) {  // [MQTT-3.10.3-2]
  EXPECT_EQ(decode_error_of(wire({0xA2, 0x02, 0x00, 0x01}), v311),
            decode_error::empty_subscription_list);
}

TEST(malformed, subscription_option_reserved_bits_are_refused) {
  auto subscribe = [](int options) {
    return wire({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', options});
  };
  auto subscribe_v5 = [](int options) {
    return wire({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', options});
  };
  // 3.1.1: the upper six bits are reserved [MQTT-3-8.3-4]
  EXPECT_EQ(decode_error_of(subscribe(0x04), v311), decode_error::invalid_subscription_options);
  EXPECT_EQ(decode_error_of(subscribe(0x81), v311), decode_error::invalid_subscription_options);
  // 5.0: bits 6 and 7 reserved, retain handling 3 does not exist
  EXPECT_EQ(decode_error_of(subscribe_v5(0x40), v5), decode_error::invalid_subscription_options);
  EXPECT_EQ(decode_error_of(subscribe_v5(0x30), v5), decode_error::invalid_subscription_options);
  EXPECT_EQ(decode_error_of(subscribe_v5(0x2C), v5), decode_error::none);
}

TEST(malformed, subscription_qos3_is_invalid) {
  EXPECT_EQ(decode_error_of(wire({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}), v311),
            decode_error::invalid_qos);
}

TEST(malformed, unknown_property_id_is_refused) {
  EXPECT_EQ(decode_error_of(wire({0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x7F, 0x00}), v5),
            decode_error::invalid_property);
}

TEST(malformed, property_not_allowed_in_the_packet_is_refused) {
  // topic alias (0x23) belongs to PUBLISH, not CONNACK; session expiry not to PUBLISH.
  EXPECT_EQ(decode_error_of(wire({0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), v5),
            decode_error::invalid_property);
  EXPECT_EQ(
      decode_error_of(wire({0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}), v5),
      decode_error::invalid_property);
  // will delay interval only in will properties, not in CONNECT's own.
  std::string body = wire({0x00, 0x04}) + "MQTT" +
                     wire({0x05, 0x02, 0x00, 0x3C, 0x05, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00});
  EXPECT_EQ(decode_error_of(with_length(0x10, body), v5), decode_error::invalid_property);
}

TEST(malformed, duplicated_property_is_refused) {
  EXPECT_EQ(decode_error_of(
                wire({0x30, 0x0A, 0x00, 0x01, 't', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02}), v5),
            decode_error::invalid_property);
  // Subscription identifier may repeat in PUBLISH but not in SUBSCRIBE.
  EXPECT_EQ(
      decode_error_of(
          wire({0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 'a', 0x00}), v5),
      decode_error::invalid_property);
}

TEST(malformed, property_value_out_of_range_is_refused) {
  // payload format indicator 2, subscription identifier 0, receive maximum 0
  EXPECT_EQ(decode_error_of(wire({0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x01, 0x02}), v5),
            decode_error::invalid_property);
  // Topic alias 0 is decoded: the connection refuses it with Topic Alias Invalid.
  EXPECT_EQ(decode_error_of(wire({0x30, 0x07, 0x00, 0x01, 't', 0x03, 0x23, 0x00, 0x00}), v5),
            decode_error::none);
  EXPECT_EQ(
      decode_error_of(wire({0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x00, 0x00, 0x01, 'a', 0x00}), v5),
      decode_error::invalid_property);
  EXPECT_EQ(decode_error_of(wire({0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00}), v5),
            decode_error::invalid_property);
}

TEST(malformed, property_varint_longer_than_four_bytes_is_refused) {  // [MQTT-1.5.5-1]
  EXPECT_EQ(decode_error_of(
                wire({0x30, 0x0A, 0x00, 0x01, 't', 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00}), v5),
            decode_error::malformed_remaining_length);
}

TEST(malformed, reason_code_not_allowed_for_the_packet_is_refused) {
  EXPECT_EQ(decode_error_of(wire({0x40, 0x03, 0x00, 0x01, 0x05}), v5),
            decode_error::invalid_reason_code);
  EXPECT_EQ(decode_error_of(wire({0x62, 0x03, 0x00, 0x01, 0x10}), v5),
            decode_error::invalid_reason_code);  // PUBREL: only 0x00 and 0x92
  EXPECT_EQ(decode_error_of(wire({0xE0, 0x01, 0x84}), v5), decode_error::invalid_reason_code);
  EXPECT_EQ(decode_error_of(wire({0xF0, 0x02, 0x01, 0x00}), v5), decode_error::invalid_reason_code);
  EXPECT_EQ(decode_error_of(wire({0x20, 0x03, 0x00, 0x01, 0x00}), v5),
            decode_error::invalid_reason_code);
  EXPECT_EQ(decode_error_of(wire({0x90, 0x04, 0x00, 0x01, 0x00, 0x03}), v5),
            decode_error::invalid_reason_code);
  EXPECT_EQ(decode_error_of(wire({0xB0, 0x04, 0x00, 0x01, 0x00, 0x01}), v5),
            decode_error::invalid_reason_code);
}

TEST(malformed, return_code_reserved_in_3_1_1_is_refused) {
  EXPECT_EQ(decode_error_of(wire({0x20, 0x02, 0x00, 0x06}), v311),
            decode_error::invalid_reason_code);  // [MQTT-3.2.2-3]
  EXPECT_EQ(decode_error_of(wire({0x90, 0x03, 0x00, 0x01, 0x03}), v311),
            decode_error::invalid_reason_code);  // [MQTT-3.9.3-2]
}

TEST(malformed, every_error_has_a_one_line_description) {
  for (int e = 0; e <= static_cast<int>(decode_error::unexpected_packet); ++e) {
    const std::string text = describe(static_cast<decode_error>(e));
    EXPECT_FALSE(text.empty()) << e;
    EXPECT_EQ(text.find('\n'), std::string::npos) << e;
    EXPECT_NE(text, "unknown decode error") << e;
  }
  EXPECT_NE(std::string(describe(decode_error::invalid_qos)).find("[MQTT-3.3.1-4]"),
            std::string::npos);
}

TEST(malformed, arbitrary_bytes_never_crash_the_decoder) {
  // Every first byte with short bodies of every value: the decoder returns, never throws.
  for (int first = 0; first < 256; ++first) {
    for (int fill = 0; fill < 256; fill += 17) {
      for (std::size_t n = 0; n < 12; ++n) {
        const std::string body(n, static_cast<char>(fill));
        for (auto v : {v31, v311, v5}) {
          (void)decode_packet(static_cast<std::uint8_t>(first), as_bytes(body), v);
        }
      }
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace mqtt::test
