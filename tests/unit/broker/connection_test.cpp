// The Sans-I/O connection and the broker state together: protocol rules, packet by packet.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "broker/retained_store.hpp"
#include "broker/session.hpp"
#include "mqtt/reason_code.hpp"
#include "test_client.hpp"

namespace broker::testing {
namespace {

class connection_test : public ::testing::Test {
 protected:
  std::ostringstream log_text;
  logger log{log_level::debug, log_text};
  fixed_authenticator auth;
  broker_config config = [] {
    broker_config c;
    c.max_packet_size = 1024;
    return c;
  }();
  broker_core core{config, auth, log};

  std::unique_ptr<test_client> connected(std::string id, bool clean = true,
                                         std::optional<mqtt::will_message> will = std::nullopt) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id), clean, 0, std::move(will));
    auto acks = c->received_of<mqtt::connack_packet>();
    EXPECT_EQ(acks.size(), 1u);
    if (!acks.empty()) {
      EXPECT_EQ(acks[0].reason_code, 0);
    }
    return c;
  }
};

TEST_F(connection_test, good_login_gets_connack_accepted) {
  test_client c(core);
  c.connect("dev1");
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::accepted);
  EXPECT_FALSE(acks[0].session_present);
  EXPECT_FALSE(c.conn().should_close());
  EXPECT_EQ(core.stats().clients_connected, 1u);
}

TEST_F(connection_test, anonymous_is_refused_with_not_authorized_and_closed) {
  test_client c(core);
  mqtt::connect_packet connect;
  connect.client_id = "anon";
  c.send(connect);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::not_authorized);
  EXPECT_TRUE(c.conn().should_close());
  EXPECT_EQ(log_text.str().find("password"), std::string::npos);
}

TEST_F(connection_test, wrong_password_is_refused_with_bad_credentials) {
  test_client c(core);
  mqtt::connect_packet connect;
  connect.client_id = "x";
  connect.username = "u";
  connect.password = "secret-wrong";
  c.send(connect);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::bad_username_or_password);
  EXPECT_TRUE(c.conn().should_close());
  EXPECT_EQ(log_text.str().find("secret-wrong"), std::string::npos);  // never log a password
}

TEST_F(connection_test, unsupported_protocol_level_gets_return_code_1) {
  test_client c(core);
  // CONNECT "MQTT" level 6, clean session, keep-alive 60, client id "a".
  c.send_bytes(
      std::string("\x10\x0d\x00\x04MQTT\x06\x02\x00\x3c\x00\x01"
                  "a",
                  15));
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::unacceptable_protocol_version);
  EXPECT_TRUE(c.conn().should_close());
}

TEST_F(connection_test, empty_client_id_with_persistent_session_is_rejected) {
  test_client c(core);
  c.connect("", false);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::identifier_rejected);  // [MQTT-3.1.3-8]
}

TEST_F(connection_test, empty_client_id_with_clean_session_gets_an_id) {
  test_client c(core);
  c.connect("", true);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, 0);  // [MQTT-3.1.3-6]
  EXPECT_FALSE(c.conn().client_id().empty());
}

TEST_F(connection_test, first_packet_other_than_connect_closes) {
  test_client c(core);
  c.send(mqtt::pingreq_packet{});
  EXPECT_TRUE(c.received().empty());
  EXPECT_TRUE(c.conn().should_close());  // [MQTT-3.1.0-1]
}

TEST_F(connection_test, second_connect_closes_the_connection) {
  auto c = connected("dev");
  c->connect("dev");
  EXPECT_TRUE(c->conn().should_close());  // [MQTT-3.1.0-2]
}

TEST_F(connection_test, malformed_packet_closes_only_that_connection) {
  auto bad = connected("bad");
  auto good = connected("good");
  good->send(subscribe("t"));
  good->received();
  bad->send_bytes(std::string("\x36\x00", 2));  // PUBLISH with QoS 3
  EXPECT_TRUE(bad->conn().should_close());
  auto pub = std::make_unique<test_client>(core);
  pub->connect("pub");
  pub->send(publish("t", "still here"));
  auto got = good->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "still here");
}

TEST_F(connection_test, oversized_packet_closes_with_a_log_line) {
  auto c = connected("big");
  // PUBLISH claiming 2048 bytes against a 1024-byte limit: refused from the header alone.
  c->send_bytes(std::string("\x30\x80\x10", 3));
  EXPECT_TRUE(c->conn().should_close());
  c->drop();
  EXPECT_NE(log_text.str().find("[big] disconnected: malformed packet"), std::string::npos);
}

TEST_F(connection_test, publish_reaches_wildcard_subscriber) {
  auto sub = connected("sub");
  sub->send(subscribe("home/+/temp"));
  auto acks = sub->received_of<mqtt::suback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes, std::vector<std::uint8_t>{0});
  auto pub = connected("pub");
  pub->send(publish("home/kitchen/temp", "21.5"));
  EXPECT_GT(sub->wakes, 0);
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "home/kitchen/temp");
  EXPECT_EQ(got[0].payload, "21.5");
  EXPECT_FALSE(got[0].retain);
}

TEST_F(connection_test, invalid_filter_gets_failure_code_and_others_are_granted) {
  auto sub = connected("sub");
  mqtt::subscribe_packet s = subscribe("a/#/b");
  mqtt::subscription ok;
  ok.filter = "ok";
  ok.max_qos = mqtt::qos::exactly_once;
  s.subscriptions.push_back(ok);
  sub->send(s);
  auto acks = sub->received_of<mqtt::suback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes, (std::vector<std::uint8_t>{0x80, 2}));
}

TEST_F(connection_test, retained_message_is_delivered_on_subscribe_with_retain_set) {
  auto pub = connected("pub");
  pub->send(publish("ha/sensor/config", "{}", mqtt::qos::at_least_once, true, 7));
  auto sub = connected("sub");
  sub->send(subscribe("ha/#", mqtt::qos::at_most_once));
  auto got = sub->received();
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<mqtt::suback_packet>(got[0]));  // SUBACK first
  const auto& p = std::get<mqtt::publish_packet>(got[1]);
  EXPECT_TRUE(p.retain);                      // [MQTT-3.3.1-8]
  EXPECT_EQ(p.qos, mqtt::qos::at_most_once);  // min(publish QoS, granted QoS)
  // Live forwarding of a retained publish clears the flag [MQTT-3.3.1-9].
  pub->send(publish("ha/sensor/config", "{2}", mqtt::qos::at_most_once, true));
  auto live = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_FALSE(live[0].retain);
}

TEST_F(connection_test, empty_retained_payload_deletes_the_retained_message) {
  auto pub = connected("pub");
  pub->send(publish("a", "x", mqtt::qos::at_most_once, true));
  pub->send(publish("a", "", mqtt::qos::at_most_once, true));
  auto sub = connected("sub");
  sub->send(subscribe("a"));
  EXPECT_TRUE(sub->received_of<mqtt::publish_packet>().empty());
  EXPECT_EQ(core.stats().retained_messages, 0u);
}

TEST_F(connection_test, qos1_publish_is_acknowledged_and_delivered_with_packet_id) {
  auto sub = connected("sub");
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("t", "m", mqtt::qos::at_least_once, false, 42));
  auto acks = pub->received_of<mqtt::puback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 42);
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, mqtt::qos::at_least_once);
  EXPECT_NE(got[0].packet_id, 0);
}

TEST_F(connection_test, qos2_duplicate_before_pubrel_is_delivered_once) {
  auto sub = connected("sub");
  sub->send(subscribe("t", mqtt::qos::exactly_once));
  sub->received();
  auto pub = connected("pub");
  auto p = publish("t", "once", mqtt::qos::exactly_once, false, 9);
  pub->send(p);
  p.dup = true;
  pub->send(p);
  EXPECT_EQ(pub->received_of<mqtt::pubrec_packet>().size(), 2u);
  pub->send(mqtt::pubrel_packet{9, 0, {}});
  auto comps = pub->received_of<mqtt::pubcomp_packet>();
  ASSERT_EQ(comps.size(), 1u);
  EXPECT_EQ(comps[0].packet_id, 9);
  EXPECT_EQ(sub->received_of<mqtt::publish_packet>().size(), 1u);
  // After PUBREL the id is free again: a new message with it is a new delivery.
  pub->send(publish("t", "again", mqtt::qos::exactly_once, false, 9));
  EXPECT_EQ(sub->received_of<mqtt::publish_packet>().size(), 1u);
}

TEST_F(connection_test, subscription_downgrades_qos) {
  auto sub = connected("sub");
  sub->send(subscribe("t", mqtt::qos::at_most_once));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("t", "m", mqtt::qos::exactly_once, false, 1));
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, mqtt::qos::at_most_once);
}

TEST_F(connection_test, overlapping_subscriptions_deliver_once_at_highest_qos) {
  auto sub = connected("sub");
  sub->send(subscribe("a/#", mqtt::qos::at_most_once, 1));
  sub->send(subscribe("a/b", mqtt::qos::at_least_once, 2));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("a/b", "m", mqtt::qos::at_least_once, false, 1));
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);  // [MQTT-3.3.5-1]
  EXPECT_EQ(got[0].qos, mqtt::qos::at_least_once);
}

TEST_F(connection_test, unsubscribe_stops_delivery) {
  auto sub = connected("sub");
  sub->send(subscribe("t"));
  sub->received();
  mqtt::unsubscribe_packet u;
  u.packet_id = 3;
  u.filters = {"t"};
  sub->send(u);
  auto acks = sub->received_of<mqtt::unsuback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 3);
  auto pub = connected("pub");
  pub->send(publish("t", "m"));
  EXPECT_TRUE(sub->received_of<mqtt::publish_packet>().empty());
}

TEST_F(connection_test, will_is_published_when_connection_is_lost) {
  auto watcher = connected("watcher");
  watcher->send(subscribe("status/#"));
  watcher->received();
  mqtt::will_message will;
  will.topic = "status/dev";
  will.payload = "offline";
  will.retain = true;
  auto dev = connected("dev", true, will);
  dev->drop();
  auto got = watcher->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "offline");
  EXPECT_EQ(core.stats().retained_messages, 1u);  // will retain kept it
}

TEST_F(connection_test, will_is_discarded_after_disconnect) {
  auto watcher = connected("watcher");
  watcher->send(subscribe("status/#"));
  watcher->received();
  mqtt::will_message will;
  will.topic = "status/dev";
  will.payload = "offline";
  auto dev = connected("dev", true, will);
  dev->send(mqtt::disconnect_packet{});
  EXPECT_TRUE(dev->conn().should_close());
  dev->drop();
  EXPECT_TRUE(watcher->received_of<mqtt::publish_packet>().empty());  // [MQTT-3.14.4-3]
}

TEST_F(connection_test, second_connection_with_same_client_id_takes_over) {
  auto first = connected("same");
  auto second = connected("same");
  EXPECT_GT(first->wakes, 0);
  first->received();
  EXPECT_TRUE(first->conn().should_close());  // [MQTT-3.1.4-2]
  EXPECT_FALSE(second->conn().should_close());
  first->drop();
  EXPECT_EQ(core.stats().clients_connected, 1u);
  // The new connection owns the session: its subscription works.
  second->send(subscribe("t"));
  second->received();
  auto pub = connected("pub");
  pub->send(publish("t", "m"));
  EXPECT_EQ(second->received_of<mqtt::publish_packet>().size(), 1u);
}

TEST_F(connection_test, persistent_session_keeps_subscriptions_and_queues_qos1_while_offline) {
  auto sub = connected("persist", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  sub->drop();
  auto pub = connected("pub");
  pub->send(publish("t", "while away", mqtt::qos::at_least_once, false, 1));
  pub->send(publish("t", "qos0 not kept", mqtt::qos::at_most_once));

  test_client again(core);
  again.connect("persist", false);
  auto got = again.received();
  ASSERT_GE(got.size(), 2u);
  const auto& ack = std::get<mqtt::connack_packet>(got[0]);
  EXPECT_TRUE(ack.session_present);  // [MQTT-3.2.2-2]
  const auto& p = std::get<mqtt::publish_packet>(got[1]);
  EXPECT_EQ(p.payload, "while away");
  EXPECT_EQ(got.size(), 2u);
}

TEST_F(connection_test, unacknowledged_qos1_is_redelivered_with_dup_after_reconnect) {
  auto sub = connected("persist", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("t", "m", mqtt::qos::at_least_once, false, 1));
  auto first = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(first[0].dup);
  sub->drop();
  test_client again(core);
  again.connect("persist", false);
  auto redelivered = again.received_of<mqtt::publish_packet>();
  ASSERT_EQ(redelivered.size(), 1u);
  EXPECT_TRUE(redelivered[0].dup);  // [MQTT-4.4.0-1]
  EXPECT_EQ(redelivered[0].packet_id, first[0].packet_id);
  again.send(mqtt::puback_packet{first[0].packet_id, 0, {}});
  again.drop();
  test_client third(core);
  third.connect("persist", false);
  EXPECT_TRUE(third.received_of<mqtt::publish_packet>().empty());
}

TEST_F(connection_test, clean_session_discards_previous_state) {
  auto sub = connected("c", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  sub->drop();
  test_client again(core);
  again.connect("c", true);
  auto acks = again.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].session_present);
  auto pub = connected("pub");
  pub->send(publish("t", "m", mqtt::qos::at_least_once, false, 1));
  EXPECT_TRUE(again.received_of<mqtt::publish_packet>().empty());
}

TEST_F(connection_test, keep_alive_deadline_is_one_and_a_half_times_the_interval) {
  test_client c(core);
  c.connect("ka", true, 10);
  c.received();
  const auto deadline = c.conn().deadline();
  const auto now = std::chrono::steady_clock::now();
  EXPECT_GT(deadline, now + std::chrono::milliseconds(14000));
  EXPECT_LE(deadline, now + std::chrono::milliseconds(15000));
  c.conn().on_timer(now + std::chrono::seconds(10));
  EXPECT_FALSE(c.conn().should_close());
  c.conn().on_timer(deadline);
  EXPECT_TRUE(c.conn().should_close());  // [MQTT-3.1.2-24]
}

TEST_F(connection_test, connection_without_connect_times_out) {
  test_client c(core);
  c.conn().on_timer(std::chrono::steady_clock::now() + config.connect_timeout +
                    std::chrono::seconds(1));
  EXPECT_TRUE(c.conn().should_close());
}

TEST_F(connection_test, pingreq_gets_pingresp) {
  auto c = connected("p");
  c->send(mqtt::pingreq_packet{});
  EXPECT_EQ(c->received_of<mqtt::pingresp_packet>().size(), 1u);
}

TEST_F(connection_test, clients_cannot_publish_to_sys_topics) {
  auto sub = connected("sub");
  sub->send(subscribe("$SYS/#"));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("$SYS/broker/version", "fake", mqtt::qos::at_least_once, false, 1));
  EXPECT_EQ(pub->received_of<mqtt::puback_packet>().size(), 1u);
  EXPECT_TRUE(sub->received_of<mqtt::publish_packet>().empty());
}

TEST_F(connection_test, sys_statistics_are_published_retained) {
  auto pub = connected("pub");
  pub->send(publish("t", "hello"));
  core.tick(std::chrono::steady_clock::now());
  auto sub = connected("sub");
  sub->send(subscribe("$SYS/broker/#"));
  std::map<std::string, std::string> values;
  for (auto& p : sub->received_of<mqtt::publish_packet>()) values[p.topic] = p.payload;
  EXPECT_EQ(values["$SYS/broker/messages/received"], "1");
  EXPECT_EQ(values["$SYS/broker/clients/connected"], "1");
  EXPECT_NE(values["$SYS/broker/version"].find(config.version), std::string::npos);
  EXPECT_TRUE(values.count("$SYS/broker/uptime"));
  EXPECT_TRUE(values.count("$SYS/broker/bytes/received"));
  EXPECT_TRUE(values.count("$SYS/broker/bytes/sent"));
  EXPECT_TRUE(values.count("$SYS/broker/messages/sent"));
}

TEST_F(connection_test, slow_subscriber_queue_is_bounded_and_drops_are_counted) {
  broker_config small = config;
  small.max_client_buffer_bytes =
      10 * queue_cost(*message::make("t", "00", mqtt::qos::at_most_once, false));
  broker_core limited{small, auth, log};
  test_client slow(limited);
  slow.connect("slow");
  slow.received();
  slow.send(subscribe("t"));
  slow.received();
  test_client pub(limited);
  pub.connect("pub");
  pub.received();
  for (int i = 0; i < 50; ++i) pub.send(publish("t", std::to_string(i)));
  EXPECT_EQ(limited.stats().publish_dropped, 40u);
  EXPECT_EQ(limited.stats().limits.dropped_client_budget, 40u);
  auto got = slow.received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front().payload, "0");
  EXPECT_NE(log_text.str().find("QoS 0 messages are dropped for this client"), std::string::npos);
}

TEST_F(connection_test, qos1_past_a_live_client_budget_disconnects_it_and_its_session_keeps_them) {
  broker_config small = config;
  small.max_inflight = 2;
  small.max_client_buffer_bytes =
      5 * queue_cost(*message::make("t", "00", mqtt::qos::at_most_once, false));
  broker_core limited{small, auth, log};
  auto slow = std::make_unique<test_client>(limited);
  slow->connect("slow", false);
  slow->received();
  slow->send(subscribe("t", mqtt::qos::at_least_once));
  slow->received();
  test_client pub(limited);
  pub.connect("pub");
  pub.received();
  for (int i = 0; i < 10; ++i) {
    pub.send(publish("t", std::to_string(i), mqtt::qos::at_least_once, false, i + 1));
  }
  // Two in flight, five queued, the eighth over budget: the client goes, nothing is dropped.
  EXPECT_EQ(slow->received_of<mqtt::publish_packet>().size(), 0u);
  EXPECT_TRUE(slow->conn().should_close());
  EXPECT_EQ(limited.stats().limits.disconnected_for_budget, 1u);
  EXPECT_EQ(limited.stats().publish_dropped, 0u);
  slow->drop();
  test_client again(limited);
  again.connect("slow", false);
  std::vector<std::string> payloads;
  for (int round = 0; round < 20 && payloads.size() < 10; ++round) {
    for (const auto& p : again.received_of<mqtt::publish_packet>()) {
      if (!p.dup || std::find(payloads.begin(), payloads.end(), p.payload) == payloads.end()) {
        payloads.push_back(p.payload);
      }
      again.send(mqtt::puback_packet{p.packet_id, 0, {}});
    }
  }
  EXPECT_EQ(payloads, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
}

TEST_F(connection_test, a_v5_client_past_its_budget_is_told_quota_exceeded) {
  broker_config small = config;
  small.max_inflight = 1;
  small.max_client_buffer_bytes =
      2 * queue_cost(*message::make("t", "00", mqtt::qos::at_most_once, false));
  broker_core limited{small, auth, log};
  test_client slow(limited);
  slow.use_version(mqtt::protocol_version::v5);
  slow.connect("slow5", false);
  slow.received();
  slow.send(subscribe("t", mqtt::qos::at_least_once));
  slow.received();
  test_client pub(limited);
  pub.connect("pub");
  pub.received();
  for (int i = 0; i < 5; ++i) {
    pub.send(publish("t", std::to_string(i), mqtt::qos::at_least_once, false, i + 1));
  }
  const auto disconnects = slow.received_of<mqtt::disconnect_packet>();
  ASSERT_EQ(disconnects.size(), 1u);
  EXPECT_EQ(disconnects[0].reason_code, mqtt::reason::quota_exceeded);  // 0x97
  EXPECT_TRUE(slow.conn().should_close());
}

TEST_F(connection_test, limit_counters_are_published_under_sys) {
  core.tick(std::chrono::steady_clock::now());
  auto sub = connected("sub");
  sub->send(subscribe("$SYS/broker/limits/#"));
  std::map<std::string, std::string> values;
  for (auto& p : sub->received_of<mqtt::publish_packet>()) values[p.topic] = p.payload;
  for (const char* topic :
       {"$SYS/broker/limits/messages/dropped/client_budget",
        "$SYS/broker/limits/messages/dropped/total_budget",
        "$SYS/broker/limits/messages/dropped/offline", "$SYS/broker/limits/clients/disconnected",
        "$SYS/broker/limits/connections/refused", "$SYS/broker/limits/connections/connect_timeout",
        "$SYS/broker/limits/logins/throttled", "$SYS/broker/limits/buffered/bytes",
        "$SYS/broker/limits/subscriptions/refused", "$SYS/broker/limits/sessions/refused",
        "$SYS/broker/limits/retained/refused", "$SYS/broker/limits/connections/input_budget"}) {
    EXPECT_EQ(values[topic], "0") << topic;
  }
}

TEST_F(connection_test, a_will_does_not_reach_its_own_client_through_no_local) {
  // [MQTT-3.8.3-3]: the will is the client's message; its new connection (a takeover of the
  // session) subscribed with No Local does not get it back, others do.
  // A 5.0 CONNECT of "a" whose session outlives the connection (expiry 60 s).
  const auto connect_a = [](test_client& c, std::optional<mqtt::will_message> will) {
    c.use_version(mqtt::protocol_version::v5);
    mqtt::connect_packet p;
    p.version = mqtt::protocol_version::v5;
    p.client_id = "a";
    p.clean_start = false;
    p.username = "u";
    p.password = "p";
    p.will = std::move(will);
    p.props.push_back({mqtt::property_id::session_expiry_interval, std::uint32_t{60}});
    c.send(p);
  };
  test_client first(core);
  // QoS 1: the session, offline for a moment during the takeover, would keep it.
  connect_a(first, mqtt::will_message{"w/a", "gone", mqtt::qos::at_least_once, false, {}});
  mqtt::subscribe_packet s = subscribe("w/#", mqtt::qos::at_least_once);
  s.subscriptions[0].no_local = true;
  first.send(s);
  first.received();
  auto other = connected("other");
  other->send(subscribe("w/#"));
  other->received();
  test_client second(core);
  connect_a(second, std::nullopt);
  // All it got, CONNACK and whatever its session held, in one go.
  bool present = false;
  std::size_t publishes = 0;
  for (const auto& p : second.received()) {
    if (const auto* ack = std::get_if<mqtt::connack_packet>(&p)) present = ack->session_present;
    publishes += std::holds_alternative<mqtt::publish_packet>(p) ? 1 : 0;
  }
  EXPECT_TRUE(present);
  EXPECT_EQ(publishes, 0u);
  EXPECT_EQ(other->received_of<mqtt::publish_packet>().size(), 1u);  // the will went out
}

// The bounds on what clients make the broker keep, set small here (the defaults are far past a
// home's needs): past each, that one thing is refused and the connection goes on.
class bounded_broker : public connection_test {
 protected:
  broker_config bounded = [this] {
    broker_config c = config;
    c.max_subscriptions_per_client = 2;
    c.max_subscriptions = 3;
    c.max_sessions = 2;
    c.max_client_id_bytes = 8;
    return c;
  }();
  broker_core limited{bounded, auth, log};

  std::unique_ptr<test_client> client(std::string id, bool v5 = false) {
    auto c = std::make_unique<test_client>(limited);
    if (v5) c->use_version(mqtt::protocol_version::v5);
    c->connect(std::move(id), false);
    return c;
  }
  static std::vector<std::uint8_t> suback(test_client& c, const std::string& filter) {
    c.send(subscribe(filter));
    const auto acks = c.received_of<mqtt::suback_packet>();
    return acks.size() == 1 ? acks[0].reason_codes : std::vector<std::uint8_t>{};
  }
  using codes = std::vector<std::uint8_t>;
};

TEST_F(bounded_broker, subscriptions_past_the_per_client_bound_get_a_failure_code) {
  auto a = client("a");
  a->received();
  EXPECT_EQ(suback(*a, "one"), codes{0});
  EXPECT_EQ(suback(*a, "two/#"), codes{0});
  EXPECT_EQ(suback(*a, "three"), codes{0x80});
  EXPECT_EQ(suback(*a, "one"), codes{0});  // replacing adds nothing
  EXPECT_FALSE(a->conn().should_close());
  EXPECT_EQ(limited.stats().limits.subscriptions_refused, 1u);
  EXPECT_EQ(limited.stats().subscriptions, 2u);
  // The refused filter delivers nothing; the granted ones still do.
  auto pub = client("pub");
  pub->received();
  pub->send(publish("three", "x"));
  pub->send(publish("two/b", "y"));
  const auto got = a->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "two/b");
  EXPECT_NE(log_text.str().find("max_subscriptions_per_client"), std::string::npos);
}

TEST_F(bounded_broker, subscriptions_past_the_total_bound_get_quota_exceeded_in_5_0) {
  auto a = client("a");
  a->received();
  EXPECT_EQ(suback(*a, "one"), codes{0});
  EXPECT_EQ(suback(*a, "two"), codes{0});
  auto b = client("b", true);
  b->received();
  EXPECT_EQ(suback(*b, "$share/g/three"), codes{0});  // shared ones count too
  EXPECT_EQ(suback(*b, "four"), codes{mqtt::reason::quota_exceeded});
  // Unsubscribing makes room.
  mqtt::unsubscribe_packet u;
  u.packet_id = 2;
  u.filters = {"one"};
  a->send(u);
  EXPECT_EQ(suback(*b, "four"), codes{0});
  EXPECT_EQ(limited.stats().limits.subscriptions_refused, 1u);
}

TEST_F(bounded_broker, a_new_session_past_the_bound_is_refused_and_existing_ones_resume) {
  auto a = client("a");
  auto b = client("b");
  auto c = client("c");
  auto refused = c->received_of<mqtt::connack_packet>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].reason_code, mqtt::connect_return::server_unavailable);
  EXPECT_TRUE(c->conn().should_close());
  auto c5 = client("c5", true);
  refused = c5->received_of<mqtt::connack_packet>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].reason_code, mqtt::reason::quota_exceeded);
  EXPECT_EQ(limited.stats().limits.sessions_refused, 2u);
  // "a" comes back on a new connection (a takeover): its session resumes.
  auto again = client("a");
  const auto resumed = again->received_of<mqtt::connack_packet>();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason_code, 0);
  EXPECT_TRUE(resumed[0].session_present);
  EXPECT_EQ(limited.stats().sessions, 2u);
}

TEST_F(bounded_broker, a_client_id_longer_than_the_bound_is_refused) {
  auto longest = client("12345678");
  EXPECT_EQ(longest->received_of<mqtt::connack_packet>().at(0).reason_code, 0);
  auto longer = client("123456789");
  const auto refused = longer->received_of<mqtt::connack_packet>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].reason_code, mqtt::connect_return::identifier_rejected);
  EXPECT_TRUE(longer->conn().should_close());
  auto longer5 = client("123456789", true);
  EXPECT_EQ(longer5->received_of<mqtt::connack_packet>().at(0).reason_code,
            mqtt::reason::client_identifier_not_valid);  // 0x85
}

TEST_F(connection_test, large_packets_still_arriving_share_the_total_buffer_budget) {
  broker_config small = config;
  small.max_packet_size = 1 << 20;
  small.max_total_buffer_bytes = 100 * 1024;
  broker_core limited{small, auth, log};
  std::string whole;  // one QoS 0 PUBLISH of 200 KiB
  mqtt::encode(publish("big", std::string(200 * 1024, 'x')), mqtt::protocol_version::v3_1_1, whole);
  const std::string_view first_part = std::string_view(whole).substr(0, 80 * 1024);
  test_client sub(limited);
  sub.connect("sub");
  sub.send(subscribe("big"));
  sub.received();
  test_client a(limited);
  a.connect("a");
  a.received();
  test_client b(limited);
  b.connect("b");
  b.received();
  a.send_bytes(first_part);  // 80 KiB held: within the 100 KiB budget
  EXPECT_FALSE(a.conn().should_close());
  EXPECT_EQ(limited.stats().limits.input_bytes, 80u * 1024);
  b.send_bytes(first_part);  // 160 KiB together: b is closed, a goes on
  EXPECT_TRUE(b.conn().should_close());
  EXPECT_FALSE(a.conn().should_close());
  EXPECT_EQ(limited.stats().limits.input_budget_closed, 1u);
  b.conn().on_closed();
  EXPECT_EQ(limited.stats().limits.input_bytes, 80u * 1024);
  a.send_bytes(std::string_view(whole).substr(first_part.size()));
  EXPECT_EQ(limited.stats().limits.input_bytes, 0u);
  const auto got = sub.received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload.size(), 200u * 1024);
  EXPECT_NE(log_text.str().find("max_total_buffer_mb"), std::string::npos);
}

TEST_F(connection_test, a_retained_message_past_the_bound_is_delivered_but_not_kept) {
  broker_config small = config;
  const message_ptr sample = message::make("r/1", "11", mqtt::qos::at_most_once, true);
  small.max_retained_bytes = 2 * retained_cost(*sample);
  broker_core limited{small, auth, log};
  test_client live(limited);
  live.connect("live");
  live.send(subscribe("r/#"));
  live.received();
  test_client pub(limited);
  pub.connect("pub");
  pub.send(publish("r/1", "11", mqtt::qos::at_most_once, true));
  pub.send(publish("r/2", "22", mqtt::qos::at_most_once, true));
  pub.send(publish("r/3", "33", mqtt::qos::at_most_once, true));   // past the bound
  pub.send(publish("r/1", "444", mqtt::qos::at_most_once, true));  // a byte more than room
  EXPECT_EQ(live.received_of<mqtt::publish_packet>().size(), 4u);  // all delivered live
  EXPECT_FALSE(pub.conn().should_close());
  test_client late(limited);
  late.connect("late");
  late.send(subscribe("r/#"));
  std::map<std::string, std::string> kept;
  for (const auto& p : late.received_of<mqtt::publish_packet>()) kept[p.topic] = p.payload;
  EXPECT_EQ(kept, (std::map<std::string, std::string>{{"r/1", "11"}, {"r/2", "22"}}));
  EXPECT_EQ(limited.stats().limits.retained_refused, 2u);
  // A deletion makes room.
  pub.send(publish("r/2", "", mqtt::qos::at_most_once, true));
  pub.send(publish("r/3", "33", mqtt::qos::at_most_once, true));
  EXPECT_EQ(limited.stats().retained_messages, 2u);
  late.received();  // the two live ones
  // The budget is full again; the broker's own $SYS messages are still kept, and count.
  limited.tick(std::chrono::steady_clock::now());
  late.send(subscribe("$SYS/broker/limits/retained/refused", mqtt::qos::at_most_once, 2));
  const auto sys = late.received_of<mqtt::publish_packet>();
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys[0].payload, "2");
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

// User "u" may write only "out/#" and read only "in/#".
class prefix_authorizer : public authorizer {
 public:
  bool can_publish(const client_identity&, std::string_view topic) const override {
    return topic.starts_with("out/");
  }
  bool can_subscribe(const client_identity&, std::string_view filter) const override {
    return filter != "secret/#";
  }
  bool can_receive(const client_identity&, std::string_view topic) const override {
    return topic.starts_with("in/");
  }
};

// Each user reads only the topics under its own name: "u/..." for u, "v/..." for v.
class own_prefix_authorizer : public authorizer {
 public:
  bool can_publish(const client_identity&, std::string_view) const override { return true; }
  bool can_subscribe(const client_identity&, std::string_view) const override { return true; }
  bool can_receive(const client_identity& who, std::string_view topic) const override {
    return topic.size() > who.username.size() && topic.starts_with(who.username) &&
           topic[who.username.size()] == '/';
  }
};

// A broker whose access control is `Acl`, with clients of user u.
template <class Acl>
class with_acl : public ::testing::Test {
 protected:
  std::ostringstream log_text;
  logger log{log_level::debug, log_text};
  fixed_authenticator auth;
  Acl acl;
  broker_core core{broker_config{}, auth, log, &acl};

  std::unique_ptr<test_client> connected(std::string id) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id));
    c->received();
    return c;
  }
  // A persistent session, subscribed to `filter` at QoS 1, its CONNACK and SUBACK read.
  std::unique_ptr<test_client> subscribed(std::string id, std::string filter) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id), false);
    c->received();
    c->send(subscribe(std::move(filter), mqtt::qos::at_least_once));
    c->received();
    return c;
  }
};

class access_control_test : public with_acl<prefix_authorizer> {};
class resumed_session : public with_acl<own_prefix_authorizer> {};

TEST_F(access_control_test, denied_subscription_gets_failure_code) {
  auto c = connected("c");
  c->send(subscribe("secret/#"));
  auto acks = c->received_of<mqtt::suback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes, std::vector<std::uint8_t>{0x80});
}

TEST_F(access_control_test, denied_publish_is_acknowledged_and_dropped) {
  auto sub = connected("sub");
  sub->send(subscribe("#"));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("in/x", "denied write", mqtt::qos::at_least_once, false, 5));
  EXPECT_EQ(pub->received_of<mqtt::puback_packet>().size(), 1u);
  EXPECT_TRUE(sub->received_of<mqtt::publish_packet>().empty());
}

TEST_F(access_control_test, wildcard_subscriber_receives_only_readable_topics) {
  auto sub = connected("sub");
  sub->send(subscribe("#"));
  sub->received();
  auto pub = connected("pub");
  pub->send(publish("out/a", "not readable"));
  EXPECT_TRUE(sub->received_of<mqtt::publish_packet>().empty());
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(access_control_test, will_to_a_topic_without_write_access_is_not_published) {
  auto watcher = connected("watcher");
  watcher->send(subscribe("in/#"));
  watcher->received();
  mqtt::will_message will;
  will.topic = "in/forged";  // readable, but prefix_authorizer allows writing only out/#
  will.payload = "x";
  test_client dev(core);
  dev.connect("dev", true, 0, will);
  dev.received();
  dev.drop();
  EXPECT_TRUE(watcher->received_of<mqtt::publish_packet>().empty());
  EXPECT_NE(log_text.str().find("not published: no write access"), std::string::npos);
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(connection_test, mqtt5_anonymous_connect_is_refused_with_0x87_in_the_5_0_layout) {
  test_client c(core);
  // CONNECT "MQTT" level 5, clean start, keep-alive 60, no properties, client id "a", no user.
  c.send_bytes(
      std::string("\x10\x0e\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x01"
                  "a",
                  16));
  EXPECT_TRUE(c.conn().should_close());
  output_batch out;
  c.conn().take_output(out);
  ASSERT_EQ(out.segments().size(), 1u);
  // 5.0 CONNACK: no session present, reason 0x87 not authorized, empty properties.
  EXPECT_EQ(out.view(out.segments()[0]), std::string_view("\x20\x03\x00\x87\x00", 5));
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(connection_test, every_retained_message_is_sent_on_subscribe_beyond_the_queue_limit) {
  broker_config small = config;
  small.max_queued_messages = 10;
  broker_core limited{small, auth, log};
  test_client pub(limited);
  pub.connect("pub");
  pub.received();
  for (int i = 0; i < 50; ++i) {
    pub.send(publish("homeassistant/sensor/s" + std::to_string(i) + "/config", "{}",
                     mqtt::qos::at_most_once, true));
  }
  test_client sub(limited);
  sub.connect("sub");
  sub.received();
  sub.send(subscribe("homeassistant/#", mqtt::qos::at_least_once));
  std::size_t got = 0;
  for (int round = 0; round < 100 && got < 50; ++round) {
    for (const auto& p : sub.received_of<mqtt::publish_packet>()) {
      ++got;
      if (p.qos != mqtt::qos::at_most_once) sub.send(mqtt::puback_packet{p.packet_id, 0, {}});
    }
  }
  EXPECT_EQ(got, 50u);  // [MQTT-3.8.4-3]
  EXPECT_EQ(limited.stats().publish_dropped, 0u);
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(connection_test, mqtt5_keep_alive_above_the_maximum_is_cut_and_announced) {
  broker_config capped = config;
  capped.max_keep_alive = 60;
  broker_core limited{capped, auth, log};
  test_client c(limited);
  c.use_version(mqtt::protocol_version::v5);
  c.connect("ka", true, 300);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, 0);
  // [MQTT-3.2.2-21]: the client must use the Server Keep Alive.
  EXPECT_EQ(mqtt::find_integer(acks[0].props, mqtt::property_id::server_keep_alive), 60u);
  const auto deadline = c.conn().deadline() - connection::clock::now();
  EXPECT_LE(deadline, std::chrono::seconds(90));
  EXPECT_GT(deadline, std::chrono::seconds(85));
}

TEST_F(connection_test, mqtt5_keep_alive_within_the_maximum_gets_no_server_keep_alive) {
  test_client c(core);
  c.use_version(mqtt::protocol_version::v5);
  c.connect("ka2", true, 300);
  auto acks = c.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(mqtt::find_integer(acks[0].props, mqtt::property_id::server_keep_alive));
}

TEST_F(connection_test, a_3_1_1_subscriber_gets_a_5_0_publish_without_properties) {
  test_client old(core);
  old.connect("old");
  old.received();
  old.send(subscribe("t", mqtt::qos::at_least_once));
  old.received();
  test_client v5(core);
  v5.use_version(mqtt::protocol_version::v5);
  v5.connect("new");
  v5.received();
  auto p = publish("t", "x", mqtt::qos::at_most_once);
  mqtt::property& type = p.props.emplace_back();
  type.id = mqtt::property_id::content_type;
  type.value = std::string("text/plain");
  v5.send(p);
  auto got = old.received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "x");
  EXPECT_TRUE(got[0].props.empty());
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

TEST_F(resumed_session, keeps_only_what_the_new_user_may_read) {
  // u's persistent session subscribes to everything and gets one message in flight (never
  // acknowledged) and one queued while offline.
  auto first = subscribed("shared-id", "#");
  test_client pub(core);
  pub.connect("pub");
  pub.received();
  pub.send(publish("u/inflight", "for u only", mqtt::qos::at_least_once, false, 1));
  ASSERT_EQ(first->received_of<mqtt::publish_packet>().size(), 1u);
  first->drop();
  pub.send(publish("u/queued", "for u only", mqtt::qos::at_least_once, false, 2));

  // v resumes the same client id: the session and its subscription stay, u's messages do not.
  test_client second(core);
  second.login_as("v");
  second.connect("shared-id", false);
  auto got = second.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::get<mqtt::connack_packet>(got[0]).session_present);
  EXPECT_NE(log_text.str().find("2 queued message(s) dropped"), std::string::npos);
  pub.send(publish("v/after", "for v", mqtt::qos::at_least_once, false, 3));
  auto later = second.received_of<mqtt::publish_packet>();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].topic, "v/after");
}

TEST_F(resumed_session, the_same_user_gets_everything_back) {
  subscribed("mine", "u/#")->drop();
  test_client pub(core);
  pub.connect("pub");
  pub.received();
  pub.send(publish("u/a", "1", mqtt::qos::at_least_once, false, 1));
  test_client again(core);
  again.connect("mine", false);
  EXPECT_EQ(again.received_of<mqtt::publish_packet>().size(), 1u);
  EXPECT_EQ(log_text.str().find("dropped"), std::string::npos);
}

}  // namespace
}  // namespace broker::testing
