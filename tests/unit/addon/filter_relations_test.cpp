#include "addon/filter_relations.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

TEST(filters_overlap, equal_and_wildcard_filters_share_topics) {
  EXPECT_TRUE(filters_overlap("a/b", "a/b"));
  EXPECT_TRUE(filters_overlap("a/+", "+/b"));
  EXPECT_TRUE(filters_overlap("#", "a/b/c"));
  EXPECT_TRUE(filters_overlap("a/#", "a"));  // '#' covers the parent level
  EXPECT_TRUE(filters_overlap("a", "a/#"));
  EXPECT_TRUE(filters_overlap("a/+/c", "a/#"));
  EXPECT_TRUE(filters_overlap("+/+", "x/y"));
}

TEST(filters_overlap, disjoint_filters_do_not) {
  EXPECT_FALSE(filters_overlap("a/#", "b/#"));
  EXPECT_FALSE(filters_overlap("a/b", "a/c"));
  EXPECT_FALSE(filters_overlap("a/b", "a"));
  EXPECT_FALSE(filters_overlap("a", "a/b"));
  EXPECT_FALSE(filters_overlap("+", "a/b"));
  EXPECT_FALSE(filters_overlap("a/+", "a/b/c"));
}

TEST(filters_overlap, leading_wildcards_never_reach_dollar_topics) {
  // [MQTT-4.7.2-1]
  EXPECT_FALSE(filters_overlap("#", "$SYS/#"));
  EXPECT_FALSE(filters_overlap("+/broker", "$SYS/broker"));
  EXPECT_TRUE(filters_overlap("$SYS/#", "$SYS/broker/+"));
  EXPECT_TRUE(filters_overlap("#", "+/x"));
}

TEST(filter_covers, outer_matches_everything_inner_does) {
  EXPECT_TRUE(filter_covers("#", "a/b"));
  EXPECT_TRUE(filter_covers("a/#", "a/+/c"));
  EXPECT_TRUE(filter_covers("a/#", "a"));
  EXPECT_TRUE(filter_covers("a/#", "a/#"));
  EXPECT_TRUE(filter_covers("a/+", "a/b"));
  EXPECT_TRUE(filter_covers("a/+", "a/+"));
  EXPECT_TRUE(filter_covers("a/b", "a/b"));
}

TEST(filter_covers, a_narrower_outer_does_not) {
  EXPECT_FALSE(filter_covers("a/+", "a/#"));
  EXPECT_FALSE(filter_covers("a/b", "a/+"));
  EXPECT_FALSE(filter_covers("a/b", "#"));
  EXPECT_FALSE(filter_covers("a", "a/#"));
  EXPECT_FALSE(filter_covers("a/+", "a"));
  EXPECT_FALSE(filter_covers("a/b/c", "a/b"));
  EXPECT_FALSE(filter_covers("#", "$SYS/x"));
  EXPECT_TRUE(filter_covers("$SYS/#", "$SYS/x"));
}

}  // namespace
}  // namespace addon
