#include "addon/login_authenticator.hpp"

namespace addon {

login_authenticator::login_authenticator(const system_users& system,
                                         const std::vector<login>& logins, broker::logger& log,
                                         broker::authenticator* fallback)
    : log_(log), fallback_(fallback) {
  users_.emplace(std::string(homeassistant_user_name), system.homeassistant_password);
  users_.emplace(std::string(addons_user_name), system.addons_password);
  for (const login& entry : logins) {
    if (!entry.password_pre_hashed) {
      users_.emplace(entry.username, entry.password);
      continue;
    }
    pbkdf2_parse_result parsed = parse_pbkdf2_sha512(entry.password);
    if (parsed.hash) {
      users_.emplace(entry.username, std::move(*parsed.hash));
    } else {
      // Options validation rejects this before we get here; refuse the user rather than guess.
      log_.log(broker::log_level::error,
               "login " + entry.username + ": unusable pre-hashed password: " + parsed.error);
    }
  }
}

bool login_authenticator::matches(const secret& expected, const std::string& password) const {
  if (const auto* plain = std::get_if<std::string>(&expected)) {
    return secrets_equal(*plain, password);
  }
  return verify_password(std::get<pbkdf2_sha512>(expected), password);
}

void login_authenticator::authenticate(const broker::credentials& who,
                                       std::function<void(broker::auth_result)> done) {
  // An empty user name is as anonymous as none at all.
  if (!who.username || who.username->empty()) {
    done(broker::auth_result::not_authorized);
    return;
  }
  const auto found = users_.find(*who.username);
  if (found == users_.end()) {
    if (fallback_) {
      fallback_->authenticate(who, std::move(done));
      return;
    }
    done(broker::auth_result::bad_credentials);
    return;
  }
  const bool ok = who.password && matches(found->second, *who.password);
  done(ok ? broker::auth_result::accepted : broker::auth_result::bad_credentials);
}

}  // namespace addon
