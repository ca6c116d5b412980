#include "addon/acl.hpp"

#include "addon/filter_relations.hpp"
#include "addon/system_users.hpp"
#include "mqtt/topic.hpp"

namespace addon {

namespace {

bool needs_substitution(std::string_view topic) {
  return topic.find("%u") != std::string_view::npos || topic.find("%c") != std::string_view::npos;
}

// A value that would change the filter's structure when pasted into it.
bool unsafe_for_substitution(std::string_view value) {
  return value.empty() || value.find_first_of("+#/") != std::string_view::npos;
}

}  // namespace

struct acl_authorizer::compiled_rule {
  std::string filter;
  bool substitutes = false;  // filter holds %u / %c
  bool deny = false;
  bool read = false;
  bool write = false;

  // The filter for this client, in `scratch` when substituted. False when the client's name or
  // id cannot be substituted safely.
  bool filter_for(const broker::client_identity& who, std::string& scratch,
                  std::string_view& out) const {
    if (!substitutes) {
      out = filter;
      return true;
    }
    scratch.clear();
    for (std::size_t i = 0; i < filter.size(); ++i) {
      if (filter[i] == '%' && i + 1 < filter.size() &&
          (filter[i + 1] == 'u' || filter[i + 1] == 'c')) {
        const std::string_view value = filter[i + 1] == 'u' ? who.username : who.client_id;
        if (unsafe_for_substitution(value)) return false;
        scratch += value;
        ++i;
      } else {
        scratch += filter[i];
      }
    }
    out = scratch;
    return true;
  }
};

struct acl_authorizer::rule_tier {
  std::vector<compiled_rule> denies;
  std::vector<compiled_rule> allows;
};

namespace {

enum class verdict { allow, deny, undecided };

template <typename Tier>
verdict decide_topic(const Tier& tier, const broker::client_identity& who, std::string_view topic,
                     bool need_write) {
  thread_local std::string scratch;
  std::string_view filter;
  for (const auto& rule : tier.denies) {
    // A deny whose substitution is unsafe matches everything: fail closed.
    if (!rule.filter_for(who, scratch, filter)) return verdict::deny;
    if (mqtt::topic_matches(filter, topic)) return verdict::deny;
  }
  for (const auto& rule : tier.allows) {
    if (need_write ? !rule.write : !rule.read) continue;
    if (!rule.filter_for(who, scratch, filter)) continue;
    if (mqtt::topic_matches(filter, topic)) return verdict::allow;
  }
  return verdict::undecided;
}

template <typename Tier>
verdict decide_subscription(const Tier& tier, const broker::client_identity& who,
                            std::string_view subscription) {
  thread_local std::string scratch;
  std::string_view filter;
  for (const auto& rule : tier.denies) {
    if (!rule.filter_for(who, scratch, filter)) return verdict::deny;
    if (filter_covers(filter, subscription)) return verdict::deny;
  }
  for (const auto& rule : tier.allows) {
    if (!rule.read) continue;
    if (!rule.filter_for(who, scratch, filter)) continue;
    if (filters_overlap(filter, subscription)) return verdict::allow;
  }
  return verdict::undecided;
}

bool is_system_user(std::string_view username) {
  return username == homeassistant_user_name || username == addons_user_name;
}

}  // namespace

acl_authorizer::acl_authorizer(const std::vector<acl_rule>& rules, bool enforced)
    : enforced_(enforced || !rules.empty()),
      anonymous_(std::make_unique<rule_tier>()),
      every_user_(std::make_unique<rule_tier>()) {
  for (const acl_rule& r : rules) {
    rule_tier* tier = nullptr;
    switch (r.scope) {
      case acl_scope::user: {
        auto& slot = by_user_[r.username];
        if (!slot) slot = std::make_unique<rule_tier>();
        tier = slot.get();
        break;
      }
      case acl_scope::every_user:
        tier = every_user_.get();
        break;
      case acl_scope::anonymous:
        tier = anonymous_.get();
        break;
    }
    compiled_rule c;
    c.filter = r.topic;
    c.substitutes = r.substitutes && needs_substitution(r.topic);
    c.deny = r.access == acl_access::deny;
    c.read = r.access == acl_access::read || r.access == acl_access::readwrite;
    c.write = r.access == acl_access::write || r.access == acl_access::readwrite;
    (c.deny ? tier->denies : tier->allows).push_back(std::move(c));
  }
}

acl_authorizer::~acl_authorizer() = default;

const acl_authorizer::rule_tier* acl_authorizer::user_tier(std::string_view username) const {
  // Clients without a user name are refused at CONNECT; the anonymous rules exist for them.
  if (username.empty()) return anonymous_.get();
  const auto found = by_user_.find(username);
  return found == by_user_.end() ? nullptr : found->second.get();
}

bool acl_authorizer::check_topic(const broker::client_identity& who, std::string_view topic,
                                 bool need_write) const {
  if (!enforced_ || is_system_user(who.username)) return true;
  if (const rule_tier* own = user_tier(who.username)) {
    if (const verdict v = decide_topic(*own, who, topic, need_write); v != verdict::undecided) {
      return v == verdict::allow;
    }
  }
  return decide_topic(*every_user_, who, topic, need_write) == verdict::allow;
}

bool acl_authorizer::can_publish(const broker::client_identity& who, std::string_view topic) const {
  return check_topic(who, topic, true);
}

bool acl_authorizer::can_receive(const broker::client_identity& who, std::string_view topic) const {
  return check_topic(who, topic, false);
}

bool acl_authorizer::can_subscribe(const broker::client_identity& who,
                                   std::string_view filter) const {
  if (!enforced_ || is_system_user(who.username)) return true;
  if (const rule_tier* own = user_tier(who.username)) {
    if (const verdict v = decide_subscription(*own, who, filter); v != verdict::undecided) {
      return v == verdict::allow;
    }
  }
  return decide_subscription(*every_user_, who, filter) == verdict::allow;
}

}  // namespace addon
