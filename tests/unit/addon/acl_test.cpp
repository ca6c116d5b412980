#include "addon/acl.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

acl_rule user_rule(std::string user, std::string topic, acl_access access) {
  acl_rule r;
  r.scope = acl_scope::user;
  r.username = std::move(user);
  r.topic = std::move(topic);
  r.access = access;
  return r;
}

acl_rule every_user_rule(std::string topic, acl_access access) {
  acl_rule r;
  r.scope = acl_scope::every_user;
  r.topic = std::move(topic);
  r.access = access;
  return r;
}

broker::client_identity as(std::string_view user, std::string_view client = "client-1") {
  return {client, user};
}

TEST(acl, without_rules_everyone_may_do_everything) {
  const acl_authorizer acl({}, false);
  EXPECT_FALSE(acl.enforced());
  EXPECT_TRUE(acl.can_publish(as("alice"), "any/topic"));
  EXPECT_TRUE(acl.can_subscribe(as("alice"), "#"));
  EXPECT_TRUE(acl.can_receive(as("alice"), "$SYS/broker/uptime"));
}

TEST(acl, once_rules_exist_what_no_rule_allows_is_denied) {
  const acl_authorizer acl({user_rule("alice", "home/#", acl_access::readwrite)}, false);
  EXPECT_TRUE(acl.enforced());
  EXPECT_TRUE(acl.can_publish(as("alice"), "home/light"));
  EXPECT_TRUE(acl.can_receive(as("alice"), "home"));
  EXPECT_FALSE(acl.can_publish(as("alice"), "garden/light"));
  EXPECT_FALSE(acl.can_receive(as("alice"), "garden/light"));
  // A user without rules of their own gets nothing.
  EXPECT_FALSE(acl.can_publish(as("bob"), "home/light"));
  EXPECT_FALSE(acl.can_receive(as("bob"), "home/light"));
  EXPECT_FALSE(acl.can_subscribe(as("bob"), "home/#"));
}

TEST(acl, an_acl_file_without_rules_still_denies) {
  const acl_authorizer acl({}, true);
  EXPECT_TRUE(acl.enforced());
  EXPECT_FALSE(acl.can_publish(as("alice"), "a"));
  EXPECT_TRUE(acl.can_publish(as("homeassistant"), "a"));
}

TEST(acl, system_users_always_have_full_access) {
  const acl_authorizer acl(
      {user_rule("homeassistant", "#", acl_access::deny),
       user_rule("addons", "#", acl_access::deny), every_user_rule("#", acl_access::deny)},
      false);
  for (const char* user : {"homeassistant", "addons"}) {
    EXPECT_TRUE(acl.can_publish(as(user), "homeassistant/status")) << user;
    EXPECT_TRUE(acl.can_subscribe(as(user), "#")) << user;
    EXPECT_TRUE(acl.can_receive(as(user), "$SYS/broker/uptime")) << user;
  }
  EXPECT_FALSE(acl.can_publish(as("alice"), "x"));
}

TEST(acl, read_and_write_are_separate) {
  const acl_authorizer acl({user_rule("alice", "sensors/#", acl_access::read),
                            user_rule("alice", "commands/#", acl_access::write)},
                           false);
  EXPECT_TRUE(acl.can_receive(as("alice"), "sensors/t"));
  EXPECT_FALSE(acl.can_publish(as("alice"), "sensors/t"));
  EXPECT_TRUE(acl.can_publish(as("alice"), "commands/x"));
  EXPECT_FALSE(acl.can_receive(as("alice"), "commands/x"));
  EXPECT_TRUE(acl.can_subscribe(as("alice"), "sensors/+"));
  EXPECT_FALSE(acl.can_subscribe(as("alice"), "commands/#"));  // nothing there is readable
}

TEST(acl, deny_wins_over_allows_in_any_order) {
  const acl_authorizer acl({user_rule("alice", "#", acl_access::readwrite),
                            user_rule("alice", "secret/#", acl_access::deny),
                            user_rule("alice", "secret/open", acl_access::readwrite)},
                           false);
  EXPECT_TRUE(acl.can_publish(as("alice"), "public"));
  EXPECT_FALSE(acl.can_publish(as("alice"), "secret/x"));
  EXPECT_FALSE(acl.can_receive(as("alice"), "secret/open"));
  EXPECT_FALSE(acl.can_subscribe(as("alice"), "secret/+"));  // wholly denied
  EXPECT_TRUE(acl.can_subscribe(as("alice"), "#"));          // partly readable
}

TEST(acl, a_users_own_allow_is_final_before_rules_for_everyone) {
  // Mosquitto checks the user's own list, then the patterns: a pattern deny does not undo it.
  const acl_authorizer acl({user_rule("alice", "shared/#", acl_access::readwrite),
                            every_user_rule("shared/#", acl_access::deny),
                            every_user_rule("public/#", acl_access::readwrite)},
                           false);
  EXPECT_TRUE(acl.can_publish(as("alice"), "shared/x"));
  EXPECT_FALSE(acl.can_publish(as("bob"), "shared/x"));
  EXPECT_TRUE(acl.can_publish(as("alice"), "public/x"));  // undecided by her own, then everyone's
  EXPECT_TRUE(acl.can_publish(as("bob"), "public/x"));
}

TEST(acl, a_users_own_deny_is_final_too) {
  const acl_authorizer acl({user_rule("alice", "public/secret", acl_access::deny),
                            every_user_rule("public/#", acl_access::readwrite)},
                           false);
  EXPECT_FALSE(acl.can_publish(as("alice"), "public/secret"));
  EXPECT_TRUE(acl.can_publish(as("alice"), "public/other"));
  EXPECT_TRUE(acl.can_publish(as("bob"), "public/secret"));
}

TEST(acl, percent_u_and_percent_c_are_the_user_and_client) {
  const acl_authorizer acl({every_user_rule("users/%u/#", acl_access::readwrite),
                            every_user_rule("clients/%c/status", acl_access::write)},
                           false);
  EXPECT_TRUE(acl.can_publish(as("alice", "lamp"), "users/alice/x"));
  EXPECT_FALSE(acl.can_publish(as("alice", "lamp"), "users/bob/x"));
  EXPECT_TRUE(acl.can_publish(as("alice", "lamp"), "clients/lamp/status"));
  EXPECT_FALSE(acl.can_publish(as("alice", "lamp"), "clients/fan/status"));
  EXPECT_TRUE(acl.can_subscribe(as("bob"), "users/bob/+"));
  EXPECT_FALSE(acl.can_subscribe(as("bob"), "users/alice/+"));
  EXPECT_TRUE(acl.can_subscribe(as("bob"), "users/+/x"));  // overlaps users/bob/x
}

TEST(acl, names_with_wildcards_or_slashes_are_never_substituted) {
  const acl_authorizer acl({every_user_rule("users/%u/#", acl_access::readwrite),
                            every_user_rule("free/#", acl_access::readwrite),
                            every_user_rule("blocked/%c", acl_access::deny)},
                           false);
  // "#" as a user name would otherwise turn the rule into users/#/#-like access.
  EXPECT_FALSE(acl.can_publish(as("+"), "users/bob/x"));
  EXPECT_FALSE(acl.can_publish(as("a/b"), "users/a/b/x"));
  EXPECT_FALSE(acl.can_subscribe(as("#"), "users/#"));
  // A deny that cannot be substituted safely denies everything, failing closed.
  EXPECT_FALSE(acl.can_publish(as("carol", "dev/1"), "free/x"));
  EXPECT_TRUE(acl.can_publish(as("carol", "dev-1"), "free/x"));
}

TEST(acl, dollar_topics_need_a_rule_that_starts_with_dollar) {
  const acl_authorizer acl({user_rule("alice", "#", acl_access::readwrite),
                            user_rule("bob", "$SYS/#", acl_access::read)},
                           false);
  EXPECT_FALSE(acl.can_receive(as("alice"), "$SYS/broker/uptime"));
  EXPECT_FALSE(acl.can_subscribe(as("alice"), "$SYS/#"));
  EXPECT_TRUE(acl.can_receive(as("bob"), "$SYS/broker/uptime"));
  EXPECT_TRUE(acl.can_subscribe(as("bob"), "$SYS/broker/+"));
  EXPECT_FALSE(acl.can_subscribe(as("bob"), "#"));  // '#' never delivers $SYS [MQTT-4.7.2-1]
}

TEST(acl, anonymous_rules_apply_only_without_a_user_name) {
  acl_rule anon;
  anon.scope = acl_scope::anonymous;
  anon.topic = "open/#";
  anon.substitutes = false;
  const acl_authorizer acl({anon}, false);
  EXPECT_TRUE(acl.can_publish(as(""), "open/x"));
  EXPECT_FALSE(acl.can_publish(as("alice"), "open/x"));
}

TEST(acl, literal_rules_do_not_substitute) {
  acl_rule r = user_rule("alice", "users/%u", acl_access::readwrite);
  r.substitutes = false;  // a Mosquitto `topic` line
  const acl_authorizer acl({r}, false);
  EXPECT_TRUE(acl.can_publish(as("alice"), "users/%u"));
  EXPECT_FALSE(acl.can_publish(as("alice"), "users/alice"));
}

TEST(acl_rule_topic, placeholders_must_keep_the_filter_valid) {
  EXPECT_TRUE(valid_acl_topic("users/%u/#", true));
  EXPECT_TRUE(valid_acl_topic("a/%c-x", true));
  EXPECT_FALSE(valid_acl_topic("a/#/b", true));
  EXPECT_FALSE(valid_acl_topic("a+", false));
  EXPECT_FALSE(valid_acl_topic("", true));
}

TEST(acl_access_names, are_the_four_of_the_option) {
  EXPECT_EQ(parse_acl_access("read"), acl_access::read);
  EXPECT_EQ(parse_acl_access("write"), acl_access::write);
  EXPECT_EQ(parse_acl_access("readwrite"), acl_access::readwrite);
  EXPECT_EQ(parse_acl_access("deny"), acl_access::deny);
  EXPECT_FALSE(parse_acl_access("Read"));
  EXPECT_FALSE(parse_acl_access("none"));
}

}  // namespace
}  // namespace addon
