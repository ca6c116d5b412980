#include "addon/acl_rule.hpp"

#include "mqtt/topic.hpp"

namespace addon {

std::optional<acl_access> parse_acl_access(std::string_view text) {
  if (text == "read") return acl_access::read;
  if (text == "write") return acl_access::write;
  if (text == "readwrite") return acl_access::readwrite;
  if (text == "deny") return acl_access::deny;
  return std::nullopt;
}

namespace {

// A stand-in that is one ordinary level, so the check sees the filter's shape.
std::string with_placeholders(std::string_view topic) {
  std::string out;
  out.reserve(topic.size());
  for (std::size_t i = 0; i < topic.size(); ++i) {
    if (topic[i] == '%' && i + 1 < topic.size() && (topic[i + 1] == 'u' || topic[i + 1] == 'c')) {
      out += 'x';
      ++i;
    } else {
      out += topic[i];
    }
  }
  return out;
}

}  // namespace

bool valid_acl_topic(std::string_view topic, bool substitutes) {
  if (!substitutes) return mqtt::valid_topic_filter(topic);
  return mqtt::valid_topic_filter(with_placeholders(topic));
}

}  // namespace addon
