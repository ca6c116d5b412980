#pragma once
// Remembers, for a short time, user name and password pairs that were just verified, so a
// reconnect storm (every device after a restart) costs neither a Supervisor request nor a PBKDF2
// derivation per CONNECT. Never holds a password: entries are keyed by an HMAC-SHA256 of the pair
// under a random key made for this process. Bounded: the oldest entries go first.

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace addon {

class credential_cache {
 public:
  using clock = std::chrono::steady_clock;

  credential_cache(std::chrono::milliseconds ttl, std::size_t capacity);

  // The opaque key of a pair (32 bytes); equal pairs give equal keys within this cache.
  std::string key_of(std::string_view username, std::string_view password) const;

  // Thread-safe.
  bool contains(const std::string& key, clock::time_point now);
  void remember(const std::string& key, clock::time_point now);
  std::size_t size() const;

 private:
  void evict_locked(clock::time_point now);

  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  unsigned char secret_[32];
  mutable std::mutex mutex_;
  std::unordered_map<std::string, clock::time_point> expiry_;    // key -> when it lapses
  std::deque<std::pair<std::string, clock::time_point>> order_;  // insertion (= expiry) order
};

}  // namespace addon
