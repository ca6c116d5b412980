#include "mqtt/topic.hpp"

#include <algorithm>
#include <cstddef>

namespace mqtt {
namespace {

// A UTF-8 Encoded String holds at most 65,535 bytes [MQTT-1.5.3]; U+0000 is never allowed
// [MQTT-1.5.3-2] (the decoder refuses it, but names also come from configuration).
bool fits_string(std::string_view s) {
  return !s.empty() && s.size() <= 65535 && s.find('\0') == std::string_view::npos;
}

// Levels are one more than the '/' in between; a text shorter than max_topic_levels bytes cannot
// hold that many '/', so the everyday topic is not read a second time for them.
bool within_level_limit(std::string_view s) {
  if (s.size() < max_topic_levels) return true;
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '/')) < max_topic_levels;
}

}  // namespace

bool valid_topic_name(std::string_view topic) {
  // fits_string() in the same pass (every PUBLISH comes here): find_first_of would search the
  // set once per byte, and a separate search for U+0000 would read the topic again.
  if (topic.empty() || topic.size() > 65535) return false;
  for (const char c : topic) {
    if (c == '+' || c == '#' || c == '\0') return false;
  }
  return within_level_limit(topic);
}

bool valid_topic_filter(std::string_view filter) {
  if (!fits_string(filter) || !within_level_limit(filter)) return false;
  std::size_t level_start = 0;
  for (std::size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c == '/') {
      level_start = i + 1;
      continue;
    }
    const bool alone = i == level_start && (i + 1 == filter.size() || filter[i + 1] == '/');
    if (c == '+' && !alone) return false;  // [MQTT-4.7.1-3]
    // '#' alone in its level and the last character [MQTT-4.7.1-2].
    if (c == '#' && !(alone && i + 1 == filter.size())) return false;
  }
  return true;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  // [MQTT-4.7.2-1]: '#' or '+' as the first character never matches a name starting with '$'.
  if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  std::size_t f = 0;
  std::size_t t = 0;
  for (;;) {
    // Here f and t each start a level.
    if (filter.compare(f, std::string_view::npos, "#") == 0) return true;
    std::size_t f_end = filter.find('/', f);
    std::size_t t_end = topic.find('/', t);
    if (f_end == std::string_view::npos) f_end = filter.size();
    if (t_end == std::string_view::npos) t_end = topic.size();
    const std::string_view f_level = filter.substr(f, f_end - f);
    if (f_level != "+" && f_level != topic.substr(t, t_end - t)) return false;
    const bool filter_done = f_end == filter.size();
    if (t_end == topic.size()) {
      // The name has no more levels. "sport/#" still matches "sport": '#' covers the parent
      // level too [MQTT-4.7.1-2].
      return filter_done || filter.compare(f_end, std::string_view::npos, "/#") == 0;
    }
    if (filter_done) return false;
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace mqtt

namespace mqtt {

bool is_shared_filter(std::string_view filter) {
  return filter.starts_with("$share/");
}

std::optional<shared_filter> split_shared_filter(std::string_view filter) {
  if (!is_shared_filter(filter)) return std::nullopt;
  const std::string_view rest = filter.substr(7);
  const std::size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  const std::string_view group = rest.substr(0, slash);
  if (group.find_first_of("+#") != std::string_view::npos) return std::nullopt;
  const std::string_view inner = rest.substr(slash + 1);
  if (inner.empty() || !valid_topic_filter(inner)) return std::nullopt;
  return shared_filter{group, inner};
}

}  // namespace mqtt
