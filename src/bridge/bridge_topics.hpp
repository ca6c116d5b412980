#pragma once
// Topic translation between the two sides of a bridge, as Mosquitto does it: a message matching
// `local-prefix + pattern` here goes out as `remote-prefix + rest`, and the other way round.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bridge_settings.hpp"

namespace bridge {

// The remote topic for a local message, from the first `out`/`both` mapping that matches it;
// nothing when none does.
std::optional<std::string> to_remote(const std::vector<topic_mapping>& topics,
                                     std::string_view local_topic);
// The local topic for a remote message, from the first `in`/`both` mapping that matches it.
std::optional<std::string> to_local(const std::vector<topic_mapping>& topics,
                                    std::string_view remote_topic);

}  // namespace bridge
