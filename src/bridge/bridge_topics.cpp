#include "bridge/bridge_topics.hpp"

#include "mqtt/topic.hpp"

namespace bridge {
namespace {

std::optional<std::string> translate(const topic_mapping& t, std::string_view topic,
                                     const std::string& from_prefix, const std::string& to_prefix) {
  if (t.pattern.empty()) {
    // An empty pattern maps one whole topic to another.
    if (topic != from_prefix) return std::nullopt;
    return to_prefix;
  }
  if (!topic.starts_with(from_prefix)) return std::nullopt;
  if (!mqtt::topic_matches(from_prefix + t.pattern, topic)) return std::nullopt;
  std::string out = to_prefix;
  out.append(topic.substr(from_prefix.size()));
  if (!mqtt::valid_topic_name(out)) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> to_remote(const std::vector<topic_mapping>& topics,
                                     std::string_view local_topic) {
  for (const topic_mapping& t : topics) {
    if (!t.sends_out()) continue;
    if (auto out = translate(t, local_topic, t.local_prefix, t.remote_prefix)) return out;
  }
  return std::nullopt;
}

std::optional<std::string> to_local(const std::vector<topic_mapping>& topics,
                                    std::string_view remote_topic) {
  for (const topic_mapping& t : topics) {
    if (!t.brings_in()) continue;
    if (auto out = translate(t, remote_topic, t.remote_prefix, t.local_prefix)) return out;
  }
  return std::nullopt;
}

}  // namespace bridge
