#pragma once
// The add-on options (CONTRACT.md "The options file"), as written by the Supervisor from the
// options UI. Every option has a default, so `{}` is valid; unknown keys are warnings, never
// errors, so an older binary starts with a newer options file.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "addon/acl_rule.hpp"
#include "broker/logger.hpp"

namespace addon {

struct login {
  std::string username;
  std::string password;  // plain, or a PBKDF2 string when password_pre_hashed
  bool password_pre_hashed = false;
};

struct customize_options {
  bool active = false;
  std::string folder = "mosquitto";
};

// The `durability` option: "default" commits in groups (at most about a second at risk on a
// crash), "strict" acknowledges QoS 1/2 publishes only once they are on disk.
enum class durability_mode { standard, strict };

struct options {
  std::vector<login> logins;
  bool require_certificate = false;
  std::string certfile = "fullchain.pem";
  std::string keyfile = "privkey.pem";
  std::optional<std::string> cafile;  // unset: the certfile
  customize_options customize;
  broker::log_level log_level = broker::log_level::info;
  std::vector<acl_rule> acl;  // scope user (username given) or every_user; origin "acl[i]"
  durability_mode durability = durability_mode::standard;
  // Limits (DOCS.md "Limits"); sizes in MiB, as the options UI shows them.
  std::size_t max_queued_messages = 8192;          // per offline session
  std::size_t max_queued_mb = 16;                  // per offline session
  std::size_t max_client_buffer_mb = 16;           // waiting for one connected client
  std::optional<std::size_t> max_total_buffer_mb;  // every client together; unset: by memory
  std::size_t max_connections = 10000;
  std::size_t connect_timeout = 10;  // seconds from the TCP connection to CONNECT

  const std::string& effective_cafile() const { return cafile ? *cafile : certfile; }
};

struct options_result {
  std::optional<addon::options> value;
  std::string error;                  // "<field>: <what is wrong>" when value is empty
  std::vector<std::string> warnings;  // one per unknown key: "<field>: unknown option, ignored"
};

// Never throws: bad JSON or a bad field is an error value.
options_result parse_options(std::string_view json_text);

struct options_file_result : options_result {
  bool file_missing = false;  // no such file: value holds the defaults
};

options_file_result load_options_file(const std::string& path);

}  // namespace addon
