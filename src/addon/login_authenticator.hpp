#pragma once
// Decides a CONNECT's credentials for the users the broker knows itself: the two system users and
// the `logins` option. Anonymous clients are always refused (CONTRACT.md). A user it does not know
// goes to the fallback authenticator when there is one (the Supervisor's /auth, for hub users),
// else is refused.

#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "addon/options.hpp"
#include "addon/password_hash.hpp"
#include "addon/system_users.hpp"
#include "broker/authenticator.hpp"
#include "broker/logger.hpp"

namespace addon {

class login_authenticator : public broker::authenticator {
 public:
  // `logins` must be validated options (pre-hashed passwords parse). `fallback`, if not null,
  // must outlive this object.
  login_authenticator(const system_users& system, const std::vector<login>& logins,
                      broker::logger& log, broker::authenticator* fallback = nullptr);

  // Thread-safe (the user table is immutable). Local users are decided synchronously: `done`
  // runs before this returns. A pre-hashed password costs its PBKDF2 iterations on this thread.
  void authenticate(const broker::credentials& who,
                    std::function<void(broker::auth_result)> done) override;

 private:
  using secret = std::variant<std::string, pbkdf2_sha512>;  // plain, or pre-hashed

  bool matches(const secret& expected, const std::string& password) const;

  std::unordered_map<std::string, secret> users_;
  broker::logger& log_;
  broker::authenticator* fallback_;
};

}  // namespace addon
