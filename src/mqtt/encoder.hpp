#pragma once
// Encoding appends to a caller-owned buffer, so a writer can gather many packets into one write.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/packet.hpp"

namespace mqtt {

// Appends the whole packet, as `version` lays it out, to `out`. A CONNECT is written for
// `version` too ("MQIsdp"/3, "MQTT"/4 or "MQTT"/5); its own `version` field is not consulted.
void encode(const packet& p, protocol_version version, std::string& out);

// Appends the fixed header and topic name of a PUBLISH whose variable header continues with
// `tail_size` more bytes (packet identifier for QoS > 0, then 5.0 properties, written by the
// caller) followed by `payload_size` bytes of payload. Lets fan-out share one payload buffer
// among every subscriber and build only these few bytes per subscriber.
void encode_publish_head(std::string_view topic, qos q, bool retain, bool dup,
                         std::size_t tail_size, std::size_t payload_size, std::string& out);

// Variable byte integer [MQTT-1.5.5]; values above 268,435,455 are a caller error.
void encode_varint(std::uint32_t value, std::string& out);
std::size_t varint_size(std::uint32_t value);

// 5.0 properties including their length prefix.
void encode_properties(const properties& props, std::string& out);
std::size_t properties_size(const properties& props);  // with the length prefix
// The properties alone, without the length prefix: lets a sender splice a list encoded once
// (a message's forwarded properties) with a few of its own behind one length it writes itself.
void encode_property_list(const properties& props, std::string& out);

}  // namespace mqtt
