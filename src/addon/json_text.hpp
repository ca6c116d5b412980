#pragma once
// Parsing JSON text with jsoncpp without letting it throw (it does on absurd nesting).

#include <json/json.h>

#include <optional>
#include <string>
#include <string_view>

namespace addon {

struct json_rules {
  bool fail_if_extra = false;    // text after the value is an error
  bool reject_dup_keys = false;  // a key twice in one object is an error
  bool allow_comments = true;
};

// The parsed value, or nullopt with jsoncpp's message (one line) in `error` when given.
std::optional<Json::Value> parse_json(std::string_view text, const json_rules& rules,
                                      std::string* error = nullptr);

}  // namespace addon
