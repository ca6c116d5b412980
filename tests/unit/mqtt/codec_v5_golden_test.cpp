// Golden bytes for every MQTT 5.0 property and every reason code, each in a packet that may carry
// it: the property table of [MQTT-2.2.2.2] and the reason code tables of [MQTT-2.4] and of each
// packet, in both directions.

#include <vector>

#include "codec_test_support.hpp"
#include "mqtt/reason_code.hpp"

namespace mqtt::test {
namespace {

constexpr auto v5 = protocol_version::v5;

struct property_case {
  property prop;
  std::string bytes;  // identifier and value, as on the wire
  packet_type where;  // a packet that may carry it (connect = the will for will_delay_interval)
};

std::vector<property_case> every_property() {
  using p = property_id;
  std::vector<property_case> cases;
  // Built one by one: g++ 12 sees a variant in a braced list as maybe uninitialized.
  auto add = [&cases](property_id id, auto value, std::string bytes, packet_type where) {
    property_case& c = cases.emplace_back();
    c.prop.id = id;
    c.prop.value = std::move(value);
    c.bytes = std::move(bytes);
    c.where = where;
  };
  add(p::payload_format_indicator, std::uint32_t{1}, wire({0x01, 0x01}), packet_type::publish);
  add(p::message_expiry_interval, std::uint32_t{0x01020304}, wire({0x02, 1, 2, 3, 4}),
      packet_type::publish);
  add(p::content_type, std::string("a/b"), wire({0x03, 0, 3}) + "a/b", packet_type::publish);
  add(p::response_topic, std::string("r/t"), wire({0x08, 0, 3}) + "r/t", packet_type::publish);
  add(p::correlation_data, std::string("\x00\xFF", 2), wire({0x09, 0, 2, 0x00, 0xFF}),
      packet_type::publish);
  add(p::subscription_identifier, std::uint32_t{200}, wire({0x0B, 0xC8, 0x01}),
      packet_type::publish);
  add(p::session_expiry_interval, std::uint32_t{0xFFFFFFFF}, wire({0x11, 0xFF, 0xFF, 0xFF, 0xFF}),
      packet_type::connect);
  add(p::assigned_client_identifier, std::string("id"), wire({0x12, 0, 2}) + "id",
      packet_type::connack);
  add(p::server_keep_alive, std::uint32_t{300}, wire({0x13, 0x01, 0x2C}), packet_type::connack);
  add(p::authentication_method, std::string("M"), wire({0x15, 0, 1}) + "M", packet_type::auth);
  add(p::authentication_data, std::string("d"), wire({0x16, 0, 1}) + "d", packet_type::auth);
  add(p::request_problem_information, std::uint32_t{0}, wire({0x17, 0x00}), packet_type::connect);
  add(p::will_delay_interval, std::uint32_t{30}, wire({0x18, 0, 0, 0, 30}), packet_type::pingreq);
  add(p::request_response_information, std::uint32_t{1}, wire({0x19, 0x01}), packet_type::connect);
  add(p::response_information, std::string("ri"), wire({0x1A, 0, 2}) + "ri", packet_type::connack);
  add(p::server_reference, std::string("sr"), wire({0x1C, 0, 2}) + "sr", packet_type::disconnect);
  add(p::reason_string, std::string("why"), wire({0x1F, 0, 3}) + "why", packet_type::puback);
  add(p::receive_maximum, std::uint32_t{20}, wire({0x21, 0, 20}), packet_type::connect);
  add(p::topic_alias_maximum, std::uint32_t{10}, wire({0x22, 0, 10}), packet_type::connack);
  add(p::topic_alias, std::uint32_t{7}, wire({0x23, 0, 7}), packet_type::publish);
  add(p::maximum_qos, std::uint32_t{1}, wire({0x24, 0x01}), packet_type::connack);
  add(p::retain_available, std::uint32_t{0}, wire({0x25, 0x00}), packet_type::connack);
  add(p::user_property, std::pair<std::string, std::string>{"k", "v"},
      wire({0x26, 0, 1, 'k', 0, 1, 'v'}), packet_type::suback);
  add(p::maximum_packet_size, std::uint32_t{16777216}, wire({0x27, 0x01, 0x00, 0x00, 0x00}),
      packet_type::connack);
  add(p::wildcard_subscription_available, std::uint32_t{1}, wire({0x28, 0x01}),
      packet_type::connack);
  add(p::subscription_identifier_available, std::uint32_t{0}, wire({0x29, 0x00}),
      packet_type::connack);
  add(p::shared_subscription_available, std::uint32_t{0}, wire({0x2A, 0x00}), packet_type::connack);
  return cases;
}

// A packet of type `where` holding `props` and nothing else of note; pingreq stands for the will.
packet carrier(packet_type where, const properties& props) {
  switch (where) {
    case packet_type::publish: {
      publish_packet p;
      p.topic = "t";
      p.props = props;
      return p;
    }
    case packet_type::connect: {
      connect_packet c;
      c.version = v5;
      c.client_id = "c";
      c.props = props;
      return c;
    }
    case packet_type::pingreq: {
      connect_packet c;
      c.version = v5;
      c.client_id = "c";
      c.will = will_message{"w", "x", qos::at_most_once, false, props};
      return c;
    }
    case packet_type::connack:
      return connack_packet{false, 0, props};
    case packet_type::auth:
      return auth_packet{reason::continue_authentication, props};
    case packet_type::disconnect:
      return disconnect_packet{reason::server_moved, props};
    case packet_type::puback:
      return puback_packet{1, reason::unspecified_error, props};
    case packet_type::suback:
      return suback_packet{1, {0}, props};
    default:
      return pingreq_packet{};
  }
}

TEST(codec_v5_golden, every_property_has_its_identifier_and_wire_type) {
  for (const property_case& c : every_property()) {
    std::string out;
    encode_property_list({c.prop}, out);
    EXPECT_EQ(hex(out), hex(c.bytes)) << "property 0x" << std::hex << int(c.prop.id);
  }
}

TEST(codec_v5_golden, every_property_round_trips_in_a_packet_that_may_carry_it) {
  for (const property_case& c : every_property()) {
    const packet p = carrier(c.where, {c.prop});
    const std::string bytes = encoded(p, v5);
    // The property's bytes appear, behind their length, in the packet.
    EXPECT_NE(bytes.find(wire({static_cast<int>(c.bytes.size())}) + c.bytes), std::string::npos)
        << "property 0x" << std::hex << int(c.prop.id) << " in " << hex(bytes);
    const decode_result r = decode_wire(bytes, v5);
    ASSERT_EQ(r.error, decode_error::none)
        << "property 0x" << std::hex << int(c.prop.id) << ": " << describe(r.error);
    EXPECT_TRUE(r.pkt == p) << "property 0x" << std::hex << int(c.prop.id);
  }
}

TEST(codec_v5_golden, a_property_in_a_packet_that_may_not_carry_it_is_refused) {
  // Topic Alias in CONNACK, Session Expiry in PUBLISH, Receive Maximum in SUBACK.
  EXPECT_EQ(decode_error_of(wire({0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), v5),
            decode_error::invalid_property);
  EXPECT_EQ(decode_error_of(wire({0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0, 0, 0, 1}), v5),
            decode_error::invalid_property);
  EXPECT_EQ(decode_error_of(wire({0x90, 0x07, 0x00, 0x01, 0x03, 0x21, 0x00, 0x01, 0x00}), v5),
            decode_error::invalid_property);
}

struct reason_table {
  packet_type type;
  std::vector<std::uint8_t> codes;
};

std::vector<reason_table> every_reason_code() {
  using namespace reason;
  return {
      {packet_type::connack,
       {success,
        unspecified_error,
        malformed_packet,
        protocol_error,
        implementation_specific_error,
        unsupported_protocol_version,
        client_identifier_not_valid,
        bad_user_name_or_password,
        not_authorized,
        server_unavailable,
        server_busy,
        banned,
        bad_authentication_method,
        topic_name_invalid,
        packet_too_large,
        quota_exceeded,
        payload_format_invalid,
        retain_not_supported,
        qos_not_supported,
        use_another_server,
        server_moved,
        connection_rate_exceeded}},
      {packet_type::puback,
       {success, no_matching_subscribers, unspecified_error, implementation_specific_error,
        not_authorized, topic_name_invalid, packet_identifier_in_use, quota_exceeded,
        payload_format_invalid}},
      {packet_type::pubrec,
       {success, no_matching_subscribers, unspecified_error, implementation_specific_error,
        not_authorized, topic_name_invalid, packet_identifier_in_use, quota_exceeded,
        payload_format_invalid}},
      {packet_type::pubrel, {success, packet_identifier_not_found}},
      {packet_type::pubcomp, {success, packet_identifier_not_found}},
      {packet_type::suback,
       {granted_qos_1 - 1, granted_qos_1, granted_qos_2, unspecified_error,
        implementation_specific_error, not_authorized, topic_filter_invalid,
        packet_identifier_in_use, quota_exceeded, shared_subscriptions_not_supported,
        subscription_identifiers_not_supported, wildcard_subscriptions_not_supported}},
      {packet_type::unsuback,
       {success, no_subscription_existed, unspecified_error, implementation_specific_error,
        not_authorized, topic_filter_invalid, packet_identifier_in_use}},
      {packet_type::disconnect,
       {success,
        disconnect_with_will,
        unspecified_error,
        malformed_packet,
        protocol_error,
        implementation_specific_error,
        not_authorized,
        server_busy,
        server_shutting_down,
        keep_alive_timeout,
        session_taken_over,
        topic_filter_invalid,
        topic_name_invalid,
        receive_maximum_exceeded,
        topic_alias_invalid,
        packet_too_large,
        message_rate_too_high,
        quota_exceeded,
        administrative_action,
        payload_format_invalid,
        retain_not_supported,
        qos_not_supported,
        use_another_server,
        server_moved,
        shared_subscriptions_not_supported,
        connection_rate_exceeded,
        maximum_connect_time,
        subscription_identifiers_not_supported,
        wildcard_subscriptions_not_supported}},
      {packet_type::auth, {success, continue_authentication, re_authenticate}},
  };
}

// The packet of `type` carrying `code`, and its golden bytes.
std::pair<packet, std::string> with_code(packet_type type, std::uint8_t code) {
  const int c = code;
  switch (type) {
    case packet_type::connack:
      return {connack_packet{false, code, {}}, wire({0x20, 0x03, 0x00, c, 0x00})};
    case packet_type::puback:
      return {puback_packet{9, code, {}},
              code == 0 ? wire({0x40, 0x02, 0x00, 0x09}) : wire({0x40, 0x03, 0x00, 0x09, c})};
    case packet_type::pubrec:
      return {pubrec_packet{9, code, {}},
              code == 0 ? wire({0x50, 0x02, 0x00, 0x09}) : wire({0x50, 0x03, 0x00, 0x09, c})};
    case packet_type::pubrel:
      return {pubrel_packet{9, code, {}},
              code == 0 ? wire({0x62, 0x02, 0x00, 0x09}) : wire({0x62, 0x03, 0x00, 0x09, c})};
    case packet_type::pubcomp:
      return {pubcomp_packet{9, code, {}},
              code == 0 ? wire({0x70, 0x02, 0x00, 0x09}) : wire({0x70, 0x03, 0x00, 0x09, c})};
    case packet_type::suback:
      return {suback_packet{9, {code}, {}}, wire({0x90, 0x04, 0x00, 0x09, 0x00, c})};
    case packet_type::unsuback:
      return {unsuback_packet{9, {code}, {}}, wire({0xB0, 0x04, 0x00, 0x09, 0x00, c})};
    case packet_type::disconnect:
      return {disconnect_packet{code, {}}, code == 0 ? wire({0xE0, 0x00}) : wire({0xE0, 0x01, c})};
    case packet_type::auth:
      // AUTH keeps its property length behind a reason code (only the success form is short).
      return {auth_packet{code, {}}, code == 0 ? wire({0xF0, 0x00}) : wire({0xF0, 0x02, c, 0x00})};
    default:
      return {pingreq_packet{}, wire({0xC0, 0x00})};
  }
}

TEST(codec_v5_golden, every_reason_code_of_every_packet_matches_golden_bytes) {
  for (const reason_table& t : every_reason_code()) {
    for (std::uint8_t code : t.codes) {
      const auto [p, bytes] = with_code(t.type, code);
      EXPECT_TRUE(matches_golden(p, bytes, v5))
          << name_of(t.type) << " reason 0x" << std::hex << int(code);
      EXPECT_STRNE(describe_reason(code), "unknown reason code") << std::hex << int(code);
    }
  }
}

TEST(codec_v5_golden, a_reason_code_not_in_a_packets_table_is_refused) {
  for (const reason_table& t : every_reason_code()) {
    for (int code = 0; code < 256; ++code) {
      const auto c = static_cast<std::uint8_t>(code);
      if (std::find(t.codes.begin(), t.codes.end(), c) != t.codes.end()) continue;
      // SUBACK 0x00 is "granted QoS 0" and is in the table; the short forms of the acks and
      // DISCONNECT mean 0 and are tested above.
      const auto [p, bytes] = with_code(t.type, c);
      EXPECT_EQ(decode_error_of(bytes, v5), decode_error::invalid_reason_code)
          << name_of(t.type) << " reason 0x" << std::hex << code;
    }
  }
}

}  // namespace
}  // namespace mqtt::test
