#include "addon/filter_relations.hpp"

#include <cstddef>

namespace addon {
namespace {

// Walks a filter level by level without allocating.
class level_cursor {
 public:
  explicit level_cursor(std::string_view filter) : filter_(filter) { load(); }

  bool done() const { return done_; }
  std::string_view level() const { return level_; }
  void next() {
    if (end_ >= filter_.size()) {
      done_ = true;
      return;
    }
    start_ = end_ + 1;
    load();
  }

 private:
  void load() {
    end_ = filter_.find('/', start_);
    if (end_ == std::string_view::npos) end_ = filter_.size();
    level_ = filter_.substr(start_, end_ - start_);
  }

  std::string_view filter_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  std::string_view level_;
  bool done_ = false;
};

bool first_level_is_wildcard(std::string_view filter) {
  return !filter.empty() && (filter.front() == '+' || filter.front() == '#');
}

bool starts_with_dollar(std::string_view filter) {
  return !filter.empty() && filter.front() == '$';
}

// A filter whose first level starts with '$' matches only '$' names; one whose first level is a
// wildcard matches none of them [MQTT-4.7.2-1]. Between those two, nothing is shared.
bool dollar_split(std::string_view a, std::string_view b) {
  return (first_level_is_wildcard(a) && starts_with_dollar(b)) ||
         (first_level_is_wildcard(b) && starts_with_dollar(a));
}

}  // namespace

bool filters_overlap(std::string_view a, std::string_view b) {
  if (dollar_split(a, b)) return false;
  level_cursor x(a);
  level_cursor y(b);
  for (;;) {
    // '#' matches the rest, including nothing more: "a/#" matches "a" [MQTT-4.7.1-2].
    if (x.level() == "#" || y.level() == "#") return true;
    if (x.level() != "+" && y.level() != "+" && x.level() != y.level()) return false;
    x.next();
    y.next();
    if (x.done() && y.done()) return true;
    if (x.done()) return y.level() == "#" && (y.next(), y.done());
    if (y.done()) return x.level() == "#" && (x.next(), x.done());
  }
}

bool filter_covers(std::string_view outer, std::string_view inner) {
  // An outer filter starting with a wildcard never matches '$' names, which an inner filter
  // starting with '$' consists of.
  if (first_level_is_wildcard(outer) && starts_with_dollar(inner)) return false;
  level_cursor o(outer);
  level_cursor i(inner);
  for (;;) {
    if (o.level() == "#") return true;
    if (i.level() == "#") return false;  // covers more levels than anything but '#' does
    if (o.level() != "+" && (i.level() == "+" || i.level() != o.level())) return false;
    o.next();
    i.next();
    if (o.done() && i.done()) return true;
    // "a/#" covers "a": the parent level is matched by '#' too.
    if (i.done()) return o.level() == "#" && (o.next(), o.done());
    if (o.done()) return false;  // inner names have more levels than outer ones
  }
}

}  // namespace addon
