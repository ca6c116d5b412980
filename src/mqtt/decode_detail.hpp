#pragma once
// Internal to the decoder (not part of the API): the cursor the per-packet decoders share, and the
// functions decoder.cpp dispatches to. Split by packet family so each file stays small.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "mqtt/decode_error.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/utf8.hpp"

namespace mqtt::detail {

// A cursor over one packet body. The first error sticks and later reads return zero values, so a
// decoder reads a run of fields and checks ok() once before it acts on what it read.
class field_reader {
 public:
  explicit field_reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  decode_error error() const { return error_; }
  bool ok() const { return error_ == decode_error::none; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  void fail(decode_error e) {
    if (ok()) error_ = e;
  }

  std::uint8_t byte() { return has(1) ? bytes_[pos_++] : 0; }

  std::uint16_t two_bytes() {
    if (!has(2)) return 0;
    const auto v = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
    pos_ += 2;
    return v;
  }

  std::uint32_t four_bytes() {
    if (!has(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | bytes_[pos_++];
    return v;
  }

  // Variable byte integer: at most four bytes [MQTT-1.5.5-1].
  std::uint32_t varint() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      if (!has(1)) return 0;
      const std::uint8_t b = bytes_[pos_++];
      value |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) return value;
    }
    fail(decode_error::malformed_remaining_length);
    return 0;
  }

  // Binary Data: two-byte length, then that many bytes [MQTT-1.5.6]. The _view readers return
  // views of the packet's bytes.
  std::string_view binary_view() {
    const std::size_t n = two_bytes();
    if (!has(n)) return {};
    const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::string binary() { return std::string(binary_view()); }

  // UTF-8 Encoded String [MQTT-1.5.3].
  std::string_view utf8_view() {
    const std::string_view s = binary_view();
    if (ok() && !valid_utf8(s)) fail(decode_error::invalid_utf8);
    return s;
  }
  std::string utf8() { return std::string(utf8_view()); }

  // Everything left: an application message payload.
  std::string_view rest_view() {
    const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), remaining());
    pos_ = bytes_.size();
    return s;
  }
  std::string rest() { return std::string(rest_view()); }

  // The next n bytes as a reader of their own (a property list); this reader moves past them.
  field_reader take(std::size_t n) {
    if (!has(n)) return field_reader({});
    field_reader sub(bytes_.subspan(pos_, n));
    pos_ += n;
    return sub;
  }

 private:
  bool has(std::size_t n) {
    if (ok() && remaining() >= n) return true;
    fail(decode_error::truncated);
    return false;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  decode_error error_ = decode_error::none;
};

// The rules the first byte alone decides: packet type and reserved flags [MQTT-2.2.2-2], QoS 3,
// DUP on QoS 0. The packet reader applies them before the body arrives.
decode_error check_fixed_header(std::uint8_t first_byte, protocol_version v);

// Where a property list sits; decides which property ids may appear [MQTT-2.2.2.2].
enum class property_context : std::uint8_t {
  connect,
  will,
  connack,
  publish,
  puback,
  pubrec,
  pubrel,
  pubcomp,
  subscribe,
  suback,
  unsubscribe,
  unsuback,
  disconnect,
  auth,
};

// Reads a 5.0 property length and the properties it covers into `out`; errors go to `r`.
void read_properties(field_reader& r, property_context where, properties& out);

// Whether a 5.0 packet of this type may carry this reason code [MQTT-2.4].
bool allowed_reason_code(packet_type type, std::uint8_t code);

// The per-packet decoders. Each reads the body and reports errors through `r`; the caller checks
// for trailing bytes.
void decode_connect(field_reader& r, connect_packet& p);
void decode_connack(field_reader& r, protocol_version v, connack_packet& p);
void decode_disconnect(field_reader& r, protocol_version v, disconnect_packet& p);
void decode_auth(field_reader& r, auth_packet& p);
void decode_publish(field_reader& r, std::uint8_t flags, protocol_version v, publish_packet& p);
void decode_publish(field_reader& r, std::uint8_t flags, protocol_version v, publish_view& p);
void decode_ack(field_reader& r, packet_type type, protocol_version v, std::uint16_t& packet_id,
                std::uint8_t& reason_code, properties& props);
void decode_subscribe(field_reader& r, protocol_version v, subscribe_packet& p);
void decode_suback(field_reader& r, protocol_version v, suback_packet& p);
void decode_unsubscribe(field_reader& r, protocol_version v, unsubscribe_packet& p);
void decode_unsuback(field_reader& r, protocol_version v, unsuback_packet& p);

}  // namespace mqtt::detail
