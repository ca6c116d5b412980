#pragma once
// How two topic filters relate as sets of topic names, for deciding a SUBSCRIBE against ACL rules
// whose topics are filters themselves. Both arguments must be valid filters
// (mqtt::valid_topic_filter). Names starting with '$' are never matched by a filter whose first
// level is a wildcard [MQTT-4.7.2-1], and both functions respect that.

#include <string_view>

namespace addon {

// Whether some topic name matches both filters: "a/+" and "+/b" overlap (in "a/b"); "a/#" and
// "b/#" do not.
bool filters_overlap(std::string_view a, std::string_view b);

// Whether every topic name that `inner` matches is matched by `outer`: "a/#" covers "a/+/c" and
// "a"; "a/+" does not cover "a/#".
bool filter_covers(std::string_view outer, std::string_view inner);

}  // namespace addon
