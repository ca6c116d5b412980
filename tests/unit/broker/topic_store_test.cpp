// The subscription tree and the retained store: which filters match which topics.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "broker/retained_store.hpp"
#include "broker/subscription_tree.hpp"

namespace broker {
namespace {

session* fake_session(std::uintptr_t n) {
  return reinterpret_cast<session*>(n * 16);
}

std::set<session*> subscribers_of(const subscription_tree& tree, std::string_view topic) {
  std::set<session*> found;
  tree.match(topic, [&](session* s, const mqtt::subscription&) { found.insert(s); });
  return found;
}

mqtt::subscription filter(std::string f, mqtt::qos q = mqtt::qos::at_most_once) {
  mqtt::subscription s;
  s.filter = std::move(f);
  s.max_qos = q;
  return s;
}

TEST(subscription_tree, exact_filter_matches_only_its_topic) {
  subscription_tree tree;
  tree.subscribe(fake_session(1), filter("home/kitchen/temp"));
  EXPECT_EQ(subscribers_of(tree, "home/kitchen/temp").size(), 1u);
  EXPECT_TRUE(subscribers_of(tree, "home/kitchen").empty());
  EXPECT_TRUE(subscribers_of(tree, "home/kitchen/temp/x").empty());
}

TEST(subscription_tree, plus_matches_exactly_one_level) {
  subscription_tree tree;
  tree.subscribe(fake_session(1), filter("home/+/temp"));
  EXPECT_EQ(subscribers_of(tree, "home/kitchen/temp").size(), 1u);
  EXPECT_EQ(subscribers_of(tree, "home//temp").size(), 1u);  // an empty level is a level
  EXPECT_TRUE(subscribers_of(tree, "home/a/b/temp").empty());
}

TEST(subscription_tree, hash_matches_parent_and_all_children) {
  subscription_tree tree;
  tree.subscribe(fake_session(1), filter("sport/#"));
  EXPECT_EQ(subscribers_of(tree, "sport").size(), 1u);  // [MQTT-4.7.1-2]
  EXPECT_EQ(subscribers_of(tree, "sport/tennis/player1").size(), 1u);
  EXPECT_TRUE(subscribers_of(tree, "sports").empty());
}

TEST(subscription_tree, wildcards_at_first_level_skip_dollar_topics) {
  subscription_tree tree;
  tree.subscribe(fake_session(1), filter("#"));
  tree.subscribe(fake_session(2), filter("+/broker/uptime"));
  tree.subscribe(fake_session(3), filter("$SYS/#"));
  EXPECT_EQ(subscribers_of(tree, "$SYS/broker/uptime"), std::set<session*>{fake_session(3)});
  EXPECT_EQ(subscribers_of(tree, "x/broker/uptime").size(), 2u);
}

TEST(subscription_tree, resubscribe_replaces_options) {
  subscription_tree tree;
  EXPECT_TRUE(tree.subscribe(fake_session(1), filter("a", mqtt::qos::at_most_once)));
  EXPECT_FALSE(tree.subscribe(fake_session(1), filter("a", mqtt::qos::exactly_once)));
  EXPECT_EQ(tree.size(), 1u);
  mqtt::qos seen = mqtt::qos::at_most_once;
  tree.match("a", [&](session*, const mqtt::subscription& s) { seen = s.max_qos; });
  EXPECT_EQ(seen, mqtt::qos::exactly_once);
}

TEST(subscription_tree, unsubscribe_stops_matching_and_keeps_others) {
  subscription_tree tree;
  tree.subscribe(fake_session(1), filter("a/+"));
  tree.subscribe(fake_session(2), filter("a/+"));
  EXPECT_TRUE(tree.unsubscribe(fake_session(1), "a/+"));
  EXPECT_FALSE(tree.unsubscribe(fake_session(1), "a/+"));
  EXPECT_EQ(subscribers_of(tree, "a/b"), std::set<session*>{fake_session(2)});
  EXPECT_TRUE(tree.unsubscribe(fake_session(2), "a/+"));
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_TRUE(subscribers_of(tree, "a/b").empty());
}

message_ptr retained(std::string topic, std::string payload) {
  return message::make(std::move(topic), std::move(payload), mqtt::qos::at_least_once, true);
}

std::vector<std::string> retained_topics(const retained_store& store, std::string_view f) {
  std::vector<std::string> topics;
  store.match(f, [&](const message_ptr& m) { topics.emplace_back(m->topic()); });
  std::sort(topics.begin(), topics.end());
  return topics;
}

TEST(retained_store, newer_message_replaces_older) {
  retained_store store;
  store.store(retained("a/b", "1"));
  store.store(retained("a/b", "2"));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.find("a/b")->payload(), "2");
}

TEST(retained_store, empty_payload_deletes) {
  retained_store store;
  store.store(retained("a/b", "1"));
  store.store(retained("a/b", ""));  // [MQTT-3.3.1-10]
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.find("a/b"), nullptr);
  EXPECT_TRUE(retained_topics(store, "#").empty());
}

TEST(retained_store, wildcard_filters_find_matching_messages) {
  retained_store store;
  for (const char* t : {"homeassistant/sensor/a/config", "homeassistant/sensor/b/config",
                        "homeassistant/light/c/config", "homeassistant", "other/x"}) {
    store.store(retained(t, "x"));
  }
  EXPECT_EQ(
      retained_topics(store, "homeassistant/sensor/+/config"),
      (std::vector<std::string>{"homeassistant/sensor/a/config", "homeassistant/sensor/b/config"}));
  EXPECT_EQ(retained_topics(store, "homeassistant/#").size(), 4u);  // parent included
  EXPECT_EQ(retained_topics(store, "+").size(), 1u);
  EXPECT_EQ(retained_topics(store, "#").size(), 5u);
  EXPECT_EQ(retained_topics(store, "other/x"), std::vector<std::string>{"other/x"});
}

TEST(retained_store, dollar_topics_only_match_explicit_filters) {
  retained_store store;
  store.store(retained("$SYS/broker/version", "v"));
  EXPECT_TRUE(retained_topics(store, "#").empty());
  EXPECT_TRUE(retained_topics(store, "+/broker/version").empty());
  EXPECT_EQ(retained_topics(store, "$SYS/#").size(), 1u);
  EXPECT_EQ(retained_topics(store, "$SYS/+/version").size(), 1u);
}

}  // namespace
TEST(retained_store, bytes_follow_stores_replacements_and_deletions) {
  retained_store store;
  const message_ptr a = retained("a", "12345");
  const message_ptr b = retained("b/c", "1");
  store.store(a);
  store.store(b);
  EXPECT_EQ(store.bytes(), retained_cost(*a) + retained_cost(*b));
  const message_ptr longer = retained("a", std::string(100, 'x'));
  store.store(longer);
  EXPECT_EQ(store.bytes(), retained_cost(*longer) + retained_cost(*b));
  store.erase("b/c");
  store.store(retained("a", ""));
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.size(), 0u);
}

TEST(retained_store, store_within_refuses_what_would_pass_the_limit_and_keeps_the_old) {
  retained_store store;
  const message_ptr first = retained("t/1", "x");
  const std::size_t limit = 2 * retained_cost(*first) + 10;
  EXPECT_TRUE(store.store_within(first, limit));
  EXPECT_TRUE(store.store_within(retained("t/2", "y"), limit));
  // A third topic does not fit; it leaves no trace.
  EXPECT_FALSE(store.store_within(retained("t/3/deep", "z"), limit));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(retained_topics(store, "#"), (std::vector<std::string>{"t/1", "t/2"}));
  // Replacing within the room left is fine; growing past it keeps the previous message.
  EXPECT_TRUE(store.store_within(retained("t/1", std::string(11, 'a')), limit));
  EXPECT_EQ(store.find("t/1")->payload().size(), 11u);
  EXPECT_FALSE(store.store_within(retained("t/1", std::string(12, 'b')), limit));
  EXPECT_EQ(store.find("t/1")->payload(), std::string(11, 'a'));
  // Deleting always works, and makes room.
  EXPECT_TRUE(store.store_within(retained("t/2", ""), limit));
  EXPECT_TRUE(store.store_within(retained("t/3", "z"), limit));
  EXPECT_EQ(store.size(), 2u);
}

}  // namespace broker
