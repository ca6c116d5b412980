#pragma once
// Topic names and filters [MQTT-4.7].

#include <cstddef>
#include <optional>
#include <string_view>

namespace mqtt {

// The most levels a topic name or filter may have here. The protocol sets no limit short of the
// 65,535 bytes of a string, so one PUBLISH could carry 32,768 levels. The broker's topic trees
// walk and free their nodes one level per call, and every level costs a node: a bound keeps
// both (and the stack) small. Mosquitto refuses more than 200 '/' (201 levels), which is far past
// any topic tree a home writes; so does this broker. A name or filter past it is "correctly
// formed but not accepted": 5.0's Topic Name invalid (0x90) and Topic Filter invalid (0x8F).
inline constexpr std::size_t max_topic_levels = 201;

// A name a PUBLISH may carry: at least one character, no '+' or '#' [MQTT-3.3.2-2] [MQTT-4.7.3-1],
// at most max_topic_levels levels.
bool valid_topic_name(std::string_view topic);

// A filter a SUBSCRIBE may carry: non-empty; '#' only as the last level, alone in its level
// [MQTT-4.7.1-2]; '+' alone in its level [MQTT-4.7.1-3]; at most max_topic_levels levels.
bool valid_topic_filter(std::string_view filter);

// Whether `filter` matches `topic`. Topics starting with '$' are not matched by a filter that
// starts with a wildcard [MQTT-4.7.2-1]. Both arguments must already be valid.
bool topic_matches(std::string_view filter, std::string_view topic);

// A shared subscription "$share/<group>/<filter>" [MQTT-4.8.2].
bool is_shared_filter(std::string_view filter);
struct shared_filter {
  std::string_view group;
  std::string_view filter;
};
// The group and the filter of a shared subscription; nullopt when `filter` is not a valid one
// (a group that is empty or holds '+' or '#' [MQTT-4.8.2-1], no '/' and filter behind it
// [MQTT-4.8.2-2], or an invalid filter).
std::optional<shared_filter> split_shared_filter(std::string_view filter);

}  // namespace mqtt
