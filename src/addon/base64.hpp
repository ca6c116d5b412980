#pragma once
// Standard base64 (RFC 4648 section 4, with padding), as the Mosquitto add-on's PBKDF2 strings
// carry their salt and hash.

#include <optional>
#include <string>
#include <string_view>

namespace addon {

// Strict: the length must be a multiple of 4, padding only at the end, no whitespace.
// nullopt on anything else.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

}  // namespace addon
