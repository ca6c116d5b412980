// PUBLISH and the four packets that acknowledge it: PUBACK, PUBREC, PUBREL, PUBCOMP.

#include "mqtt/decode_detail.hpp"

namespace mqtt::detail {
namespace {

property_context ack_context(packet_type type) {
  switch (type) {
    case packet_type::puback:
      return property_context::puback;
    case packet_type::pubrec:
      return property_context::pubrec;
    case packet_type::pubrel:
      return property_context::pubrel;
    default:
      return property_context::pubcomp;
  }
}

}  // namespace

void decode_publish(field_reader& r, std::uint8_t flags, protocol_version v, publish_view& p) {
  // The fixed header was checked already: QoS is 0..2.
  p.dup = (flags & 0x08) != 0;
  p.qos = static_cast<qos>((flags >> 1) & 0x03);
  p.retain = (flags & 0x01) != 0;
  // Wildcards in the name are the receiver's to refuse (valid_topic_name): in 5.0 an empty name
  // is legal when a topic alias stands for it.
  p.topic = r.utf8_view();
  if (p.qos != qos::at_most_once) {
    p.packet_id = r.two_bytes();
    if (r.ok() && p.packet_id == 0) return r.fail(decode_error::zero_packet_id);  // [MQTT-2.3.1-1]
  }
  if (v == protocol_version::v5) read_properties(r, property_context::publish, p.props);
  if (r.ok()) p.payload = r.rest_view();
}

void decode_publish(field_reader& r, std::uint8_t flags, protocol_version v, publish_packet& p) {
  publish_view view;
  decode_publish(r, flags, v, view);
  p = to_packet(std::move(view));
}

void decode_ack(field_reader& r, packet_type type, protocol_version v, std::uint16_t& packet_id,
                std::uint8_t& reason_code, properties& props) {
  packet_id = r.two_bytes();
  if (!r.ok()) return;
  if (packet_id == 0) return r.fail(decode_error::zero_packet_id);  // [MQTT-2.3.1-1]
  // 3.1 / 3.1.1 acks are exactly two bytes; the caller rejects anything after the identifier.
  if (v != protocol_version::v5) return;
  // 5.0: remaining length 2 means reason 0x00 and no properties; below 4, no properties
  // [MQTT-3.4.2.1] [MQTT-3.4.2.2.1].
  if (r.remaining() == 0) return;
  reason_code = r.byte();
  if (!allowed_reason_code(type, reason_code)) return r.fail(decode_error::invalid_reason_code);
  if (r.remaining() > 0) read_properties(r, ack_context(type), props);
}

}  // namespace mqtt::detail
