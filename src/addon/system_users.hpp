#pragma once
// The two users the broker creates for the hub and the other add-ons (CONTRACT.md "Credentials
// for the hub"), kept in <data-dir>/system_user.json so a restart never changes their passwords.

#include <optional>
#include <string>
#include <string_view>

namespace addon {

inline constexpr std::string_view homeassistant_user_name = "homeassistant";
inline constexpr std::string_view addons_user_name = "addons";
inline constexpr std::string_view system_users_file_name = "system_user.json";

bool is_system_user_name(std::string_view username);

struct system_users {
  std::string homeassistant_password;
  std::string addons_password;
};

struct system_users_result {
  std::optional<system_users> value;
  std::string error;  // one line saying what is wrong and what to do, when value is empty
  bool created = false;
  // Created, but the disk was full: the passwords live in memory only, and a later start that
  // can write them makes new ones (the hub learns them from discovery). What went wrong.
  std::string not_saved;
  std::string path;
};

// Loads the file, or creates it (mode 0600) with fresh passwords when it does not exist. A file
// that exists but cannot be read or understood is an error, never silently replaced: the hub
// holds those passwords. A full disk is not: the broker is needed more than the file.
system_users_result load_or_create_system_users(const std::string& data_dir);

// 64 characters from [A-Za-z0-9], from OpenSSL's cryptographic generator (about 381 bits).
// nullopt if the generator fails.
std::optional<std::string> generate_password();

}  // namespace addon
