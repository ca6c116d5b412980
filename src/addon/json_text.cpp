#include "addon/json_text.hpp"

#include <memory>

namespace addon {

std::optional<Json::Value> parse_json(std::string_view text, const json_rules& rules,
                                      std::string* error) {
  Json::CharReaderBuilder builder;
  builder["failIfExtra"] = rules.fail_if_extra;
  builder["rejectDupKeys"] = rules.reject_dup_keys;
  builder["allowComments"] = rules.allow_comments;
  builder["collectComments"] = false;
  const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  std::string errors;
  bool parsed = false;
  try {
    parsed = reader->parse(text.data(), text.data() + text.size(), &root, &errors);
  } catch (const std::exception& e) {
    errors = e.what();
  }
  if (parsed) return root;
  if (error) {
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
    for (char& c : errors) {
      if (c == '\n') c = ' ';
    }
    *error = std::move(errors);
  }
  return std::nullopt;
}

}  // namespace addon
