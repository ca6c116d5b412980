#include "addon/acl_file.hpp"

#include <optional>
#include <set>

namespace addon {
namespace {

constexpr std::string_view blanks = " \t";

std::string_view trim(std::string_view s) {
  const std::size_t start = s.find_first_not_of(blanks);
  if (start == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(" \t\r\n\f\v");
  return s.substr(start, end - start + 1);
}

// Splits off the first blank-separated word; `rest` is what follows it, trimmed.
std::string_view first_word(std::string_view line, std::string_view& rest) {
  const std::size_t end = line.find_first_of(blanks);
  if (end == std::string_view::npos) {
    rest = {};
    return line;
  }
  rest = trim(line.substr(end));
  return line.substr(0, end);
}

}  // namespace

acl_file_result parse_acl_file(std::string_view text, const std::string& name) {
  acl_file_result result;
  std::optional<std::string> user;  // none yet: the lines are for anonymous clients
  std::set<std::string, std::less<>> unknown_seen;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_number;
    const std::string where = name + ":" + std::to_string(line_number);

    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string_view rest;
    const std::string_view keyword = first_word(line, rest);

    if (keyword == "user") {
      if (rest.empty()) {
        result.error = where + ": `user` without a user name";
        result.rules.clear();
        return result;
      }
      user = std::string(rest);
      continue;
    }
    if (keyword != "topic" && keyword != "pattern") {
      // Mosquitto skips lines it does not know; say so once per keyword.
      if (unknown_seen.insert(std::string(keyword)).second) {
        result.warnings.push_back(where + ": unknown keyword '" + std::string(keyword) +
                                  "', line ignored (also later ones)");
      }
      continue;
    }
    if (rest.empty()) {
      result.error = where + ": `" + std::string(keyword) + "` without a topic";
      result.rules.clear();
      return result;
    }
    std::string_view topic;
    const std::string_view word = first_word(rest, topic);
    acl_access access = acl_access::readwrite;
    if (topic.empty()) {
      topic = word;  // "topic <topic>": read and write
    } else if (const std::optional<acl_access> parsed = parse_acl_access(word)) {
      access = *parsed;
    } else {
      result.error = where + ": access must be one of read, write, readwrite, deny (got '" +
                     std::string(word) + "')";
      result.rules.clear();
      return result;
    }

    acl_rule rule;
    rule.topic = std::string(topic);
    rule.access = access;
    rule.origin = where;
    if (keyword == "pattern") {
      rule.scope = acl_scope::every_user;
      rule.substitutes = true;
    } else {
      rule.scope = user ? acl_scope::user : acl_scope::anonymous;
      rule.username = user.value_or("");
      rule.substitutes = false;
    }
    if (!valid_acl_topic(rule.topic, rule.substitutes)) {
      // Mosquitto keeps such a rule, but it never matches anything: drop it and say so.
      result.warnings.push_back(where + ": '" + rule.topic +
                                "' is not a valid topic filter ('+' and '#' must be alone in "
                                "their level, '#' last); the rule never matches, ignored");
      continue;
    }
    result.rules.push_back(std::move(rule));
  }
  return result;
}

}  // namespace addon
