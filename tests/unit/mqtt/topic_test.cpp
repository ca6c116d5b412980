// Topic names, filters and matching [MQTT-4.7], including the examples of the spec.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "mqtt/topic.hpp"

namespace mqtt {
namespace {

TEST(topic_name, plain_names_with_empty_levels_are_valid) {
  for (std::string_view name :
       {"a", "sport/tennis/player1", "/", "/finance", "a//b", "a/", "$SYS/broker/uptime", " "}) {
    EXPECT_TRUE(valid_topic_name(name)) << name;
  }
}

TEST(topic_name, empty_or_wildcard_names_are_invalid) {  // [MQTT-4.7.3-1] [MQTT-3.3.2-2]
  for (std::string_view name : {"", "a/+", "#", "a/#", "sport+", "a/b#"}) {
    EXPECT_FALSE(valid_topic_name(name)) << name;
  }
  EXPECT_FALSE(valid_topic_name(std::string_view("a\0b", 3)));  // [MQTT-1.5.3-2]
  EXPECT_FALSE(valid_topic_name(std::string(65536, 'a')));      // longer than a string can be
  EXPECT_TRUE(valid_topic_name(std::string(65535, 'a')));
}

TEST(topic_filter, filters_from_the_spec_are_valid) {
  for (std::string_view filter : {"sport/tennis/player1/#", "sport/#", "#", "+", "+/tennis/#",
                                  "sport/+/player1", "/+", "+/+", "a//b", "$SYS/#", "a/+/+/#"}) {
    EXPECT_TRUE(valid_topic_filter(filter)) << filter;
  }
}

TEST(topic_filter, misplaced_wildcards_are_invalid) {  // [MQTT-4.7.1-2] [MQTT-4.7.1-3]
  for (std::string_view filter : {"", "sport/tennis#", "sport/tennis/#/ranking", "#/", "sport+",
                                  "+a", "a/b+/c", "a/#b", "##", "++"}) {
    EXPECT_FALSE(valid_topic_filter(filter)) << filter;
  }
}

// `levels` levels of one byte each: "a/a/.../a".
std::string levels_of(std::size_t levels, char c = 'a') {
  std::string out(1, c);
  for (std::size_t i = 1; i < levels; ++i) (out += '/') += c;
  return out;
}

TEST(topic_name, more_levels_than_the_limit_are_refused) {
  EXPECT_TRUE(valid_topic_name(levels_of(max_topic_levels)));
  EXPECT_FALSE(valid_topic_name(levels_of(max_topic_levels + 1)));
  // Empty levels count: 201 '/' are 202 levels.
  EXPECT_TRUE(valid_topic_name(std::string(max_topic_levels - 1, '/')));
  EXPECT_FALSE(valid_topic_name(std::string(max_topic_levels, '/')));
  // A long name with few levels is not affected.
  EXPECT_TRUE(valid_topic_name(std::string(60000, 'a') + "/b"));
}

TEST(topic_filter, more_levels_than_the_limit_are_refused) {
  EXPECT_TRUE(valid_topic_filter(levels_of(max_topic_levels, '+')));
  EXPECT_FALSE(valid_topic_filter(levels_of(max_topic_levels + 1, '+')));
  EXPECT_TRUE(valid_topic_filter(levels_of(max_topic_levels - 1) + "/#"));
  EXPECT_FALSE(valid_topic_filter(levels_of(max_topic_levels) + "/#"));
  EXPECT_FALSE(split_shared_filter("$share/g/" + levels_of(max_topic_levels + 1)).has_value());
  EXPECT_TRUE(split_shared_filter("$share/g/" + levels_of(max_topic_levels)).has_value());
}

struct match_case {
  std::string_view filter;
  std::string_view topic;
  bool matches;
};

TEST(topic_matches, spec_examples_for_multi_level_wildcard) {  // [MQTT-4.7.1.2]
  const match_case cases[] = {
      {"sport/tennis/player1/#", "sport/tennis/player1", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
      {"sport/#", "sport", true},  // '#' includes the parent level [MQTT-4.7.1-2]
      {"#", "sport/tennis", true},
      {"#", "/", true},
      {"sport/tennis/#", "sport/tennis", true},
      {"sport/tennis/#", "sport/tennisplayer1", false},
      {"sport/#", "sports", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
  }
}

TEST(topic_matches, spec_examples_for_single_level_wildcard) {  // [MQTT-4.7.1.3]
  const match_case cases[] = {
      {"sport/tennis/+", "sport/tennis/player1", true},
      {"sport/tennis/+", "sport/tennis/player2", true},
      {"sport/tennis/+", "sport/tennis/player1/ranking", false},
      {"sport/+", "sport", false},
      {"sport/+", "sport/", true},  // '+' matches an empty level
      {"+", "sport", true},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+", "/finance", false},
      {"+/tennis/#", "sport/tennis/player1", true},
      {"+/tennis/#", "sport/tennis", true},
      {"sport/+/player1", "sport/tennis/player1", true},
      {"sport/+/player1", "sport/tennis/player2", false},
      {"+/#", "sport", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
  }
}

TEST(topic_matches, wildcard_first_level_does_not_match_dollar_topics) {  // [MQTT-4.7.2-1]
  const match_case cases[] = {
      {"#", "$SYS/broker/uptime", false},
      {"+/monitor/Clients", "$SYS/monitor/Clients", false},
      {"+", "$SYS", false},
      {"$SYS/#", "$SYS/monitor/Clients", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
      {"a/#", "a/$b", true},  // the rule is about the first character only
      {"+/$b", "a/$b", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
  }
}

TEST(topic_matches, exact_levels_compare_bytes_and_count) {
  const match_case cases[] = {
      {"a/b", "a/b", true},   {"a/b", "a/b/", false},
      {"a/b/", "a/b/", true}, {"a//b", "a//b", true},
      {"a//b", "a/b", false}, {"a/+/b", "a//b", true},
      {"/a", "/a", true},     {"/a", "a", false},
      {"a", "A", false},      {"a/b", "a", false},
      {"a", "a/b", false},    {"a/#", "a", true},
      {"a/#", "a/", true},    {"a/+/#", "a/b", true},
      {"a/+/#", "a", false},  {"caf\xC3\xA9", "caf\xC3\xA9", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
  }
}

}  // namespace
}  // namespace mqtt
