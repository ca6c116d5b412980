// 5.0 property lists: the wire type of each id, where each id may appear, and which values are
// legal [MQTT-2.2.2.2].

#include <bitset>

#include "mqtt/decode_detail.hpp"

namespace mqtt::detail {
namespace {

constexpr std::uint32_t bit(property_context c) {
  return 1u << static_cast<unsigned>(c);
}

// The packets (and the will) each property may appear in: the table of [MQTT-2.2.2.2].
std::uint32_t allowed_contexts(property_id id) {
  using c = property_context;
  constexpr std::uint32_t message = bit(c::publish) | bit(c::will);
  switch (id) {
    case property_id::payload_format_indicator:
    case property_id::message_expiry_interval:
    case property_id::content_type:
    case property_id::response_topic:
    case property_id::correlation_data:
      return message;
    case property_id::subscription_identifier:
      return bit(c::publish) | bit(c::subscribe);
    case property_id::session_expiry_interval:
      return bit(c::connect) | bit(c::connack) | bit(c::disconnect);
    case property_id::assigned_client_identifier:
    case property_id::server_keep_alive:
    case property_id::response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
      return bit(c::connack);
    case property_id::authentication_method:
    case property_id::authentication_data:
      return bit(c::connect) | bit(c::connack) | bit(c::auth);
    case property_id::request_problem_information:
    case property_id::request_response_information:
      return bit(c::connect);
    case property_id::will_delay_interval:
      return bit(c::will);
    case property_id::server_reference:
      return bit(c::connack) | bit(c::disconnect);
    case property_id::reason_string:
      return bit(c::connack) | bit(c::puback) | bit(c::pubrec) | bit(c::pubrel) | bit(c::pubcomp) |
             bit(c::suback) | bit(c::unsuback) | bit(c::disconnect) | bit(c::auth);
    case property_id::receive_maximum:
    case property_id::topic_alias_maximum:
    case property_id::maximum_packet_size:
      return bit(c::connect) | bit(c::connack);
    case property_id::topic_alias:
      return bit(c::publish);
    case property_id::user_property:
      return ~0u;
  }
  return 0;
}

// Values the spec calls a Protocol Error for these ids. A topic alias of 0 is decoded: the
// connection answers it with Topic Alias Invalid (0x94) [MQTT-3.3.2-8], like one above the maximum.
bool valid_value(property_id id, std::uint32_t v) {
  // Every single-byte property of 5.0 is a flag or a QoS limited to 0 or 1.
  if (property_type_of(id) == property_type::byte) return v <= 1;
  switch (id) {
    case property_id::receive_maximum:          // [MQTT-3.1.2.11.3]
    case property_id::maximum_packet_size:      // [MQTT-3.1.2.11.4]
    case property_id::subscription_identifier:  // [MQTT-3.8.2.1.2]
      return v != 0;
    default:
      return true;
  }
}

// Only these two may repeat, and a subscription identifier only in PUBLISH (one per matching
// subscription, [MQTT-3.3.4-4]); in SUBSCRIBE it appears at most once.
bool may_repeat(property_id id, property_context where) {
  return id == property_id::user_property ||
         (id == property_id::subscription_identifier && where == property_context::publish);
}

property_value read_value(field_reader& r, property_type type) {
  switch (type) {
    case property_type::byte:
      return std::uint32_t{r.byte()};
    case property_type::two_byte_integer:
      return std::uint32_t{r.two_bytes()};
    case property_type::four_byte_integer:
      return r.four_bytes();
    case property_type::variable_byte_integer:
      return r.varint();
    case property_type::utf8_string:
      return r.utf8();
    case property_type::binary_data:
      return r.binary();
    case property_type::utf8_string_pair: {
      std::string name = r.utf8();
      std::string value = r.utf8();
      return std::pair{std::move(name), std::move(value)};
    }
    case property_type::unknown:
      break;
  }
  return std::uint32_t{0};
}

}  // namespace

void read_properties(field_reader& r, property_context where, properties& out) {
  const std::uint32_t length = r.varint();
  field_reader list = r.take(length);
  if (!r.ok()) return;
  std::bitset<64> seen;
  while (list.ok() && list.remaining() > 0) {
    const std::uint32_t raw_id = list.varint();
    if (!list.ok()) break;
    const auto id = static_cast<property_id>(raw_id);
    const property_type type = raw_id < 0x80 ? property_type_of(id) : property_type::unknown;
    if (type == property_type::unknown || (allowed_contexts(id) & bit(where)) == 0 ||
        (seen.test(raw_id) && !may_repeat(id, where))) {
      list.fail(decode_error::invalid_property);
      break;
    }
    seen.set(raw_id);
    property_value value = read_value(list, type);
    if (!list.ok()) break;
    if (const auto* n = std::get_if<std::uint32_t>(&value); n != nullptr && !valid_value(id, *n)) {
      list.fail(decode_error::invalid_property);
      break;
    }
    out.push_back(property{id, std::move(value)});
  }
  if (!list.ok()) r.fail(list.error());
}

}  // namespace mqtt::detail

namespace mqtt {

bool decode_message_properties(std::string_view wire, properties& out) {
  detail::field_reader r(
      std::span(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()));
  detail::read_properties(r, detail::property_context::publish, out);
  return r.ok() && r.remaining() == 0;
}

}  // namespace mqtt
