#pragma once
// MQTT 5.0 properties [MQTT-2.2.2]. 3.1 / 3.1.1 packets carry none; the type exists so 5.0 adds
// behaviour without changing the packet structs.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mqtt {

enum class property_id : std::uint8_t {
  payload_format_indicator = 0x01,           // byte
  message_expiry_interval = 0x02,            // four byte integer
  content_type = 0x03,                       // UTF-8 string
  response_topic = 0x08,                     // UTF-8 string
  correlation_data = 0x09,                   // binary data
  subscription_identifier = 0x0B,            // variable byte integer
  session_expiry_interval = 0x11,            // four byte integer
  assigned_client_identifier = 0x12,         // UTF-8 string
  server_keep_alive = 0x13,                  // two byte integer
  authentication_method = 0x15,              // UTF-8 string
  authentication_data = 0x16,                // binary data
  request_problem_information = 0x17,        // byte
  will_delay_interval = 0x18,                // four byte integer
  request_response_information = 0x19,       // byte
  response_information = 0x1A,               // UTF-8 string
  server_reference = 0x1C,                   // UTF-8 string
  reason_string = 0x1F,                      // UTF-8 string
  receive_maximum = 0x21,                    // two byte integer
  topic_alias_maximum = 0x22,                // two byte integer
  topic_alias = 0x23,                        // two byte integer
  maximum_qos = 0x24,                        // byte
  retain_available = 0x25,                   // byte
  user_property = 0x26,                      // UTF-8 string pair
  maximum_packet_size = 0x27,                // four byte integer
  wildcard_subscription_available = 0x28,    // byte
  subscription_identifier_available = 0x29,  // byte
  shared_subscription_available = 0x2A,      // byte
};

// Integers of every width are held as uint32_t; strings and binary data as std::string;
// a user property as a name/value pair.
using property_value =
    std::variant<std::uint32_t, std::string, std::pair<std::string, std::string>>;

struct property {
  property_id id;
  property_value value;
  bool operator==(const property&) const = default;
};

using properties = std::vector<property>;

// How each property is laid out on the wire [MQTT-2.2.2.2]; `unknown` for ids 5.0 does not define.
enum class property_type : std::uint8_t {
  unknown,
  byte,
  two_byte_integer,
  four_byte_integer,
  variable_byte_integer,
  utf8_string,
  binary_data,
  utf8_string_pair,
};
property_type property_type_of(property_id id);

// First property with this id, if any.
const property* find_property(const properties& props, property_id id);
std::optional<std::uint32_t> find_integer(const properties& props, property_id id);

}  // namespace mqtt
