#pragma once
// Mosquitto's acl_file syntax, so ACL files written for the Mosquitto add-on work unchanged:
//
//   # comment
//   topic [read|write|readwrite|deny] <topic>   (lines before any `user`: anonymous clients)
//   user <name>                                  (the `topic` lines after it are for <name>)
//   pattern [read|write|readwrite|deny] <topic>  (every user; %u and %c are substituted)
//
// The access defaults to readwrite. As in Mosquitto, a topic may contain spaces (everything after
// the access word is the topic), `topic` lines are literal and only `pattern` lines substitute.

#include <string>
#include <string_view>
#include <vector>

#include "addon/acl_rule.hpp"

namespace addon {

struct acl_file_result {
  std::vector<acl_rule> rules;
  // Lines that Mosquitto accepts but that can never match (an invalid topic filter) or that it
  // ignores (an unknown keyword): each one line, "<name>:<line>: <what>".
  std::vector<std::string> warnings;
  std::string error;  // "<name>:<line>: <what>" for a line Mosquitto refuses; rules are then empty
};

// Never throws. `name` (the file's path) prefixes messages and the rules' origin.
acl_file_result parse_acl_file(std::string_view text, const std::string& name);

}  // namespace addon
