#pragma once
// Decoding of whole packets whose bytes are all at hand. Never throws on bad input. Splitting a
// byte stream into packets is packet_reader's work (mqtt/packet_reader.hpp).

#include <cstdint>
#include <span>
#include <string_view>

#include "mqtt/decode_error.hpp"
#include "mqtt/packet.hpp"

namespace mqtt {

// Decodes one packet from its first byte and its body (the `remaining length` bytes).
// `version` decides 3.1.1 versus 5.0 layout for every packet but CONNECT, which carries its own.
struct decode_result {
  packet pkt;
  decode_error error = decode_error::none;
};
decode_result decode_packet(std::uint8_t first_byte, std::span<const std::uint8_t> body,
                            protocol_version version);
// A PUBLISH (first_byte >> 4 == 3) into views of `body`, which must outlive `out`.
decode_error decode_publish_view(std::uint8_t first_byte, std::span<const std::uint8_t> body,
                                 protocol_version version, publish_view& out);

// A PUBLISH property list as encode_properties() writes it (length prefix included), read back
// from durable storage. False when it is not exactly that.
bool decode_message_properties(std::string_view wire, properties& out);

}  // namespace mqtt
