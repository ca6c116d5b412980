#include "addon/options.hpp"

#include <json/json.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include "addon/acl_rule.hpp"
#include "addon/json_text.hpp"
#include "addon/password_hash.hpp"
#include "addon/system_users.hpp"
#include "addon/text_file.hpp"

namespace addon {

namespace {

// A field error, carried out of the nested parsers by value.
struct field_error {
  std::string field;
  std::string message;
};

using maybe_error = std::optional<field_error>;

maybe_error read_bool(const Json::Value& v, const std::string& field, bool& out) {
  if (!v.isBool()) return field_error{field, "must be true or false"};
  out = v.asBool();
  return std::nullopt;
}

maybe_error read_string(const Json::Value& v, const std::string& field, std::string& out) {
  if (!v.isString() || v.asString().empty())
    return field_error{field, "must be a non-empty string"};
  out = v.asString();
  return std::nullopt;
}

void warn_unknown_keys(const Json::Value& object, const std::set<std::string>& known,
                       const std::string& prefix, std::vector<std::string>& warnings) {
  for (const std::string& key : object.getMemberNames()) {
    if (!known.contains(key)) warnings.push_back(prefix + key + ": unknown option, ignored");
  }
}

maybe_error read_login(const Json::Value& v, const std::string& field, login& out,
                       std::vector<std::string>& warnings) {
  if (!v.isObject()) return field_error{field, "must be an object {username, password}"};
  warn_unknown_keys(v, {"username", "password", "password_pre_hashed"}, field + ".", warnings);
  if (!v.isMember("username")) return field_error{field + ".username", "is required"};
  if (auto e = read_string(v["username"], field + ".username", out.username)) return e;
  if (!v.isMember("password")) return field_error{field + ".password", "is required"};
  if (auto e = read_string(v["password"], field + ".password", out.password)) return e;
  if (v.isMember("password_pre_hashed")) {
    if (auto e = read_bool(v["password_pre_hashed"], field + ".password_pre_hashed",
                           out.password_pre_hashed)) {
      return e;
    }
  }
  if (out.password_pre_hashed) {
    const pbkdf2_parse_result parsed = parse_pbkdf2_sha512(out.password);
    if (!parsed.hash) {
      return field_error{field + ".password",
                         "password_pre_hashed is true, so it must be "
                         "PBKDF2$sha512$<iterations>$<salt base64>$<hash base64>, but " +
                             parsed.error};
    }
  }
  return std::nullopt;
}

maybe_error read_logins(const Json::Value& v, std::vector<login>& out,
                        std::vector<std::string>& warnings) {
  if (!v.isArray()) return field_error{"logins", "must be a list of {username, password}"};
  for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
    const std::string field = "logins[" + std::to_string(i) + "]";
    login entry;
    if (auto e = read_login(v[i], field, entry, warnings)) return e;
    if (is_system_user_name(entry.username)) {
      return field_error{field + ".username", "\"" + entry.username +
                                                  "\" is reserved for the broker's own system "
                                                  "users; choose another name"};
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j].username == entry.username) {
        return field_error{
            field + ".username",
            "\"" + entry.username + "\" is already used by logins[" + std::to_string(j) + "]"};
      }
    }
    out.push_back(std::move(entry));
  }
  return std::nullopt;
}

maybe_error read_customize(const Json::Value& v, customize_options& out,
                           std::vector<std::string>& warnings) {
  if (!v.isObject()) return field_error{"customize", "must be an object {active, folder}"};
  warn_unknown_keys(v, {"active", "folder"}, "customize.", warnings);
  if (v.isMember("active")) {
    if (auto e = read_bool(v["active"], "customize.active", out.active)) return e;
  }
  if (v.isMember("folder")) {
    if (auto e = read_string(v["folder"], "customize.folder", out.folder)) return e;
  }
  return std::nullopt;
}

maybe_error read_log_level(const Json::Value& v, broker::log_level& out) {
  const char* expected = "must be one of trace, debug, info, notice, warning, error, fatal";
  if (!v.isString()) return field_error{"log_level", expected};
  const std::optional<broker::log_level> level = broker::parse_log_level(v.asString());
  if (!level)
    return field_error{"log_level", std::string(expected) + " (got \"" + v.asString() + "\")"};
  out = *level;
  return std::nullopt;
}

maybe_error read_acl_rule(const Json::Value& v, const std::string& field, acl_rule& out,
                          std::vector<std::string>& warnings) {
  if (!v.isObject()) return field_error{field, "must be an object {username, topic, access}"};
  warn_unknown_keys(v, {"username", "topic", "access"}, field + ".", warnings);
  out.origin = field;
  out.substitutes = true;
  // Without a user name the rule is for every user, like a Mosquitto `pattern`.
  out.scope = acl_scope::every_user;
  if (v.isMember("username") && !v["username"].isNull()) {
    if (auto e = read_string(v["username"], field + ".username", out.username)) return e;
    out.scope = acl_scope::user;
    if (is_system_user_name(out.username)) {
      warnings.push_back(field + ".username: \"" + out.username +
                         "\" always has full access; this rule changes nothing");
    }
  }
  if (!v.isMember("topic")) return field_error{field + ".topic", "is required"};
  if (auto e = read_string(v["topic"], field + ".topic", out.topic)) return e;
  if (!valid_acl_topic(out.topic, true)) {
    return field_error{field + ".topic",
                       "must be a valid topic filter ('+' and '#' alone in their level, '#' "
                       "only last; %u and %c stand for a whole name) (got \"" +
                           out.topic + "\")"};
  }
  const char* expected = "must be one of read, write, readwrite, deny";
  if (!v.isMember("access")) return field_error{field + ".access", "is required"};
  const Json::Value& access = v["access"];
  if (!access.isString()) return field_error{field + ".access", expected};
  const std::optional<acl_access> parsed = parse_acl_access(access.asString());
  if (!parsed) {
    return field_error{field + ".access",
                       std::string(expected) + " (got \"" + access.asString() + "\")"};
  }
  out.access = *parsed;
  return std::nullopt;
}

maybe_error read_acl(const Json::Value& v, std::vector<acl_rule>& out,
                     std::vector<std::string>& warnings) {
  if (!v.isArray()) return field_error{"acl", "must be a list of {username, topic, access}"};
  for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
    acl_rule rule;
    if (auto e = read_acl_rule(v[i], "acl[" + std::to_string(i) + "]", rule, warnings)) return e;
    out.push_back(std::move(rule));
  }
  return std::nullopt;
}

maybe_error read_durability(const Json::Value& v, durability_mode& out) {
  const char* expected = "must be one of default, strict";
  if (!v.isString()) return field_error{"durability", expected};
  if (v.asString() == "default") {
    out = durability_mode::standard;
  } else if (v.asString() == "strict") {
    out = durability_mode::strict;
  } else {
    return field_error{"durability", std::string(expected) + " (got \"" + v.asString() + "\")"};
  }
  return std::nullopt;
}

maybe_error read_whole_number(const Json::Value& v, const std::string& field, Json::Int64 low,
                              Json::Int64 high, std::size_t& out) {
  if (!v.isInt64() || v.asInt64() < low || v.asInt64() > high) {
    return field_error{field, "must be a whole number from " + std::to_string(low) + " to " +
                                  std::to_string(high)};
  }
  out = static_cast<std::size_t>(v.asInt64());
  return std::nullopt;
}

// The whole-number options: name, range, where the value goes. 2147483647 is what the options
// UI's `int` holds; sizes in MiB stop at 1 TiB.
struct number_option {
  const char* name;
  Json::Int64 low;
  Json::Int64 high;
  std::size_t options::*field;
};

constexpr Json::Int64 int_limit = 2147483647;
constexpr Json::Int64 mib_limit = 1024 * 1024;
constexpr number_option number_options[] = {
    {"max_queued_messages", 1, int_limit, &options::max_queued_messages},
    {"max_queued_mb", 1, mib_limit, &options::max_queued_mb},
    {"max_client_buffer_mb", 1, mib_limit, &options::max_client_buffer_mb},
    {"max_connections", 1, 1000000, &options::max_connections},
    {"connect_timeout", 1, 3600, &options::connect_timeout},
};

maybe_error read_numbers(const Json::Value& root, options& out) {
  for (const number_option& o : number_options) {
    if (!root.isMember(o.name)) continue;
    if (auto e = read_whole_number(root[o.name], o.name, o.low, o.high, out.*o.field)) return e;
  }
  if (root.isMember("max_total_buffer_mb")) {
    std::size_t total = 0;
    if (auto e = read_whole_number(root["max_total_buffer_mb"], "max_total_buffer_mb", 16,
                                   mib_limit, total)) {
      return e;
    }
    out.max_total_buffer_mb = total;
  }
  return std::nullopt;
}

maybe_error read_options(const Json::Value& root, options& out,
                         std::vector<std::string>& warnings) {
  warn_unknown_keys(
      root,
      {"logins", "require_certificate", "certfile", "keyfile", "cafile", "customize", "log_level",
       "acl", "durability", "max_queued_messages", "max_queued_mb", "max_client_buffer_mb",
       "max_total_buffer_mb", "max_connections", "connect_timeout"},
      "", warnings);
  if (root.isMember("logins")) {
    if (auto e = read_logins(root["logins"], out.logins, warnings)) return e;
  }
  if (root.isMember("require_certificate")) {
    if (auto e = read_bool(root["require_certificate"], "require_certificate",
                           out.require_certificate)) {
      return e;
    }
  }
  if (root.isMember("certfile")) {
    if (auto e = read_string(root["certfile"], "certfile", out.certfile)) return e;
  }
  if (root.isMember("keyfile")) {
    if (auto e = read_string(root["keyfile"], "keyfile", out.keyfile)) return e;
  }
  // The options UI leaves an optional field empty or null when the user clears it: both mean
  // "use the default", which for cafile is the certfile.
  if (root.isMember("cafile")) {
    const Json::Value& v = root["cafile"];
    if (!v.isNull() && !(v.isString() && v.asString().empty())) {
      std::string cafile;
      if (auto e = read_string(v, "cafile", cafile)) return e;
      out.cafile = std::move(cafile);
    }
  }
  if (root.isMember("customize")) {
    if (auto e = read_customize(root["customize"], out.customize, warnings)) return e;
  }
  if (root.isMember("log_level")) {
    if (auto e = read_log_level(root["log_level"], out.log_level)) return e;
  }
  if (root.isMember("acl")) {
    if (auto e = read_acl(root["acl"], out.acl, warnings)) return e;
  }
  if (root.isMember("durability")) {
    if (auto e = read_durability(root["durability"], out.durability)) return e;
  }
  return read_numbers(root, out);
}

}  // namespace

options_result parse_options(std::string_view json_text) {
  options_result result;
  std::string errors;
  const std::optional<Json::Value> parsed =
      parse_json(json_text, {.fail_if_extra = true, .reject_dup_keys = true}, &errors);
  if (!parsed) {
    result.error = "options: not valid JSON: " + errors;
    return result;
  }
  const Json::Value& root = *parsed;
  if (!root.isObject()) {
    result.error = "options: must be a JSON object";
    return result;
  }
  options value;
  if (maybe_error e = read_options(root, value, result.warnings)) {
    result.error = e->field + ": " + e->message;
    return result;
  }
  result.value = std::move(value);
  return result;
}

options_file_result load_options_file(const std::string& path) {
  options_file_result result;
  // The Supervisor writes a few KiB; anything far larger is not an options file.
  const text_file file = read_text_file(path, 1024 * 1024);
  if (file.missing) {
    result.file_missing = true;
    result.value = options{};
    return result;
  }
  if (!file.text) {
    result.error = "options: cannot read " + path + ": " + file.error;
    return result;
  }
  static_cast<options_result&>(result) = parse_options(*file.text);
  return result;
}

}  // namespace addon
