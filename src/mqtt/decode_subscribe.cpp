// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.

#include "mqtt/decode_detail.hpp"

namespace mqtt::detail {
namespace {

void read_packet_id(field_reader& r, std::uint16_t& id) {
  id = r.two_bytes();
  if (r.ok() && id == 0) r.fail(decode_error::zero_packet_id);  // [MQTT-2.3.1-1]
}

void read_options(field_reader& r, protocol_version v, subscription& s) {
  const std::uint8_t options = r.byte();
  if (!r.ok()) return;
  if (v == protocol_version::v5) {
    // Bits 6 and 7 are reserved; retain handling 3 does not exist [MQTT-3.8.3-5].
    if ((options & 0xC0) != 0 || ((options >> 4) & 0x03) == 3) {
      return r.fail(decode_error::invalid_subscription_options);
    }
    s.no_local = (options & 0x04) != 0;
    s.retain_as_published = (options & 0x08) != 0;
    s.retain_handling = (options >> 4) & 0x03;
  } else if ((options & 0xFC) != 0) {
    return r.fail(decode_error::invalid_subscription_options);  // [MQTT-3-8.3-4]
  }
  if ((options & 0x03) == 3) return r.fail(decode_error::invalid_qos);  // [MQTT-3-8.3-4]
  s.max_qos = static_cast<qos>(options & 0x03);
}

// The list of reason (5.0) or return (3.1.1) codes closing a SUBACK or 5.0 UNSUBACK: one per
// filter of the request, so never empty.
void read_reason_codes(field_reader& r, packet_type type, protocol_version v,
                       std::vector<std::uint8_t>& codes) {
  if (!r.ok()) return;
  if (r.remaining() == 0) return r.fail(decode_error::truncated);
  codes.reserve(r.remaining());
  while (r.remaining() > 0) {
    const std::uint8_t code = r.byte();
    const bool allowed = v == protocol_version::v5 ? allowed_reason_code(type, code)
                                                   : code <= 2 || code == 0x80;  // [MQTT-3.9.3-2]
    if (!allowed) return r.fail(decode_error::invalid_reason_code);
    codes.push_back(code);
  }
}

}  // namespace

void decode_subscribe(field_reader& r, protocol_version v, subscribe_packet& p) {
  read_packet_id(r, p.packet_id);
  if (v == protocol_version::v5) read_properties(r, property_context::subscribe, p.props);
  if (!r.ok()) return;
  if (r.remaining() == 0) return r.fail(decode_error::empty_subscription_list);  // [MQTT-3.8.3-3]
  while (r.ok() && r.remaining() > 0) {
    subscription& s = p.subscriptions.emplace_back();
    // Filter syntax (wildcard placement) is the receiver's to judge with valid_topic_filter: 5.0
    // answers a bad filter with a reason code instead of closing the connection.
    s.filter = r.utf8();
    read_options(r, v, s);
  }
}

void decode_suback(field_reader& r, protocol_version v, suback_packet& p) {
  read_packet_id(r, p.packet_id);
  if (v == protocol_version::v5) read_properties(r, property_context::suback, p.props);
  read_reason_codes(r, packet_type::suback, v, p.reason_codes);
}

void decode_unsubscribe(field_reader& r, protocol_version v, unsubscribe_packet& p) {
  read_packet_id(r, p.packet_id);
  if (v == protocol_version::v5) read_properties(r, property_context::unsubscribe, p.props);
  if (!r.ok()) return;
  if (r.remaining() == 0) return r.fail(decode_error::empty_subscription_list);  // [MQTT-3.10.3-2]
  while (r.ok() && r.remaining() > 0) p.filters.push_back(r.utf8());
}

void decode_unsuback(field_reader& r, protocol_version v, unsuback_packet& p) {
  read_packet_id(r, p.packet_id);
  if (v != protocol_version::v5) return;  // 3.1 / 3.1.1: the packet identifier only
  read_properties(r, property_context::unsuback, p.props);
  read_reason_codes(r, packet_type::unsuback, v, p.reason_codes);
}

}  // namespace mqtt::detail
