#include "broker/login_throttle.hpp"

#include <algorithm>

namespace broker {

std::string_view host_of(std::string_view remote_address) {
  if (remote_address.starts_with('[')) {
    const std::size_t end = remote_address.find(']');
    if (end != std::string_view::npos) return remote_address.substr(1, end - 1);
  }
  const std::size_t colon = remote_address.rfind(':');
  if (colon == std::string_view::npos) return remote_address;
  return remote_address.substr(0, colon);
}

login_throttle::clock::duration login_throttle::doubling(clock::duration first,
                                                         std::size_t step) const {
  clock::duration d = first;
  for (std::size_t i = 0; i < step && d < config_.max_delay; ++i) d *= 2;
  return std::min<clock::duration>(d, config_.max_delay);
}

std::size_t login_throttle::held(const address_state& a, clock::time_point now) const {
  return static_cast<std::size_t>(std::count_if(a.held_until.begin(), a.held_until.end(),
                                                [now](clock::time_point t) { return t > now; }));
}

login_throttle::user_state* login_throttle::user(std::string_view name, clock::time_point now,
                                                 bool create) {
  if (name.empty()) return nullptr;
  auto it = users_.find(std::string(name));
  if (it == users_.end()) {
    if (!create || users_.size() >= config_.max_tracked) return nullptr;
    it = users_.emplace(std::string(name), user_state{}).first;
  } else if (it->second.checking == 0 && now - it->second.last_seen > config_.forget_after) {
    it->second = user_state{};
  }
  it->second.last_seen = now;
  return &it->second;
}

login_throttle::address_state* login_throttle::address(std::string_view host, clock::time_point now,
                                                       bool create) {
  auto it = addresses_.find(std::string(host));
  if (it == addresses_.end()) {
    if (!create || addresses_.size() >= config_.max_tracked) return nullptr;
    it = addresses_.emplace(std::string(host), address_state{}).first;
  } else if (it->second.checking == 0 && held(it->second, now) == 0 &&
             now - it->second.last_seen > config_.forget_after) {
    it->second = address_state{};
  }
  it->second.last_seen = now;
  return &it->second;
}

namespace {
std::string trust_key(std::string_view user, std::string_view host) {
  std::string key;
  key.reserve(user.size() + 1 + host.size());
  key.append(user).append(1, '\n').append(host);
  return key;
}
}  // namespace

std::optional<login_throttle::clock::time_point> login_throttle::before_check(
    std::string_view user_name, std::string_view host, clock::time_point now) {
  std::lock_guard lock(mutex_);
  user_state* u = user(user_name, now, false);
  address_state* a = address(host, now, false);
  std::optional<clock::time_point> wait;
  const auto later = [&](clock::time_point t) { wait = wait ? std::max(*wait, t) : t; };
  // An address that got this name right before is not held back by guesses from elsewhere.
  const bool trusted = u && trusted_.contains(trust_key(user_name, host));
  // Attempts in progress count as failures to come: a burst in parallel is spaced too.
  if (u && !trusted && u->failures + u->checking >= config_.user_free_failures &&
      now < u->next_check) {
    later(u->next_check);
  }
  if (a && a->failures + a->checking >= config_.address_free_failures) {
    if (held(*a, now) >= config_.address_max_held || a->checking >= config_.address_max_held) {
      // Ask again when the first held refusal goes (or soon, when the limit is the checks).
      clock::time_point first = clock::time_point::max();
      for (clock::time_point t : a->held_until) {
        if (t > now) first = std::min(first, t);
      }
      later(first != clock::time_point::max() ? first : now + std::chrono::milliseconds(50));
    }
  }
  if (wait) return wait;
  if (u || (u = user(user_name, now, true))) {
    if (u->failures + u->checking >= config_.user_free_failures) {
      const std::size_t step = u->failures + u->checking - config_.user_free_failures;
      u->next_check = now + doubling(config_.user_first_spacing, step);
    }
    ++u->checking;
  }
  if (a || (a = address(host, now, true))) ++a->checking;
  return std::nullopt;
}

login_throttle::verdict login_throttle::after_check(std::string_view user_name,
                                                    std::string_view host, bool failed,
                                                    clock::time_point now) {
  std::lock_guard lock(mutex_);
  verdict v;
  if (user_state* u = user(user_name, now, false)) {
    if (u->checking > 0) --u->checking;
    if (!failed) {
      std::string key = trust_key(user_name, host);
      if (!trusted_.contains(key)) {
        // The right password from a new address: the name starts over. (From a trusted one it
        // does not, or every login of the hub would give a guesser free attempts again.)
        *u = user_state{};
        u->last_seen = now;
        if (trusted_.size() < config_.max_tracked) trusted_.insert(std::move(key));
      }
    } else {
      // A wrong password from a trusted address (the password changed, say): trusted no more.
      trusted_.erase(trust_key(user_name, host));
      if (++u->failures == config_.user_free_failures + 1) v.user_now_throttled = true;
    }
  }
  if (address_state* a = address(host, now, false)) {
    if (a->checking > 0) --a->checking;
    if (failed) {
      ++a->failures;
      if (a->failures == config_.address_free_failures + 1) v.address_now_throttled = true;
      if (a->failures > config_.address_free_failures) {
        const std::size_t step = a->failures - config_.address_free_failures - 1;
        v.hold = doubling(config_.address_first_delay, step);
        // Remember it in the slot that frees first.
        auto slot = std::min_element(a->held_until.begin(), a->held_until.end());
        *slot = now + v.hold;
      }
    }
  }
  return v;
}

void login_throttle::forget_idle(clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::erase_if(users_, [&](const auto& entry) {
    return entry.second.checking == 0 && now - entry.second.last_seen > config_.forget_after;
  });
  std::erase_if(addresses_, [&](const auto& entry) {
    return entry.second.checking == 0 && held(entry.second, now) == 0 &&
           now - entry.second.last_seen > config_.forget_after;
  });
}

std::size_t login_throttle::tracked() const {
  std::lock_guard lock(mutex_);
  return users_.size() + addresses_.size();
}

}  // namespace broker
