#pragma once
// Every way a byte stream can fail to be a valid MQTT packet. Decoding never throws: it returns one
// of these, and describe() names the rule that was broken so the log line can say it.

#include <cstdint>

namespace mqtt {

enum class decode_error : std::uint8_t {
  none = 0,
  malformed_remaining_length,   // more than 4 bytes of variable byte integer [MQTT-1.5.5-1]
  packet_too_large,             // remaining length above the configured maximum
  invalid_packet_type,          // type 0, or 15 (AUTH) before 5.0
  invalid_fixed_header_flags,   // reserved flag bits wrong [MQTT-2.2.2-1] [MQTT-2.2.2-2]
  truncated,                    // a field runs past the end of the packet
  trailing_bytes,               // bytes left over after the last field
  invalid_utf8,                 // ill-formed UTF-8 or U+0000 in a string [MQTT-1.5.3-1] [MQTT-1.5.3-2]
  invalid_protocol_name,        // not "MQTT" (level 4/5) or "MQIsdp" (level 3) [MQTT-3.1.2-1]
  unsupported_protocol_level,   // protocol level not 3, 4 or 5 [MQTT-3.1.2-2]
  invalid_connect_flags,        // reserved bit set [MQTT-3.1.2-3] or will flags inconsistent
                                // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]
  password_without_username,    // [MQTT-3.1.2-22] (3.1 / 3.1.1 only)
  invalid_qos,                  // QoS 3 [MQTT-3.3.1-4]
  zero_packet_id,               // packet identifier 0 [MQTT-2.3.1-1]
  empty_subscription_list,      // SUBSCRIBE / UNSUBSCRIBE without a filter [MQTT-3.8.3-3]
                                // [MQTT-3.10.3-2]
  invalid_subscription_options, // reserved bits of the options byte [MQTT-3.8.3-4]
  invalid_property,             // unknown id, wrong for this packet, duplicated, or bad value
  invalid_reason_code,          // 5.0: reason code not allowed for this packet
  unexpected_packet,            // a packet only a server sends (CONNACK, SUBACK, ...)
};

// One line, naming the rule: "QoS 3 is not allowed [MQTT-3.3.1-4]".
const char* describe(decode_error e);

}  // namespace mqtt
