#include "addon/options.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace addon {
namespace {

constexpr const char* valid_hash = "PBKDF2$sha512$7$AAEC/w==$sszEUJS+6knU0NGosX5grITl2Tg=";

options parse_ok(const std::string& text) {
  options_result r = parse_options(text);
  EXPECT_TRUE(r.value) << r.error;
  return r.value.value_or(options{});
}

std::string parse_error(const std::string& text) {
  options_result r = parse_options(text);
  EXPECT_FALSE(r.value) << text;
  return r.error;
}

TEST(options, empty_object_gives_every_default) {
  const options o = parse_ok("{}");
  EXPECT_TRUE(o.logins.empty());
  EXPECT_FALSE(o.require_certificate);
  EXPECT_EQ(o.certfile, "fullchain.pem");
  EXPECT_EQ(o.keyfile, "privkey.pem");
  EXPECT_FALSE(o.cafile);
  EXPECT_EQ(o.effective_cafile(), "fullchain.pem");
  EXPECT_FALSE(o.customize.active);
  EXPECT_EQ(o.customize.folder, "mosquitto");
  EXPECT_EQ(o.log_level, broker::log_level::info);
  EXPECT_TRUE(o.acl.empty());
  EXPECT_EQ(o.durability, durability_mode::standard);
  EXPECT_EQ(o.max_queued_messages, 8192u);  // the Mosquitto add-on's
  EXPECT_EQ(o.max_queued_mb, 16u);
  EXPECT_EQ(o.max_client_buffer_mb, 16u);
  EXPECT_FALSE(o.max_total_buffer_mb);  // chosen from the memory at start
  EXPECT_EQ(o.max_connections, 10000u);
  EXPECT_EQ(o.connect_timeout, 10u);
  EXPECT_TRUE(parse_options("{}").warnings.empty());
}

TEST(options, reads_acl_rules) {
  const options o = parse_ok(R"({"acl": [
    {"username": "alice", "topic": "home/#", "access": "readwrite"},
    {"username": "alice", "topic": "home/secret", "access": "deny"},
    {"topic": "users/%u/#", "access": "read"},
    {"username": null, "topic": "clients/%c", "access": "write"}]})");
  ASSERT_EQ(o.acl.size(), 4u);
  EXPECT_EQ(o.acl[0].scope, acl_scope::user);
  EXPECT_EQ(o.acl[0].username, "alice");
  EXPECT_EQ(o.acl[0].topic, "home/#");
  EXPECT_EQ(o.acl[0].access, acl_access::readwrite);
  EXPECT_TRUE(o.acl[0].substitutes);
  EXPECT_EQ(o.acl[0].origin, "acl[0]");
  EXPECT_EQ(o.acl[1].access, acl_access::deny);
  EXPECT_EQ(o.acl[2].scope, acl_scope::every_user);  // no user name: every user
  EXPECT_EQ(o.acl[2].access, acl_access::read);
  EXPECT_EQ(o.acl[3].scope, acl_scope::every_user);
  EXPECT_EQ(o.acl[3].access, acl_access::write);
}

TEST(options, reads_the_storage_options) {
  const options o = parse_ok(R"({"durability": "strict", "max_queued_messages": 5})");
  EXPECT_EQ(o.durability, durability_mode::strict);
  EXPECT_EQ(o.max_queued_messages, 5u);
  EXPECT_EQ(parse_ok(R"({"durability": "default"})").durability, durability_mode::standard);
  EXPECT_EQ(parse_ok(R"({"max_queued_messages": 2147483647})").max_queued_messages, 2147483647u);
}

TEST(options, reads_the_limit_options) {
  const options o = parse_ok(R"({"max_queued_mb": 2, "max_client_buffer_mb": 3,
    "max_total_buffer_mb": 64, "max_connections": 50, "connect_timeout": 1})");
  EXPECT_EQ(o.max_queued_mb, 2u);
  EXPECT_EQ(o.max_client_buffer_mb, 3u);
  EXPECT_EQ(o.max_total_buffer_mb, std::optional<std::size_t>(64));
  EXPECT_EQ(o.max_connections, 50u);
  EXPECT_EQ(o.connect_timeout, 1u);
}

TEST(options, acl_rules_for_system_users_are_warnings) {
  const options_result r = parse_options(
      R"({"acl": [{"username": "homeassistant", "topic": "#", "access": "deny", "x": 1}]})");
  ASSERT_TRUE(r.value) << r.error;
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "acl[0].x: unknown option, ignored");
  EXPECT_EQ(r.warnings[1],
            "acl[0].username: \"homeassistant\" always has full access; this rule changes nothing");
}

TEST(options, reads_every_field) {
  const options o = parse_ok(R"({
    "logins": [{"username": "alice", "password": "one"},
               {"username": "bob", "password": ")" +
                             std::string(valid_hash) +
                             R"(", "password_pre_hashed": true},
               {"username": "carol", "password": "three", "password_pre_hashed": false}],
    "require_certificate": true,
    "certfile": "cert.pem",
    "keyfile": "key.pem",
    "cafile": "ca.pem",
    "customize": {"active": true, "folder": "custom"},
    "log_level": "debug"
  })");
  ASSERT_EQ(o.logins.size(), 3u);
  EXPECT_EQ(o.logins[0].username, "alice");
  EXPECT_EQ(o.logins[0].password, "one");
  EXPECT_FALSE(o.logins[0].password_pre_hashed);
  EXPECT_EQ(o.logins[1].username, "bob");
  EXPECT_EQ(o.logins[1].password, valid_hash);
  EXPECT_TRUE(o.logins[1].password_pre_hashed);
  EXPECT_FALSE(o.logins[2].password_pre_hashed);
  EXPECT_TRUE(o.require_certificate);
  EXPECT_EQ(o.certfile, "cert.pem");
  EXPECT_EQ(o.keyfile, "key.pem");
  EXPECT_EQ(o.effective_cafile(), "ca.pem");
  EXPECT_TRUE(o.customize.active);
  EXPECT_EQ(o.customize.folder, "custom");
  EXPECT_EQ(o.log_level, broker::log_level::debug);
}

TEST(options, every_log_level_name_is_accepted) {
  const std::pair<const char*, broker::log_level> levels[] = {
      {"trace", broker::log_level::trace},     {"debug", broker::log_level::debug},
      {"info", broker::log_level::info},       {"notice", broker::log_level::notice},
      {"warning", broker::log_level::warning}, {"error", broker::log_level::error},
      {"fatal", broker::log_level::fatal}};
  for (const auto& [name, level] : levels) {
    EXPECT_EQ(parse_ok(std::string(R"({"log_level": ")") + name + "\"}").log_level, level);
  }
}

TEST(options, cleared_cafile_means_the_certfile) {
  EXPECT_EQ(parse_ok(R"({"certfile": "c.pem", "cafile": ""})").effective_cafile(), "c.pem");
  EXPECT_EQ(parse_ok(R"({"certfile": "c.pem", "cafile": null})").effective_cafile(), "c.pem");
}

TEST(options, customize_fields_are_each_optional) {
  EXPECT_EQ(parse_ok(R"({"customize": {"active": true}})").customize.folder, "mosquitto");
  EXPECT_FALSE(parse_ok(R"({"customize": {"folder": "x"}})").customize.active);
}

TEST(options, unknown_keys_are_warnings_naming_the_key) {
  options_result r = parse_options(R"({"future_option": 1, "logins": [
      {"username": "u", "password": "p", "acl": "x"}], "customize": {"active": false, "z": 2}})");
  ASSERT_TRUE(r.value) << r.error;
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0], "future_option: unknown option, ignored");
  EXPECT_EQ(r.warnings[1], "logins[0].acl: unknown option, ignored");
  EXPECT_EQ(r.warnings[2], "customize.z: unknown option, ignored");
}

struct bad_case {
  const char* json;
  const char* expected_error;
};

TEST(options, every_error_names_the_field_and_what_is_wrong) {
  const bad_case cases[] = {
      {R"({"logins": {}})", "logins: must be a list of {username, password}"},
      {R"({"logins": ["u"]})", "logins[0]: must be an object {username, password}"},
      {R"({"logins": [{"password": "p"}]})", "logins[0].username: is required"},
      {R"({"logins": [{"username": "u", "password": "p"}, {"username": "", "password": "p"}]})",
       "logins[1].username: must be a non-empty string"},
      {R"({"logins": [{"username": 5, "password": "p"}]})",
       "logins[0].username: must be a non-empty string"},
      {R"({"logins": [{"username": "u"}]})", "logins[0].password: is required"},
      {R"({"logins": [{"username": "u", "password": ""}]})",
       "logins[0].password: must be a non-empty string"},
      {R"({"logins": [{"username": "u", "password": "p", "password_pre_hashed": "yes"}]})",
       "logins[0].password_pre_hashed: must be true or false"},
      {R"({"logins": [{"username": "u", "password": "p"}, {"username": "u", "password": "q"}]})",
       "logins[1].username: \"u\" is already used by logins[0]"},
      {R"({"logins": [{"username": "homeassistant", "password": "p"}]})",
       "logins[0].username: \"homeassistant\" is reserved for the broker's own system users; "
       "choose another name"},
      {R"({"logins": [{"username": "addons", "password": "p"}]})",
       "logins[0].username: \"addons\" is reserved for the broker's own system users; "
       "choose another name"},
      {R"({"logins": [{"username": "u", "password": "plain", "password_pre_hashed": true}]})",
       "logins[0].password: password_pre_hashed is true, so it must be "
       "PBKDF2$sha512$<iterations>$<salt base64>$<hash base64>, but it does not have five parts "
       "separated by $"},
      {R"({"logins": [{"username": "u", "password": "PBKDF2$sha1$1$YWJj$YWJj",
           "password_pre_hashed": true}]})",
       "logins[0].password: password_pre_hashed is true, so it must be "
       "PBKDF2$sha512$<iterations>$<salt base64>$<hash base64>, but its digest is not sha512, "
       "the only one supported"},
      {R"({"require_certificate": "true"})", "require_certificate: must be true or false"},
      {R"({"certfile": ""})", "certfile: must be a non-empty string"},
      {R"({"keyfile": 3})", "keyfile: must be a non-empty string"},
      {R"({"cafile": false})", "cafile: must be a non-empty string"},
      {R"({"customize": true})", "customize: must be an object {active, folder}"},
      {R"({"customize": {"active": 1}})", "customize.active: must be true or false"},
      {R"({"customize": {"folder": ""}})", "customize.folder: must be a non-empty string"},
      {R"({"log_level": "verbose"})",
       "log_level: must be one of trace, debug, info, notice, warning, error, fatal "
       "(got \"verbose\")"},
      {R"({"log_level": 1})",
       "log_level: must be one of trace, debug, info, notice, warning, error, fatal"},
      {R"([])", "options: must be a JSON object"},
      {R"({"acl": {}})", "acl: must be a list of {username, topic, access}"},
      {R"({"acl": ["x"]})", "acl[0]: must be an object {username, topic, access}"},
      {R"({"acl": [{"topic": "a", "access": "read"}, {"username": "", "topic": "a",
           "access": "read"}]})",
       "acl[1].username: must be a non-empty string"},
      {R"({"acl": [{"username": "u", "access": "read"}]})", "acl[0].topic: is required"},
      {R"({"acl": [{"username": "u", "topic": 3, "access": "read"}]})",
       "acl[0].topic: must be a non-empty string"},
      {R"({"acl": [{"username": "u", "topic": "a/#/b", "access": "read"}]})",
       "acl[0].topic: must be a valid topic filter ('+' and '#' alone in their level, '#' only "
       "last; %u and %c stand for a whole name) (got \"a/#/b\")"},
      {R"({"acl": [{"username": "u", "topic": "a"}]})", "acl[0].access: is required"},
      {R"({"acl": [{"topic": "a"}, {"topic": "a", "access": "all"}, {"topic": "b"}]})",
       "acl[0].access: is required"},
      {R"({"acl": [{"topic": "a", "access": "read"}, {"topic": "a", "access": "all"}]})",
       "acl[1].access: must be one of read, write, readwrite, deny (got \"all\")"},
      {R"({"acl": [{"topic": "a", "access": true}]})",
       "acl[0].access: must be one of read, write, readwrite, deny"},
      {R"({"durability": "safe"})", "durability: must be one of default, strict (got \"safe\")"},
      {R"({"durability": true})", "durability: must be one of default, strict"},
      {R"({"max_queued_messages": 0})",
       "max_queued_messages: must be a whole number from 1 to 2147483647"},
      {R"({"max_queued_messages": 2147483648})",
       "max_queued_messages: must be a whole number from 1 to 2147483647"},
      {R"({"max_queued_messages": 1.5})",
       "max_queued_messages: must be a whole number from 1 to 2147483647"},
      {R"({"max_queued_messages": "10"})",
       "max_queued_messages: must be a whole number from 1 to 2147483647"},
      {R"({"max_client_buffer_mb": 0})",
       "max_client_buffer_mb: must be a whole number from 1 to 1048576"},
      {R"({"max_total_buffer_mb": 8})",
       "max_total_buffer_mb: must be a whole number from 16 to 1048576"},
      {R"({"max_connections": -1})", "max_connections: must be a whole number from 1 to 1000000"},
      {R"({"connect_timeout": 0})", "connect_timeout: must be a whole number from 1 to 3600"},
      {R"({"max_queued_mb": true})", "max_queued_mb: must be a whole number from 1 to 1048576"},
  };
  for (const bad_case& c : cases) EXPECT_EQ(parse_error(c.json), c.expected_error) << c.json;
}

TEST(options, invalid_json_is_an_error_not_an_exception) {
  const std::string texts[] = {
      "", "{", "{\"logins\": [}", "{} trailing", "{\"a\":1,\"a\":2}", std::string(100000, '[')};
  for (const std::string& text : texts) {
    const std::string error = parse_error(text);
    EXPECT_EQ(error.rfind("options: not valid JSON", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

class options_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("addon_options_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(options_file, missing_file_means_defaults) {
  const options_file_result r = load_options_file((dir_ / "absent.json").string());
  EXPECT_TRUE(r.file_missing);
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->certfile, "fullchain.pem");
}

TEST_F(options_file, reads_the_file) {
  std::ofstream(dir_ / "options.json") << R"({"log_level": "error", "other": 1})";
  const options_file_result r = load_options_file((dir_ / "options.json").string());
  EXPECT_FALSE(r.file_missing);
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->log_level, broker::log_level::error);
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST_F(options_file, unreadable_path_is_an_error_naming_it) {
  const options_file_result r = load_options_file(dir_.string());  // a directory
  EXPECT_FALSE(r.value);
  EXPECT_FALSE(r.file_missing);
  EXPECT_NE(r.error.find(dir_.string()), std::string::npos) << r.error;
}

}  // namespace
}  // namespace addon

namespace addon {
namespace {

TEST(options_file_size, a_huge_file_is_refused_with_a_message_not_read_without_bound) {
  const std::string path = ::testing::TempDir() + "/huge_options.json";
  {
    std::string big(2 * 1024 * 1024, ' ');
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(big.data(), 1, big.size(), f);
    std::fclose(f);
  }
  const options_file_result r = load_options_file(path);
  EXPECT_FALSE(r.value);
  EXPECT_NE(r.error.find("larger than"), std::string::npos) << r.error;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace addon
