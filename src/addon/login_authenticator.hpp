#pragma once
// Decides a CONNECT's credentials for the users the broker knows itself: the two system users and
// the `logins` option. Anonymous clients are always refused (CONTRACT.md). A user it does not know
// goes to the fallback authenticator when there is one (the Supervisor's /auth, for hub users),
// else is refused.

#include <atomic>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "addon/background_worker.hpp"
#include "addon/credential_cache.hpp"
#include "addon/options.hpp"
#include "addon/password_hash.hpp"
#include "addon/system_users.hpp"
#include "broker/authenticator.hpp"
#include "broker/logger.hpp"

namespace addon {

class login_authenticator : public broker::authenticator {
 public:
  // `logins` must be validated options (pre-hashed passwords parse). `fallback` (hub users) and
  // `slow_checks` (where PBKDF2 derivations run), if not null, must outlive this object; stop the
  // worker before destroying it.
  login_authenticator(const system_users& system, const std::vector<login>& logins,
                      broker::logger& log, broker::authenticator* fallback = nullptr,
                      background_worker* slow_checks = nullptr);

  // Thread-safe (the user table is immutable). Plain passwords and pre-hashed ones verified in
  // the last minute are decided at once: `done` runs before this returns. Other pre-hashed ones
  // cost a PBKDF2 derivation (tens of ms): on `slow_checks` when there is one (`done` then runs
  // there; a full queue answers "server unavailable"), else on this thread.
  void authenticate(const broker::credentials& who,
                    std::function<void(broker::auth_result)> done) override;

  std::size_t cached() const { return verified_.size(); }

 private:
  using secret = std::variant<std::string, pbkdf2_sha512>;  // plain, or pre-hashed

  void check_hashed(const pbkdf2_sha512& hash, const std::string& username,
                    const std::string& password, std::function<void(broker::auth_result)> done);

  std::unordered_map<std::string, secret> users_;
  broker::logger& log_;
  broker::authenticator* fallback_;
  background_worker* slow_checks_;
  credential_cache verified_;  // pre-hashed logins that matched recently
  std::atomic<bool> queue_full_logged_{false};
};

}  // namespace addon
