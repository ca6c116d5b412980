#include "addon/hub_authenticator.hpp"

#include <json/json.h>

#include "addon/discovery.hpp"

namespace addon {

using broker::auth_result;
using broker::log_level;

auth_result hub_verdict(const supervisor_response& r) {
  if (r.status == 200) return auth_result::accepted;
  if (r.status == 401 || r.status == 403) return auth_result::bad_credentials;
  return auth_result::unavailable;
}

hub_authenticator::hub_authenticator(supervisor_transport& transport, broker::logger& log,
                                     hub_auth_settings settings)
    : transport_(transport),
      log_(log),
      settings_(settings),
      cache_(settings.cache_ttl, settings.cache_capacity) {}

void hub_authenticator::authenticate(const broker::credentials& who,
                                     std::function<void(auth_result)> done) {
  if (!who.username || who.username->empty()) {
    done(auth_result::not_authorized);
    return;
  }
  // The hub has no user without a password; no need to ask.
  if (!who.password) {
    done(auth_result::bad_credentials);
    return;
  }
  const std::string key = cache_.key_of(*who.username, *who.password);
  if (cache_.contains(key, credential_cache::clock::now())) {
    done(auth_result::accepted);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (const auto found = pending_.find(key); found != pending_.end()) {
      found->second.push_back(std::move(done));  // the same pair is already being asked
      return;
    }
    if (pending_.size() < settings_.max_pending_logins) {
      pending_[key].push_back(std::move(done));
      done = nullptr;
    }
  }
  if (done) {
    log_.log(log_level::warning, who.client_id,
             "hub login refused: " + std::to_string(settings_.max_pending_logins) +
                 " logins are already waiting for the Supervisor");
    done(auth_result::unavailable);
    return;
  }
  Json::Value body(Json::objectValue);
  body["username"] = *who.username;
  body["password"] = *who.password;
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  supervisor_request request{"POST", "/auth", Json::writeString(builder, body), settings_.deadline};
  transport_.send(std::move(request), [this, key, username = *who.username](supervisor_response r) {
    answered(key, username, std::move(r));
  });
}

void hub_authenticator::answered(const std::string& key, const std::string& username,
                                 supervisor_response r) {
  const auth_result verdict = hub_verdict(r);
  if (verdict == auth_result::accepted) cache_.remember(key, credential_cache::clock::now());
  std::vector<std::function<void(auth_result)>> waiters;
  bool log_trouble = false;
  bool log_recovery = false;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = pending_.find(key); found != pending_.end()) {
      waiters = std::move(found->second);
      pending_.erase(found);
    }
    const bool trouble = verdict == auth_result::unavailable;
    log_trouble = trouble && !failing_;
    log_recovery = !trouble && failing_;
    failing_ = trouble;
  }
  if (log_trouble) {
    log_.log(log_level::warning, "hub logins: the Supervisor cannot say (" + describe_failure(r) +
                                     "); hub users are refused with \"server unavailable\" "
                                     "until it answers again");
  } else if (log_recovery) {
    log_.log(log_level::info, "hub logins: the Supervisor answers again");
  }
  if (log_.enabled(log_level::debug)) {
    log_.log(log_level::debug, "hub login for " + username + ": " +
                                   (r.status ? "HTTP " + std::to_string(r.status) : r.error));
  }
  for (auto& waiter : waiters) waiter(verdict);
}

}  // namespace addon
