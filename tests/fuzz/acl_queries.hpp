#pragma once
// Runs an acl_authorizer over many questions, as the broker core asks them: shared by the ACL
// file and the options fuzz targets, whose rules both end up in one.

#include <string>
#include <string_view>
#include <vector>

#include "addon/acl.hpp"
#include "mqtt/topic.hpp"

namespace fuzz {

// Topics and filters to ask about: those of the rules themselves (which is where matches are),
// `extra` ones from the input, and a few fixed ones; users and client ids likewise, including
// the system users and names that are unsafe to substitute for %u / %c.
inline void ask_acl(const std::vector<addon::acl_rule>& rules, bool enforced,
                    const std::vector<std::string>& extra) {
  const addon::acl_authorizer acl(rules, enforced);
  std::vector<std::string> topics = {"a", "a/b", "$SYS/broker/uptime", "#", "+/b", "a/+/#", "u/c",
                                     "/", "//"};
  std::vector<std::string> names = {"u", "c", "homeassistant", "addons", "", "a+b", "a/b", "#"};
  for (const auto& r : rules) {
    topics.push_back(r.topic);
    names.push_back(r.username);
  }
  for (const auto& e : extra) {
    topics.push_back(e);
    names.push_back(e);
  }
  // Bounded, so a file of many rules costs the fuzzer time on parsing, not on asking.
  if (names.size() > 10) names.erase(names.begin() + 3, names.end() - 7);
  if (topics.size() > 24) topics.erase(topics.begin() + 4, topics.end() - 20);
  volatile int allowed = 0;  // keeps the calls from being optimised away
  for (std::size_t u = 0; u < names.size(); ++u) {
    const broker::client_identity who{names[(u + 1) % names.size()], names[u]};
    for (const auto& t : topics) {
      // The broker asks only about valid names (publish, delivery) and valid filters (subscribe).
      if (mqtt::valid_topic_name(t)) {
        allowed = allowed + acl.can_publish(who, t);
        allowed = allowed + acl.can_receive(who, t);
      }
      if (mqtt::valid_topic_filter(t)) allowed = allowed + acl.can_subscribe(who, t);
    }
  }
}

}  // namespace fuzz
