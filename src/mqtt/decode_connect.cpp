// CONNECT and CONNACK, and the two packets that end or extend a session: DISCONNECT and AUTH.

#include "mqtt/decode_detail.hpp"

namespace mqtt::detail {
namespace {

constexpr std::uint8_t flag_reserved = 0x01;
constexpr std::uint8_t flag_clean_start = 0x02;
constexpr std::uint8_t flag_will = 0x04;
constexpr std::uint8_t flag_will_qos = 0x18;
constexpr std::uint8_t flag_will_retain = 0x20;
constexpr std::uint8_t flag_password = 0x40;
constexpr std::uint8_t flag_username = 0x80;

// Reads the protocol name and level. The level is stored even when unsupported: the broker must
// still answer an unsupported level with CONNACK return code 1 [MQTT-3.1.2-2].
void read_protocol(field_reader& r, connect_packet& p) {
  const std::string name = r.binary();
  const std::uint8_t level = r.byte();
  if (!r.ok()) return;
  p.version = static_cast<protocol_version>(level);
  if (name == "MQTT") {
    if (level != 4 && level != 5) r.fail(decode_error::unsupported_protocol_level);
  } else if (name == "MQIsdp") {
    if (level != 3) r.fail(decode_error::unsupported_protocol_level);
  } else {
    r.fail(decode_error::invalid_protocol_name);  // [MQTT-3.1.2-1]
  }
}

void check_connect_flags(field_reader& r, std::uint8_t flags, protocol_version v) {
  if ((flags & flag_reserved) != 0) return r.fail(decode_error::invalid_connect_flags);
  if ((flags & flag_will) == 0) {
    // [MQTT-3.1.2-13] [MQTT-3.1.2-15] (3.1.1); [MQTT-3.1.2-11] [MQTT-3.1.2-13] (5.0).
    if ((flags & (flag_will_qos | flag_will_retain)) != 0) {
      return r.fail(decode_error::invalid_connect_flags);
    }
  } else if (((flags & flag_will_qos) >> 3) == 3) {
    return r.fail(decode_error::invalid_qos);  // [MQTT-3.1.2-14]
  }
  // 5.0 allows a password alone (for other authentication schemes); 3.1 and 3.1.1 do not.
  if (v != protocol_version::v5 && (flags & flag_password) != 0 && (flags & flag_username) == 0) {
    r.fail(decode_error::password_without_username);  // [MQTT-3.1.2-22]
  }
}

}  // namespace

void decode_connect(field_reader& r, connect_packet& p) {
  read_protocol(r, p);
  const std::uint8_t flags = r.byte();
  p.keep_alive = r.two_bytes();
  if (!r.ok()) return;
  const protocol_version v = p.version;
  check_connect_flags(r, flags, v);
  if (!r.ok()) return;
  p.clean_start = (flags & flag_clean_start) != 0;
  if (v == protocol_version::v5) read_properties(r, property_context::connect, p.props);
  p.client_id = r.utf8();
  if ((flags & flag_will) != 0) {
    will_message& w = p.will.emplace();
    w.qos = static_cast<qos>((flags & flag_will_qos) >> 3);
    w.retain = (flags & flag_will_retain) != 0;
    if (v == protocol_version::v5) read_properties(r, property_context::will, w.props);
    w.topic = r.utf8();
    w.payload = r.binary();
  }
  // MQTT 3.1 clients exist that set the user name or password flag and then omit the field;
  // like other 3.1 brokers, read a field that is absent at the very end as not given.
  const bool lenient = v == protocol_version::v3_1;
  if ((flags & flag_username) != 0 && !(lenient && r.ok() && r.remaining() == 0)) {
    p.username = r.utf8();
  }
  if ((flags & flag_password) != 0 && !(lenient && r.ok() && r.remaining() == 0)) {
    p.password = r.binary();
  }
}

void decode_connack(field_reader& r, protocol_version v, connack_packet& p) {
  const std::uint8_t ack_flags = r.byte();
  p.reason_code = r.byte();
  if (!r.ok()) return;
  if (v == protocol_version::v3_1) return;  // 3.1: the first byte is unused, no session present
  if ((ack_flags & 0xFE) != 0)
    return r.fail(decode_error::invalid_connect_flags);  // [MQTT-3.2.2-1]
  p.session_present = (ack_flags & 0x01) != 0;
  if (v == protocol_version::v5) {
    if (!allowed_reason_code(packet_type::connack, p.reason_code)) {
      return r.fail(decode_error::invalid_reason_code);
    }
    read_properties(r, property_context::connack, p.props);
  } else if (p.reason_code > 5) {
    r.fail(decode_error::invalid_reason_code);  // 6..255 are reserved [MQTT-3.2.2-3]
  }
}

void decode_disconnect(field_reader& r, protocol_version v, disconnect_packet& p) {
  if (v != protocol_version::v5) return;  // empty body; the caller rejects anything more
  // Remaining length 0 means reason 0x00; below 2, no properties [MQTT-3.14.2.1].
  if (r.remaining() == 0) return;
  p.reason_code = r.byte();
  if (!allowed_reason_code(packet_type::disconnect, p.reason_code)) {
    return r.fail(decode_error::invalid_reason_code);
  }
  if (r.remaining() > 0) read_properties(r, property_context::disconnect, p.props);
}

void decode_auth(field_reader& r, auth_packet& p) {
  // Remaining length 0 means Success with no properties [MQTT-3.15.2.1].
  if (r.remaining() == 0) return;
  p.reason_code = r.byte();
  if (!allowed_reason_code(packet_type::auth, p.reason_code)) {
    return r.fail(decode_error::invalid_reason_code);
  }
  if (r.remaining() > 0) read_properties(r, property_context::auth, p.props);
}

}  // namespace mqtt::detail
