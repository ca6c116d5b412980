#pragma once
// One access-control rule, from the `acl` option or from a Mosquitto acl_file, before it is
// compiled into an acl_authorizer.

#include <optional>
#include <string>
#include <string_view>

namespace addon {

// "deny" grants nothing and overrides the allows of its tier (see acl.hpp).
enum class acl_access { deny, read, write, readwrite };

// "read", "write", "readwrite" or "deny"; nullopt for anything else.
std::optional<acl_access> parse_acl_access(std::string_view text);

// Which clients a rule is for.
enum class acl_scope {
  user,        // the user named in `username` (a `user` block, or an `acl` entry with a username)
  every_user,  // every user (a Mosquitto `pattern`, or an `acl` entry without a username)
  anonymous,   // clients without a user name (acl_file lines before any `user`); they are always
               // refused at CONNECT, so these rules never apply, but the file stays valid
};

struct acl_rule {
  acl_scope scope = acl_scope::user;
  std::string username;  // for acl_scope::user
  std::string topic;     // a topic filter, possibly with %u / %c
  acl_access access = acl_access::readwrite;
  // %u and %c are replaced by the user name and client id (the `acl` option and Mosquitto
  // `pattern` lines; a Mosquitto `topic` line is taken literally).
  bool substitutes = true;
  std::string origin;  // where it came from, for messages: "acl[2]", "/share/mosquitto/acl:7"
};

// Whether `topic` is a valid topic filter once %u and %c are replaced (when `substitutes`).
bool valid_acl_topic(std::string_view topic, bool substitutes);

}  // namespace addon
