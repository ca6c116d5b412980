#include "addon/system_users.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace addon {
namespace {

class system_users_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("addon_system_users_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file() const { return (dir_ / "system_user.json").string(); }
  std::string contents() const {
    std::ifstream in(file());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path dir_;
};

bool alphanumeric(const std::string& s) {
  for (const char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

TEST_F(system_users_file, first_start_creates_the_file_with_mode_0600) {
  const system_users_result r = load_or_create_system_users(dir_.string());
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.path, file());
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(file() + ".tmp"));
}

TEST_F(system_users_file, generated_passwords_are_long_distinct_and_stored) {
  const system_users_result r = load_or_create_system_users(dir_.string());
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_GE(r.value->homeassistant_password.size(), 64u);
  EXPECT_GE(r.value->addons_password.size(), 64u);
  EXPECT_TRUE(alphanumeric(r.value->homeassistant_password));
  EXPECT_NE(r.value->homeassistant_password, r.value->addons_password);
  const std::string text = contents();
  EXPECT_NE(text.find("\"homeassistant\":{\"password\":\"" + r.value->homeassistant_password),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"addons\":{\"password\":\"" + r.value->addons_password), std::string::npos)
      << text;
}

TEST_F(system_users_file, later_starts_reuse_the_same_passwords) {
  const system_users_result first = load_or_create_system_users(dir_.string());
  ASSERT_TRUE(first.value) << first.error;
  const system_users_result second = load_or_create_system_users(dir_.string());
  ASSERT_TRUE(second.value) << second.error;
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.value->homeassistant_password, first.value->homeassistant_password);
  EXPECT_EQ(second.value->addons_password, first.value->addons_password);
}

TEST_F(system_users_file, reads_a_file_written_by_hand_in_the_contract_format) {
  std::ofstream(file())
      << R"({"homeassistant": {"password": "ha-pw"}, "addons": {"password": "ad"}})";
  const system_users_result r = load_or_create_system_users(dir_.string());
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->homeassistant_password, "ha-pw");
  EXPECT_EQ(r.value->addons_password, "ad");
}

TEST_F(system_users_file, corrupt_file_is_an_error_and_is_left_untouched) {
  const std::string corrupt[] = {
      "",
      "{not json",
      R"({"homeassistant": {"password": "x"}})",
      R"({"homeassistant": {"password": "x"}, "addons": {"password": ""}})",
      R"({"homeassistant": {"password": 1}, "addons": {"password": "y"}})",
      R"({"homeassistant": "x", "addons": {"password": "y"}})",
      R"(["homeassistant"])",
  };
  for (const std::string& text : corrupt) {
    std::ofstream(file(), std::ios::trunc) << text;
    const system_users_result r = load_or_create_system_users(dir_.string());
    EXPECT_FALSE(r.value) << text;
    EXPECT_NE(r.error.find(file()), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("corrupt"), std::string::npos) << r.error;
    EXPECT_EQ(contents(), text);
  }
}

TEST_F(system_users_file, missing_data_dir_is_an_error) {
  const system_users_result r = load_or_create_system_users((dir_ / "absent").string());
  EXPECT_FALSE(r.value);
  EXPECT_FALSE(r.error.empty());
}

TEST(system_users, generated_passwords_differ_every_time) {
  const std::optional<std::string> a = generate_password();
  const std::optional<std::string> b = generate_password();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
}

TEST(system_users, names_of_the_system_users) {
  EXPECT_TRUE(is_system_user_name("homeassistant"));
  EXPECT_TRUE(is_system_user_name("addons"));
  EXPECT_FALSE(is_system_user_name("Homeassistant"));
  EXPECT_FALSE(is_system_user_name("alice"));
}

}  // namespace
}  // namespace addon
