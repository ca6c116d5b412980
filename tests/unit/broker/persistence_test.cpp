// What the broker tells durable storage, and how it restores what storage gives back.

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "broker/broker_state.hpp"
#include "test_client.hpp"

namespace broker::testing {
namespace {

// Keeps the latest state per key, as a store would, and holds durability callbacks until told.
class recording_store : public persistence {
 public:
  void retained_stored(const message_ptr& m) override {
    retained[std::string(m->topic())] = std::string(m->payload());
  }
  void retained_erased(std::string_view topic) override { retained.erase(std::string(topic)); }
  void session_stored(std::string_view id, std::string_view user) override {
    sessions[std::string(id)] = std::string(user);
  }
  void session_erased(std::string_view id) override {
    sessions.erase(std::string(id));
    expiries.erase(std::string(id));
  }
  void session_expiry_stored(std::string_view id, std::uint32_t interval,
                             std::optional<std::chrono::system_clock::time_point> ended) override {
    expiries[std::string(id)] = {interval, ended};
  }
  void subscription_stored(std::string_view id, const mqtt::subscription& s) override {
    subscriptions[std::string(id) + "|" + s.filter] = s;
  }
  void subscription_erased(std::string_view id, std::string_view filter) override {
    subscriptions.erase(std::string(id) + "|" + std::string(filter));
  }
  void delivery_stored(std::string_view id, const stored_delivery& d) override {
    deliveries[{std::string(id), d.seq}] = d;
    ++delivery_writes;
  }
  void delivery_erased(std::string_view id, std::uint64_t seq) override {
    deliveries.erase({std::string(id), seq});
  }
  void incoming_qos2_stored(std::string_view id, std::uint16_t pid) override {
    incoming[{std::string(id), pid}] = true;
  }
  void incoming_qos2_erased(std::string_view id, std::uint16_t pid) override {
    incoming.erase({std::string(id), pid});
  }
  void when_durable(std::function<void()> fn) override { waiting.push_back(std::move(fn)); }

  void make_durable() {
    auto fns = std::move(waiting);
    waiting.clear();
    for (auto& fn : fns) fn();
  }

  std::map<std::string, std::string> retained;
  std::map<std::string, std::string> sessions;
  std::map<std::string,
           std::pair<std::uint32_t, std::optional<std::chrono::system_clock::time_point>>>
      expiries;
  std::map<std::string, mqtt::subscription> subscriptions;
  std::map<std::pair<std::string, std::uint64_t>, stored_delivery> deliveries;
  std::map<std::pair<std::string, std::uint16_t>, bool> incoming;
  std::vector<std::function<void()>> waiting;
  int delivery_writes = 0;
};

class persistence_test : public ::testing::Test {
 protected:
  std::ostringstream log_text;
  logger log{log_level::debug, log_text};
  fixed_authenticator auth;
  recording_store store;

  std::unique_ptr<test_client> connected(broker_core& core, std::string id, bool clean) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id), clean);
    c->received();
    return c;
  }
};

TEST_F(persistence_test, retained_messages_are_stored_and_erased) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  auto pub = connected(core, "pub", true);
  pub->send(publish("ha/config", "{}", mqtt::qos::at_most_once, true));
  EXPECT_EQ(store.retained["ha/config"], "{}");
  pub->send(publish("ha/config", "", mqtt::qos::at_most_once, true));
  EXPECT_TRUE(store.retained.empty());
}

TEST_F(persistence_test, only_persistent_sessions_are_stored) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  auto clean = connected(core, "clean", true);
  clean->send(subscribe("a", mqtt::qos::at_least_once));
  auto kept = connected(core, "kept", false);
  kept->send(subscribe("a", mqtt::qos::at_least_once));
  EXPECT_EQ(store.sessions.size(), 1u);
  EXPECT_EQ(store.sessions["kept"], "u");
  EXPECT_EQ(store.subscriptions.size(), 1u);
  EXPECT_TRUE(store.subscriptions.count("kept|a"));
}

TEST_F(persistence_test, qos1_delivery_is_stored_until_acknowledged) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  auto sub = connected(core, "sub", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  auto pub = connected(core, "pub", true);
  pub->send(publish("t", "m", mqtt::qos::at_least_once, false, 1));
  ASSERT_EQ(store.deliveries.size(), 1u);
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(store.deliveries.begin()->second.packet_id, got[0].packet_id);  // sent: id kept
  sub->send(mqtt::puback_packet{got[0].packet_id, 0, {}});
  EXPECT_TRUE(store.deliveries.empty());
}

TEST_F(persistence_test, qos2_progress_is_stored_in_both_directions) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  auto sub = connected(core, "sub", false);
  sub->send(subscribe("t", mqtt::qos::exactly_once));
  sub->received();
  auto pub = connected(core, "pub", false);
  pub->send(publish("t", "m", mqtt::qos::exactly_once, false, 4));
  EXPECT_TRUE(store.incoming.count({"pub", 4}));
  pub->send(mqtt::pubrel_packet{4, 0, {}});
  EXPECT_FALSE(store.incoming.count({"pub", 4}));

  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  sub->send(mqtt::pubrec_packet{got[0].packet_id, 0, {}});
  ASSERT_EQ(store.deliveries.size(), 1u);
  EXPECT_TRUE(store.deliveries.begin()->second.released);
  sub->send(mqtt::pubcomp_packet{got[0].packet_id, 0, {}});
  EXPECT_TRUE(store.deliveries.empty());
}

TEST_F(persistence_test, ending_a_session_erases_everything_it_stored) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  auto sub = connected(core, "sub", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->drop();
  auto pub = connected(core, "pub", true);
  pub->send(publish("t", "queued", mqtt::qos::at_least_once, false, 1));
  EXPECT_EQ(store.deliveries.size(), 1u);
  auto fresh = connected(core, "sub", true);  // a clean start discards the stored session
  EXPECT_TRUE(store.sessions.empty());
  EXPECT_TRUE(store.subscriptions.empty());
  EXPECT_TRUE(store.deliveries.empty());
}

TEST_F(persistence_test, restored_session_redelivers_in_order_with_dup_on_sent_ones) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  mqtt::subscription sub;
  sub.filter = "t";
  sub.max_qos = mqtt::qos::exactly_once;
  auto m1 = message::make("t", "sent", mqtt::qos::at_least_once, false);
  auto m2 = message::make("t", "queued", mqtt::qos::at_least_once, false);
  core.restore_session("dev", "u", {sub},
                       {{1, m1, mqtt::qos::at_least_once, false, 17, false, {}},
                        {2, m2, mqtt::qos::at_least_once, false, 0, false, {}}},
                       {});
  test_client c(core);
  c.connect("dev", false);
  auto got = c.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(std::get<mqtt::connack_packet>(got[0]).session_present);
  const auto& first = std::get<mqtt::publish_packet>(got[1]);
  EXPECT_EQ(first.payload, "sent");
  EXPECT_TRUE(first.dup);
  EXPECT_EQ(first.packet_id, 17);
  const auto& second = std::get<mqtt::publish_packet>(got[2]);
  EXPECT_EQ(second.payload, "queued");
  EXPECT_FALSE(second.dup);
  EXPECT_NE(second.packet_id, 17);
  // The restored subscription routes new messages too.
  auto pub = connected(core, "pub", true);
  pub->send(publish("t", "new"));
  EXPECT_EQ(c.received_of<mqtt::publish_packet>().size(), 1u);
}

// A session stored twice (a record written again before compaction): the later one wins whole,
// and nothing of the earlier one (its subscription) is left behind in the broker.
TEST_F(persistence_test, a_session_restored_twice_keeps_the_later_record) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  mqtt::subscription old_sub;
  old_sub.filter = "old/#";
  old_sub.max_qos = mqtt::qos::at_least_once;
  mqtt::subscription new_sub;
  new_sub.filter = "new/#";
  new_sub.max_qos = mqtt::qos::at_least_once;
  core.restore_session(std::string("dev-with-a-client-id-longer-than-15"), "u", {old_sub}, {}, {});
  core.restore_session(std::string("dev-with-a-client-id-longer-than-15"), "u", {new_sub}, {}, {});
  test_client c(core);
  c.connect("dev-with-a-client-id-longer-than-15", false);
  ASSERT_TRUE(std::get<mqtt::connack_packet>(c.received().at(0)).session_present);
  auto pub = connected(core, "pub", true);
  pub->send(publish("old/x", "gone"));
  pub->send(publish("new/x", "kept"));
  const auto got = c.received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "kept");
}

TEST_F(persistence_test, restored_retained_message_is_delivered_and_not_written_back) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  core.restore_retained(message::make("ha/x/config", "{}", mqtt::qos::at_least_once, true));
  EXPECT_TRUE(store.retained.empty());
  auto sub = connected(core, "sub", true);
  sub->send(subscribe("ha/#", mqtt::qos::at_least_once));
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
}

TEST_F(persistence_test, strict_durability_acknowledges_only_after_the_disk_write) {
  broker_config strict;
  strict.strict_durability = true;
  broker_core core{strict, auth, log, nullptr, &store};
  auto pub = connected(core, "pub", true);
  pub->send(publish("t", "m", mqtt::qos::at_least_once, true, 3));
  EXPECT_TRUE(pub->received_of<mqtt::puback_packet>().empty());
  store.make_durable();
  pub->run_posted();
  auto acks = pub->received_of<mqtt::puback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 3);
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(persistence_test, sys_statistics_are_not_written_to_storage) {
  broker_core core{broker_config{}, auth, log, nullptr, &store};
  core.tick(std::chrono::steady_clock::now());
  EXPECT_GT(core.stats().retained_messages, 0u);
  EXPECT_TRUE(store.retained.empty());
}

}  // namespace
}  // namespace broker::testing
