#include "addon/access_control.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace addon {
namespace {

namespace fs = std::filesystem;

class access_control_test : public ::testing::Test {
 protected:
  void SetUp() override {
    share_ = fs::temp_directory_path() / ("addon_acl_test_" + std::to_string(::getpid()));
    fs::remove_all(share_);
    fs::create_directories(share_ / "mosquitto");
  }
  void TearDown() override { fs::remove_all(share_); }

  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((share_ / relative).parent_path());
    std::ofstream(share_ / relative) << text;
  }
  options customized() {
    options o;
    o.customize.active = true;
    return o;
  }
  broker::client_identity as(std::string_view user) { return {"c", user}; }

  fs::path share_;
};

TEST_F(access_control_test, no_rules_and_no_customize_is_full_access) {
  const access_control_result r = load_access_control(options{}, share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_FALSE(r.acl->enforced());
  EXPECT_TRUE(r.acl->can_publish(as("anyone"), "x"));
  EXPECT_EQ(r.summary, "access control: no rules, every user may use every topic");
}

TEST_F(access_control_test, share_paths_resolve_against_the_share_dir) {
  // What Mosquitto add-on users have: an absolute /share path in a .conf file.
  write("mosquitto/acl.conf", "acl_file /share/mosquitto/accesscontrollist\n");
  write("mosquitto/accesscontrollist", "user alice\ntopic readwrite home/#\n");
  const access_control_result r = load_access_control(customized(), share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_TRUE(r.acl->enforced());
  EXPECT_TRUE(r.acl->can_publish(as("alice"), "home/x"));
  EXPECT_FALSE(r.acl->can_publish(as("alice"), "garden/x"));
  EXPECT_NE(r.summary.find((share_ / "mosquitto" / "accesscontrollist").string()),
            std::string::npos)
      << r.summary;
}

TEST_F(access_control_test, relative_paths_resolve_against_the_folder) {
  write("custom/z.conf", "acl_file rules/acl\n");
  write("custom/rules/acl", "user bob\ntopic read x\n");
  options o = customized();
  o.customize.folder = "custom";
  const access_control_result r = load_access_control(o, share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_TRUE(r.acl->can_receive(as("bob"), "x"));
  EXPECT_FALSE(r.acl->can_publish(as("bob"), "x"));
}

TEST_F(access_control_test, option_rules_and_file_rules_combine) {
  write("mosquitto/acl.conf", "acl_file acl\n");
  write("mosquitto/acl", "user bob\ntopic b/#\n");
  options o = customized();
  acl_rule rule;
  rule.scope = acl_scope::user;
  rule.username = "alice";
  rule.topic = "a/#";
  rule.access = acl_access::readwrite;
  o.acl.push_back(rule);
  const access_control_result r = load_access_control(o, share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_TRUE(r.acl->can_publish(as("alice"), "a/1"));
  EXPECT_FALSE(r.acl->can_publish(as("alice"), "b/1"));
  EXPECT_TRUE(r.acl->can_publish(as("bob"), "b/1"));
  EXPECT_FALSE(r.acl->can_publish(as("bob"), "a/1"));
}

TEST_F(access_control_test, unsupported_directives_are_warned_once_each) {
  write("mosquitto/a.conf", "# comment\nallow_anonymous false\nlistener 1885\n");
  write("mosquitto/b.conf", "listener 1886\npassword_file /x\n");
  write("mosquitto/ignored.txt", "acl_file /nonexistent\n");  // not a .conf file
  const access_control_result r = load_access_control(customized(), share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_FALSE(r.acl->enforced());
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_NE(r.warnings[0].find("a.conf:2: 'allow_anonymous' is not supported"), std::string::npos)
      << r.warnings[0];
  EXPECT_NE(r.warnings[1].find("a.conf:3: 'listener' is not supported"), std::string::npos);
  EXPECT_NE(r.warnings[2].find("b.conf:2: 'password_file' is not supported"), std::string::npos);
}

TEST_F(access_control_test, an_unreadable_acl_file_stops_the_start) {
  write("mosquitto/acl.conf", "acl_file /share/mosquitto/missing\n");
  const access_control_result r = load_access_control(customized(), share_.string());
  EXPECT_FALSE(r.acl);
  EXPECT_NE(r.error.find("cannot read the acl_file " + (share_ / "mosquitto/missing").string()),
            std::string::npos)
      << r.error;
}

TEST_F(access_control_test, an_invalid_acl_file_stops_the_start) {
  write("mosquitto/acl.conf", "acl_file acl\n");
  write("mosquitto/acl", "user a\ntopic sometimes x\n");
  const access_control_result r = load_access_control(customized(), share_.string());
  EXPECT_FALSE(r.acl);
  EXPECT_NE(r.error.find("acl:2: access must be one of"), std::string::npos) << r.error;
}

TEST_F(access_control_test, an_empty_acl_file_enforces_with_a_warning) {
  write("mosquitto/acl.conf", "acl_file acl\n");
  write("mosquitto/acl", "user alice\n");
  const access_control_result r = load_access_control(customized(), share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_TRUE(r.acl->enforced());
  EXPECT_FALSE(r.acl->can_publish(as("alice"), "x"));
  EXPECT_TRUE(r.acl->can_publish(as("homeassistant"), "x"));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("holds no rules"), std::string::npos);
}

TEST_F(access_control_test, a_missing_folder_is_a_warning) {
  options o = customized();
  o.customize.folder = "absent";
  const access_control_result r = load_access_control(o, share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("is not a folder"), std::string::npos);
}

TEST_F(access_control_test, customize_inactive_reads_nothing) {
  write("mosquitto/acl.conf", "acl_file /share/mosquitto/missing\n");
  const access_control_result r = load_access_control(options{}, share_.string());
  ASSERT_TRUE(r.acl) << r.error;
  EXPECT_FALSE(r.acl->enforced());
  EXPECT_TRUE(r.warnings.empty());
}

}  // namespace
}  // namespace addon
