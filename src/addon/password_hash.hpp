#pragma once
// Passwords stored the way the Mosquitto add-on writes them for `password_pre_hashed`:
// "PBKDF2$sha512$<iterations>$<salt base64>$<hash base64>".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace addon {

struct pbkdf2_sha512 {
  std::uint32_t iterations = 0;
  std::string salt;  // decoded bytes
  std::string key;   // decoded bytes; its length is the derived key length
};

struct pbkdf2_parse_result {
  std::optional<pbkdf2_sha512> hash;
  std::string error;  // what is wrong, when hash is empty
};

pbkdf2_parse_result parse_pbkdf2_sha512(std::string_view text);

// Derives the key from `password` and compares it in constant time.
bool verify_password(const pbkdf2_sha512& hash, std::string_view password);

// Compares two secrets without leaking where they differ, nor (through timing) their lengths.
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace addon
