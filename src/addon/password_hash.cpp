#include "addon/password_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <charconv>
#include <vector>

#include "addon/base64.hpp"

namespace addon {

namespace {

// A typo like an extra digit must not freeze the I/O thread that checks the login for minutes.
constexpr std::uint32_t max_iterations = 10'000'000;
constexpr std::size_t max_key_bytes = 1024;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

}  // namespace

pbkdf2_parse_result parse_pbkdf2_sha512(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, '$');
  if (parts.size() != 5) {
    return {std::nullopt, "it does not have five parts separated by $"};
  }
  if (parts[0] != "PBKDF2") return {std::nullopt, "it does not start with PBKDF2"};
  if (parts[1] != "sha512")
    return {std::nullopt, "its digest is not sha512, the only one supported"};

  std::uint32_t iterations = 0;
  const auto [end, ec] =
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), iterations);
  if (ec != std::errc() || end != parts[2].data() + parts[2].size() || parts[2].empty() ||
      iterations == 0 || iterations > max_iterations) {
    return {std::nullopt,
            "its iterations are not a whole number from 1 to " + std::to_string(max_iterations)};
  }
  std::optional<std::string> salt = decode_base64(parts[3]);
  if (!salt || salt->empty()) return {std::nullopt, "its salt is not non-empty standard base64"};
  std::optional<std::string> key = decode_base64(parts[4]);
  if (!key || key->empty() || key->size() > max_key_bytes) {
    return {std::nullopt, "its hash is not non-empty standard base64 of at most 1024 bytes"};
  }
  return {pbkdf2_sha512{iterations, std::move(*salt), std::move(*key)}, {}};
}

bool verify_password(const pbkdf2_sha512& hash, std::string_view password) {
  std::vector<unsigned char> derived(hash.key.size());
  const int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(hash.salt.data()),
                        static_cast<int>(hash.salt.size()), static_cast<int>(hash.iterations),
                        EVP_sha512(), static_cast<int>(derived.size()), derived.data());
  if (ok != 1) return false;
  return CRYPTO_memcmp(derived.data(), hash.key.data(), derived.size()) == 0;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  // Comparing digests keeps the time independent of both contents and lengths.
  unsigned char da[SHA512_DIGEST_LENGTH];
  unsigned char db[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA512(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

}  // namespace addon
