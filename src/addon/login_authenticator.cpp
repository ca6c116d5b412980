#include "addon/login_authenticator.hpp"

#include <memory>

namespace addon {

login_authenticator::login_authenticator(const system_users& system,
                                         const std::vector<login>& logins, broker::logger& log,
                                         broker::authenticator* fallback,
                                         background_worker* slow_checks)
    : log_(log),
      fallback_(fallback),
      slow_checks_(slow_checks),
      verified_(std::chrono::seconds(60), 10000) {
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

void login_authenticator::check_hashed(const pbkdf2_sha512& hash, const std::string& username,
                                       const std::string& password,
                                       std::function<void(broker::auth_result)> done) {
  std::string key = verified_.key_of(username, password);
  if (verified_.contains(key, credential_cache::clock::now())) {
    done(broker::auth_result::accepted);
    return;
  }
  // Shared so a refused post() can still answer.
  auto reply = std::make_shared<std::function<void(broker::auth_result)>>(std::move(done));
  // `hash` lives in users_, which never changes after construction.
  auto job = [this, &hash, key = std::move(key), password, reply] {
    const bool ok = verify_password(hash, password);
    if (ok) verified_.remember(key, credential_cache::clock::now());
    (*reply)(ok ? broker::auth_result::accepted : broker::auth_result::bad_credentials);
  };
  if (!slow_checks_) {
    job();
    return;
  }
  if (slow_checks_->post(std::move(job))) {
    queue_full_logged_.store(false);
    return;
  }
  if (!queue_full_logged_.exchange(true)) {
    log_.log(broker::log_level::warning,
             "password checks are queued beyond their limit: refusing logins with pre-hashed "
             "passwords as \"server unavailable\" until the queue drains");
  }
  (*reply)(broker::auth_result::unavailable);
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
  if (!who.password) {
    done(broker::auth_result::bad_credentials);
    return;
  }
  if (const auto* plain = std::get_if<std::string>(&found->second)) {
    const bool ok = secrets_equal(*plain, *who.password);
    done(ok ? broker::auth_result::accepted : broker::auth_result::bad_credentials);
    return;
  }
  check_hashed(std::get<pbkdf2_sha512>(found->second), found->first, *who.password,
               std::move(done));
}

}  // namespace addon
