// encode(): every packet body is written by one template run twice, once into a byte counter (for
// the remaining length) and once into the output, so size and bytes cannot disagree and nothing
// is built in a temporary buffer.

#include "mqtt/encoder.hpp"

namespace mqtt {
namespace {

struct size_sink {
  std::size_t size = 0;
  void put(std::uint8_t) { ++size; }
  void put(std::string_view s) { size += s.size(); }
};

struct string_sink {
  std::string& out;
  void put(std::uint8_t b) { out.push_back(static_cast<char>(b)); }
  void put(std::string_view s) { out.append(s); }
};

template <class Sink>
void put_u16(Sink& s, std::uint16_t v) {
  s.put(static_cast<std::uint8_t>(v >> 8));
  s.put(static_cast<std::uint8_t>(v & 0xFF));
}

template <class Sink>
void put_u32(Sink& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.put(static_cast<std::uint8_t>(v >> shift));
}

template <class Sink>
void put_varint(Sink& s, std::uint32_t v) {
  do {
    std::uint8_t b = v & 0x7F;
    v >>= 7;
    if (v != 0) b |= 0x80;
    s.put(b);
  } while (v != 0);
}

// UTF-8 string or binary data: two-byte length, then the bytes. Longer than 65,535 bytes is a
// caller error (everything the broker sends came from a decoded packet or was checked).
template <class Sink>
void put_string(Sink& s, std::string_view v) {
  put_u16(s, static_cast<std::uint16_t>(v.size()));
  s.put(v);
}

// One property. A value whose type does not fit the id is a caller error and is left out, in the
// counting pass and the writing pass alike, so the packet stays well formed.
template <class Sink>
void put_property(Sink& s, const property& p) {
  const property_type type = property_type_of(p.id);
  const auto* n = std::get_if<std::uint32_t>(&p.value);
  const auto* str = std::get_if<std::string>(&p.value);
  const auto* pair = std::get_if<std::pair<std::string, std::string>>(&p.value);
  const bool fits = (n != nullptr && type >= property_type::byte &&
                     type <= property_type::variable_byte_integer) ||
                    (str != nullptr &&
                     (type == property_type::utf8_string || type == property_type::binary_data)) ||
                    (pair != nullptr && type == property_type::utf8_string_pair);
  if (!fits) return;
  put_varint(s, static_cast<std::uint32_t>(p.id));
  switch (type) {
    case property_type::byte:
      return s.put(static_cast<std::uint8_t>(*n));
    case property_type::two_byte_integer:
      return put_u16(s, static_cast<std::uint16_t>(*n));
    case property_type::four_byte_integer:
      return put_u32(s, *n);
    case property_type::variable_byte_integer:
      return put_varint(s, *n);
    case property_type::utf8_string:
    case property_type::binary_data:
      return put_string(s, *str);
    case property_type::utf8_string_pair:
      put_string(s, pair->first);
      return put_string(s, pair->second);
    case property_type::unknown:
      return;
  }
}

template <class Sink>
void put_properties(Sink& s, const properties& props) {
  size_sink length;
  for (const property& p : props) put_property(length, p);
  put_varint(s, static_cast<std::uint32_t>(length.size));
  for (const property& p : props) put_property(s, p);
}

bool is_v5(protocol_version v) {
  return v == protocol_version::v5;
}

template <class Sink>
void put_body(Sink& s, const connect_packet& p, protocol_version v) {
  put_string(s, v == protocol_version::v3_1 ? "MQIsdp" : "MQTT");
  s.put(static_cast<std::uint8_t>(v));
  std::uint8_t flags = p.clean_start ? 0x02 : 0x00;
  if (p.will) {
    flags |= 0x04 | static_cast<std::uint8_t>(static_cast<unsigned>(p.will->qos) << 3);
    if (p.will->retain) flags |= 0x20;
  }
  if (p.password) flags |= 0x40;
  if (p.username) flags |= 0x80;
  s.put(flags);
  put_u16(s, p.keep_alive);
  if (is_v5(v)) put_properties(s, p.props);
  put_string(s, p.client_id);
  if (p.will) {
    if (is_v5(v)) put_properties(s, p.will->props);
    put_string(s, p.will->topic);
    put_string(s, p.will->payload);
  }
  if (p.username) put_string(s, *p.username);
  if (p.password) put_string(s, *p.password);
}

template <class Sink>
void put_body(Sink& s, const connack_packet& p, protocol_version v) {
  // MQTT 3.1 has no session present flag: the byte is unused there.
  s.put(static_cast<std::uint8_t>(p.session_present && v != protocol_version::v3_1 ? 1 : 0));
  s.put(p.reason_code);
  if (is_v5(v)) put_properties(s, p.props);
}

template <class Sink>
void put_body(Sink& s, const publish_packet& p, protocol_version v) {
  put_string(s, p.topic);
  if (p.qos != qos::at_most_once) put_u16(s, p.packet_id);
  if (is_v5(v)) put_properties(s, p.props);
  s.put(p.payload);
}

template <class Sink, packet_type Type>
void put_body(Sink& s, const ack_packet<Type>& p, protocol_version v) {
  put_u16(s, p.packet_id);
  if (!is_v5(v)) return;
  // The short forms: remaining length 2 for success without properties, 3 for a reason code
  // without properties [MQTT-3.4.2.1] [MQTT-3.4.2.2.1].
  if (p.reason_code == 0 && p.props.empty()) return;
  s.put(p.reason_code);
  if (!p.props.empty()) put_properties(s, p.props);
}

template <class Sink>
void put_body(Sink& s, const subscribe_packet& p, protocol_version v) {
  put_u16(s, p.packet_id);
  if (is_v5(v)) put_properties(s, p.props);
  for (const subscription& sub : p.subscriptions) {
    put_string(s, sub.filter);
    auto options = static_cast<std::uint8_t>(sub.max_qos);
    if (is_v5(v)) {
      if (sub.no_local) options |= 0x04;
      if (sub.retain_as_published) options |= 0x08;
      options |= static_cast<std::uint8_t>((sub.retain_handling & 0x03) << 4);
    }
    s.put(options);
  }
}

template <class Sink>
void put_body(Sink& s, const suback_packet& p, protocol_version v) {
  put_u16(s, p.packet_id);
  if (is_v5(v)) put_properties(s, p.props);
  for (std::uint8_t code : p.reason_codes) s.put(code);
}

template <class Sink>
void put_body(Sink& s, const unsubscribe_packet& p, protocol_version v) {
  put_u16(s, p.packet_id);
  if (is_v5(v)) put_properties(s, p.props);
  for (const std::string& filter : p.filters) put_string(s, filter);
}

template <class Sink>
void put_body(Sink& s, const unsuback_packet& p, protocol_version v) {
  put_u16(s, p.packet_id);
  if (!is_v5(v)) return;  // 3.1 / 3.1.1 UNSUBACK has no payload
  put_properties(s, p.props);
  for (std::uint8_t code : p.reason_codes) s.put(code);
}

template <class Sink>
void put_body(Sink&, const pingreq_packet&, protocol_version) {}

template <class Sink>
void put_body(Sink&, const pingresp_packet&, protocol_version) {}

template <class Sink>
void put_body(Sink& s, const disconnect_packet& p, protocol_version v) {
  if (!is_v5(v)) return;
  // Remaining length 0 for a normal disconnection, 1 for a reason code alone [MQTT-3.14.2.1].
  if (p.reason_code == 0 && p.props.empty()) return;
  s.put(p.reason_code);
  if (!p.props.empty()) put_properties(s, p.props);
}

template <class Sink>
void put_body(Sink& s, const auth_packet& p, protocol_version) {
  // AUTH exists only in 5.0. Remaining length 0 means Success without properties
  // [MQTT-3.15.2.1]; otherwise reason code and property length are both written.
  if (p.reason_code == 0 && p.props.empty()) return;
  s.put(p.reason_code);
  put_properties(s, p.props);
}

std::uint8_t first_byte(const packet& p) {
  const auto type = static_cast<std::uint8_t>(type_of(p));
  const auto* pub = std::get_if<publish_packet>(&p);
  if (pub != nullptr) {
    std::uint8_t flags = static_cast<std::uint8_t>(static_cast<unsigned>(pub->qos) << 1);
    if (pub->dup) flags |= 0x08;
    if (pub->retain) flags |= 0x01;
    return static_cast<std::uint8_t>(type << 4 | flags);
  }
  // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]: these three carry 0b0010.
  const bool qos1_flag = type == static_cast<std::uint8_t>(packet_type::pubrel) ||
                         type == static_cast<std::uint8_t>(packet_type::subscribe) ||
                         type == static_cast<std::uint8_t>(packet_type::unsubscribe);
  return static_cast<std::uint8_t>(type << 4 | (qos1_flag ? 0x02 : 0x00));
}

}  // namespace

void encode(const packet& p, protocol_version version, std::string& out) {
  std::visit(
      [&](const auto& body) {
        size_sink size;
        put_body(size, body, version);
        out.push_back(static_cast<char>(first_byte(p)));
        encode_varint(static_cast<std::uint32_t>(size.size), out);
        string_sink sink{out};
        put_body(sink, body, version);
      },
      p);
}

void encode_publish_head(std::string_view topic, qos q, bool retain, bool dup,
                         std::size_t tail_size, std::size_t payload_size, std::string& out) {
  std::uint8_t flags = static_cast<std::uint8_t>(static_cast<unsigned>(q) << 1);
  if (dup) flags |= 0x08;
  if (retain) flags |= 0x01;
  out.push_back(static_cast<char>(static_cast<std::uint8_t>(packet_type::publish) << 4 | flags));
  encode_varint(static_cast<std::uint32_t>(2 + topic.size() + tail_size + payload_size), out);
  string_sink sink{out};
  put_string(sink, topic);
}

void encode_varint(std::uint32_t value, std::string& out) {
  string_sink sink{out};
  put_varint(sink, value);
}

std::size_t varint_size(std::uint32_t value) {
  if (value < 128) return 1;
  if (value < 16'384) return 2;
  if (value < 2'097'152) return 3;
  return 4;
}

void encode_properties(const properties& props, std::string& out) {
  string_sink sink{out};
  put_properties(sink, props);
}

void encode_property_list(const properties& props, std::string& out) {
  string_sink sink{out};
  for (const property& p : props) put_property(sink, p);
}

std::size_t properties_size(const properties& props) {
  size_sink size;
  put_properties(size, props);
  return size.size;
}

}  // namespace mqtt
