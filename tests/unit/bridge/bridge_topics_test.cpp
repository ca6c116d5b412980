// Topic translation, as Mosquitto's `topic` lines define it.
#include "bridge/bridge_topics.hpp"

#include <gtest/gtest.h>

namespace bridge {
namespace {

topic_mapping line(std::string pattern, direction d, std::string local, std::string remote) {
  topic_mapping t;
  t.pattern = std::move(pattern);
  t.dir = d;
  t.local_prefix = std::move(local);
  t.remote_prefix = std::move(remote);
  return t;
}

TEST(bridge_topics, prefixes_are_swapped_in_the_direction_of_the_line) {
  const std::vector<topic_mapping> topics = {line("sensors/#", direction::out, "home/", "site1/"),
                                             line("cmd/+", direction::in, "home/", "site1/")};
  EXPECT_EQ(to_remote(topics, "home/sensors/t/1"), "site1/sensors/t/1");
  EXPECT_EQ(to_local(topics, "site1/cmd/x"), "home/cmd/x");
  EXPECT_FALSE(to_local(topics, "site1/sensors/t/1"));  // an out line does not bring in
  EXPECT_FALSE(to_remote(topics, "home/cmd/x"));        // an in line does not send out
  EXPECT_FALSE(to_remote(topics, "other/sensors/x"));
}

TEST(bridge_topics, both_works_either_way_and_without_prefixes_topics_stay) {
  const std::vector<topic_mapping> topics = {line("a/#", direction::both, "", "")};
  EXPECT_EQ(to_remote(topics, "a/b"), "a/b");
  EXPECT_EQ(to_local(topics, "a/b"), "a/b");
}

TEST(bridge_topics, an_empty_pattern_maps_one_topic_to_another) {
  const std::vector<topic_mapping> topics = {line("", direction::both, "local/state", "r/state")};
  EXPECT_EQ(to_remote(topics, "local/state"), "r/state");
  EXPECT_EQ(to_local(topics, "r/state"), "local/state");
  EXPECT_FALSE(to_remote(topics, "local/state/x"));
}

TEST(bridge_topics, the_first_matching_line_wins) {
  const std::vector<topic_mapping> topics = {line("a/b", direction::out, "", "first/"),
                                             line("a/#", direction::out, "", "second/")};
  EXPECT_EQ(to_remote(topics, "a/b"), "first/a/b");
  EXPECT_EQ(to_remote(topics, "a/c"), "second/a/c");
}

TEST(bridge_topics, a_parent_matched_by_hash_but_missing_the_prefix_is_not_mapped) {
  // "p/#" matches "p" itself, which does not start with the prefix "p/".
  const std::vector<topic_mapping> topics = {line("#", direction::in, "l/", "p/")};
  EXPECT_FALSE(to_local(topics, "p"));
  EXPECT_EQ(to_local(topics, "p/x"), "l/x");
}

}  // namespace
}  // namespace bridge
