#include "mqtt/properties.hpp"

namespace mqtt {

property_type property_type_of(property_id id) {
  switch (id) {
    case property_id::payload_format_indicator:
    case property_id::request_problem_information:
    case property_id::request_response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
      return property_type::byte;
    case property_id::server_keep_alive:
    case property_id::receive_maximum:
    case property_id::topic_alias_maximum:
    case property_id::topic_alias:
      return property_type::two_byte_integer;
    case property_id::message_expiry_interval:
    case property_id::session_expiry_interval:
    case property_id::will_delay_interval:
    case property_id::maximum_packet_size:
      return property_type::four_byte_integer;
    case property_id::subscription_identifier:
      return property_type::variable_byte_integer;
    case property_id::content_type:
    case property_id::response_topic:
    case property_id::assigned_client_identifier:
    case property_id::authentication_method:
    case property_id::response_information:
    case property_id::server_reference:
    case property_id::reason_string:
      return property_type::utf8_string;
    case property_id::correlation_data:
    case property_id::authentication_data:
      return property_type::binary_data;
    case property_id::user_property:
      return property_type::utf8_string_pair;
  }
  return property_type::unknown;
}

const property* find_property(const properties& props, property_id id) {
  for (const property& p : props) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

std::optional<std::uint32_t> find_integer(const properties& props, property_id id) {
  const property* p = find_property(props, id);
  if (p == nullptr) return std::nullopt;
  if (const auto* v = std::get_if<std::uint32_t>(&p->value)) return *v;
  return std::nullopt;
}

}  // namespace mqtt
