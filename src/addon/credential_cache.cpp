#include "addon/credential_cache.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

namespace addon {

credential_cache::credential_cache(std::chrono::milliseconds ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(capacity) {
  if (RAND_bytes(secret_, sizeof secret_) != 1) {
    // Without a secret key the keys could be recomputed from a guessed password; refuse.
    throw std::runtime_error("credential cache: no random bytes from OpenSSL");
  }
}

std::string credential_cache::key_of(std::string_view username, std::string_view password) const {
  // Length-prefixed so ("ab", "c") and ("a", "bc") differ.
  std::string message;
  message.reserve(8 + username.size() + password.size());
  const std::uint64_t n = username.size();
  for (int i = 0; i < 8; ++i) message += static_cast<char>((n >> (8 * i)) & 0xff);
  message += username;
  message += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_, sizeof secret_,
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool credential_cache::contains(const std::string& key, clock::time_point now) {
  if (capacity_ == 0) return false;
  std::lock_guard lock(mutex_);
  const auto found = expiry_.find(key);
  if (found == expiry_.end()) return false;
  if (found->second <= now) {
    expiry_.erase(found);
    return false;
  }
  return true;
}

void credential_cache::remember(const std::string& key, clock::time_point now) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  evict_locked(now);
  const clock::time_point until = now + ttl_;
  expiry_[key] = until;
  order_.emplace_back(key, until);
}

void credential_cache::evict_locked(clock::time_point now) {
  // The front is the oldest. An order_ entry whose time differs from expiry_ was superseded by a
  // later remember() of the same key, or already erased: drop it without touching the map.
  while (!order_.empty() && (order_.front().second <= now || expiry_.size() >= capacity_ ||
                             order_.size() > 2 * capacity_)) {
    const auto& [key, until] = order_.front();
    const auto found = expiry_.find(key);
    if (found != expiry_.end() && found->second == until) expiry_.erase(found);
    order_.pop_front();
  }
}

std::size_t credential_cache::size() const {
  std::lock_guard lock(mutex_);
  return expiry_.size();
}

}  // namespace addon
