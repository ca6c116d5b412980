#pragma once
// The MQTT control packets as plain values, shared by 3.1, 3.1.1 and 5.0.
// Fields that exist only in 5.0 (properties, reason codes on acks) are simply left empty or zero
// when the connection speaks 3.1 / 3.1.1; the codec decides what goes on the wire per version.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mqtt/properties.hpp"

namespace mqtt {

// The protocol level byte of CONNECT [MQTT-3.1.2-2]: 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0.
enum class protocol_version : std::uint8_t { v3_1 = 3, v3_1_1 = 4, v5 = 5 };

enum class qos : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

enum class packet_type : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,  // 5.0 only
};

struct will_message {
  std::string topic;
  std::string payload;
  mqtt::qos qos = qos::at_most_once;
  bool retain = false;
  properties props;  // 5.0 will properties

  bool operator==(const will_message&) const = default;
};

struct connect_packet {
  protocol_version version = protocol_version::v3_1_1;
  bool clean_start = true;  // "clean session" in 3.1 / 3.1.1
  std::uint16_t keep_alive = 0;
  std::string client_id;
  std::optional<will_message> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary data; may hold any bytes
  properties props;

  bool operator==(const connect_packet&) const = default;
};

struct connack_packet {
  bool session_present = false;
  std::uint8_t reason_code = 0;  // 3.1.1 return code (0..5) or 5.0 reason code
  properties props;

  bool operator==(const connack_packet&) const = default;
};

struct publish_packet {
  std::string topic;
  std::string payload;
  mqtt::qos qos = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // present on the wire only for QoS 1 and 2
  properties props;

  bool operator==(const publish_packet&) const = default;
};

// A PUBLISH as the broker reads it: the topic and payload are views of the bytes it arrived in
// (packet_reader::next), so a message is copied once, into the broker's own block, not twice.
struct publish_view {
  std::string_view topic;
  std::string_view payload;
  mqtt::qos qos = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  properties props;
};
// The packet a view stands for, with its own copies of the bytes.
publish_packet to_packet(publish_view view);

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape; the tag keeps them distinct in the variant.
template <packet_type Type>
struct ack_packet {
  static constexpr packet_type type = Type;
  std::uint16_t packet_id = 0;
  std::uint8_t reason_code = 0;  // 5.0 only; 0 = success
  properties props;

  bool operator==(const ack_packet&) const = default;
};
using puback_packet = ack_packet<packet_type::puback>;
using pubrec_packet = ack_packet<packet_type::pubrec>;
using pubrel_packet = ack_packet<packet_type::pubrel>;
using pubcomp_packet = ack_packet<packet_type::pubcomp>;

struct subscription {
  std::string filter;
  mqtt::qos max_qos = qos::at_most_once;
  bool no_local = false;             // 5.0
  bool retain_as_published = false;  // 5.0
  std::uint8_t retain_handling = 0;  // 5.0: 0 send, 1 send if new, 2 never
  // 5.0: the SUBSCRIBE's Subscription Identifier, which applies to each of its filters; not
  // written per filter (the codec ignores it), 0 for none.
  std::uint32_t identifier = 0;

  bool operator==(const subscription&) const = default;
};

struct subscribe_packet {
  std::uint16_t packet_id = 0;
  std::vector<subscription> subscriptions;
  properties props;

  bool operator==(const subscribe_packet&) const = default;
};

struct suback_packet {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> reason_codes;  // granted QoS 0..2 or 0x80 (failure) per filter
  properties props;

  bool operator==(const suback_packet&) const = default;
};

struct unsubscribe_packet {
  std::uint16_t packet_id = 0;
  std::vector<std::string> filters;
  properties props;

  bool operator==(const unsubscribe_packet&) const = default;
};

struct unsuback_packet {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> reason_codes;  // 5.0 only; empty on 3.1 / 3.1.1
  properties props;

  bool operator==(const unsuback_packet&) const = default;
};

struct pingreq_packet {
  bool operator==(const pingreq_packet&) const = default;
};
struct pingresp_packet {
  bool operator==(const pingresp_packet&) const = default;
};

struct disconnect_packet {
  std::uint8_t reason_code = 0;  // 5.0 only
  properties props;

  bool operator==(const disconnect_packet&) const = default;
};

struct auth_packet {  // 5.0 only
  std::uint8_t reason_code = 0;
  properties props;

  bool operator==(const auth_packet&) const = default;
};

using packet =
    std::variant<connect_packet, connack_packet, publish_packet, puback_packet, pubrec_packet,
                 pubrel_packet, pubcomp_packet, subscribe_packet, suback_packet, unsubscribe_packet,
                 unsuback_packet, pingreq_packet, pingresp_packet, disconnect_packet, auth_packet>;

packet_type type_of(const packet& p);
const char* name_of(packet_type t);

}  // namespace mqtt
