#include "addon/acl_file.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

TEST(acl_file, reads_users_topics_and_patterns) {
  const acl_file_result r = parse_acl_file(
      "# the Mosquitto add-on's documented example\n"
      "topic read public/#\n"
      "\n"
      "user addons\n"
      "topic readwrite #\n"
      "user alice\n"
      "topic home/#\n"
      "topic write home/commands\n"
      "  topic   deny   home/secret  \r\n"
      "pattern read users/%u/#\n",
      "/share/mosquitto/acl");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.rules.size(), 6u);

  EXPECT_EQ(r.rules[0].scope, acl_scope::anonymous);  // before any `user`
  EXPECT_EQ(r.rules[0].topic, "public/#");
  EXPECT_EQ(r.rules[0].access, acl_access::read);
  EXPECT_EQ(r.rules[0].origin, "/share/mosquitto/acl:2");

  EXPECT_EQ(r.rules[1].scope, acl_scope::user);
  EXPECT_EQ(r.rules[1].username, "addons");
  EXPECT_EQ(r.rules[1].access, acl_access::readwrite);

  EXPECT_EQ(r.rules[2].username, "alice");
  EXPECT_EQ(r.rules[2].topic, "home/#");
  EXPECT_EQ(r.rules[2].access, acl_access::readwrite);  // the default
  EXPECT_FALSE(r.rules[2].substitutes);                 // `topic` lines are literal
  EXPECT_EQ(r.rules[3].access, acl_access::write);
  EXPECT_EQ(r.rules[4].access, acl_access::deny);
  EXPECT_EQ(r.rules[4].topic, "home/secret");

  EXPECT_EQ(r.rules[5].scope, acl_scope::every_user);  // patterns are for every user
  EXPECT_TRUE(r.rules[5].substitutes);
  EXPECT_EQ(r.rules[5].topic, "users/%u/#");
}

TEST(acl_file, a_topic_may_contain_spaces_after_the_access) {
  const acl_file_result r = parse_acl_file("user bob smith\ntopic read living room/lamp\n", "f");
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].username, "bob smith");
  EXPECT_EQ(r.rules[0].topic, "living room/lamp");
}

TEST(acl_file, unknown_keywords_are_warned_once_and_skipped) {
  const acl_file_result r = parse_acl_file("user a\nfoo bar\ntopic x\nfoo baz\ntopic a+b\n", "acl");
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].topic, "x");
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "acl:2: unknown keyword 'foo', line ignored (also later ones)");
  // Mosquitto keeps an invalid filter as a rule that never matches: dropping it is the same.
  EXPECT_NE(r.warnings[1].find("acl:5: 'a+b' is not a valid topic filter"), std::string::npos)
      << r.warnings[1];
}

TEST(acl_file, lines_mosquitto_refuses_are_errors_naming_the_line) {
  EXPECT_EQ(parse_acl_file("user a\ntopic maybe x\n", "acl").error,
            "acl:2: access must be one of read, write, readwrite, deny (got 'maybe')");
  EXPECT_EQ(parse_acl_file("topic\n", "acl").error, "acl:1: `topic` without a topic");
  EXPECT_EQ(parse_acl_file("pattern   \n", "acl").error, "acl:1: `pattern` without a topic");
  EXPECT_EQ(parse_acl_file("\nuser\n", "acl").error, "acl:2: `user` without a user name");
  EXPECT_TRUE(parse_acl_file("user a\ntopic maybe x\n", "acl").rules.empty());
}

TEST(acl_file, empty_and_comment_only_files_have_no_rules) {
  EXPECT_TRUE(parse_acl_file("", "acl").rules.empty());
  const acl_file_result r = parse_acl_file("# only\n   # comments\n\n", "acl");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(acl_file, a_last_line_without_newline_counts) {
  const acl_file_result r = parse_acl_file("user a\ntopic read x/y", "acl");
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].topic, "x/y");
}

}  // namespace
}  // namespace addon
