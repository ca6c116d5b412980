#pragma once
// Access control from the `acl` option and Mosquitto acl_files, enforced by the broker core at
// publish, subscribe and per-message delivery.
//
// The semantics follow Mosquitto's acl_file check (security_default.c):
// - `homeassistant` and `addons` always have full access (the Mosquitto add-on makes both
//   superusers, so no ACL can lock out the hub or the other add-ons).
// - With no rules at all (and no acl_file) every user has full access; once there are rules, what
//   no rule allows is denied.
// - Rules form two tiers checked in order: the user's own rules (`acl` entries naming the user,
//   acl_file `user` blocks), then the rules for every user (`acl` entries without a user name,
//   acl_file `pattern` lines). Within a tier a matching `deny` wins over any allow; an allow in
//   the first tier is final (as in Mosquitto, a pattern deny does not undo a user's own allow).
// - Publishing needs `write` or `readwrite` on a rule whose filter matches the topic; receiving a
//   message needs `read` or `readwrite`.
// - %u and %c in a substituting rule become the user name and client id. When either contains
//   '+', '#' or '/', the substitution could widen the rule or reach another user's topics, so
//   such an allow rule matches nothing and such a deny rule matches everything (Mosquitto denies
//   these clients outright once patterns exist).
// - Topics starting with '$' only match rules whose filter starts with '$' ([MQTT-4.7.2-1];
//   Mosquitto skips rules not starting with '$' for them).
// - SUBSCRIBE: Mosquitto's acl_file never refuses one and only filters delivery. Here a filter is
//   refused (SUBACK 0x80) when no topic it can match could be readable: allowed when, in the
//   first tier that decides, no deny rule covers the whole filter and some read rule overlaps it.
//   Delivery still checks every message, so a subscriber to '#' sees only readable topics.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "addon/acl_rule.hpp"
#include "broker/authorizer.hpp"

namespace addon {

class acl_authorizer : public broker::authorizer {
 public:
  // `enforced`: rules apply. False only when there are no rules and no acl_file; then every user
  // has full access. An enforced ACL with no rules denies every user but the system users.
  acl_authorizer(const std::vector<acl_rule>& rules, bool enforced);
  ~acl_authorizer() override;

  bool enforced() const { return enforced_; }

  // Thread-safe (immutable after construction); no allocation for rules without %u/%c.
  bool can_publish(const broker::client_identity& who, std::string_view topic) const override;
  bool can_subscribe(const broker::client_identity& who, std::string_view filter) const override;
  bool can_receive(const broker::client_identity& who, std::string_view topic) const override;

  struct compiled_rule;
  struct rule_tier;

 private:
  bool check_topic(const broker::client_identity& who, std::string_view topic,
                   bool need_write) const;
  const rule_tier* user_tier(std::string_view username) const;

  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  bool enforced_;
  std::unordered_map<std::string, std::unique_ptr<rule_tier>, string_hash, std::equal_to<>>
      by_user_;
  std::unique_ptr<rule_tier> anonymous_;
  std::unique_ptr<rule_tier> every_user_;
};

}  // namespace addon
