// What the web UI and /metrics read from the broker core, and what they may do through it: the
// topic monitor, the event log, the client list, disconnect, publish and delete-retained, and the
// Prometheus text they come out as.

#include <gtest/gtest.h>

#include <sstream>

#include "broker/broker_metrics.hpp"
#include "broker/event_log.hpp"
#include "broker/prometheus_text.hpp"
#include "broker/topic_monitor.hpp"
#include "test_client.hpp"

namespace broker::testing {
namespace {

message_ptr msg(std::string topic, std::string payload, bool retain = false) {
  return message::make(std::move(topic), std::move(payload), mqtt::qos::at_most_once, retain);
}

const auto now = std::chrono::system_clock::now();

TEST(topic_monitor, keeps_the_last_message_of_each_topic) {
  topic_monitor m(10, 1024);
  m.record(msg("a/b", "1"), now);
  m.record(msg("a/b", "2"), now);
  m.record(msg("a/c", "3"), now);
  const topic_query_result r = m.query({});
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].topic, "a/b");
  EXPECT_EQ(r.entries[0].payload(), "2");
  EXPECT_EQ(r.entries[0].messages, 2u);
  EXPECT_EQ(r.entries[1].topic, "a/c");
  EXPECT_EQ(r.seq, 3u);
}

TEST(topic_monitor, tracks_no_more_topics_than_its_cap_and_counts_the_rest) {
  topic_monitor m(2, 1024);
  m.record(msg("t/1", "x"), now);
  m.record(msg("t/2", "x"), now);
  m.record(msg("t/3", "x"), now);
  m.record(msg("t/1", "y"), now);  // a tracked topic still updates
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.untracked_messages(), 1u);
  EXPECT_EQ(m.find("t/1")->payload(), "y");
  EXPECT_EQ(m.find("t/3"), nullptr);
}

TEST(topic_monitor, keeps_payloads_only_within_its_byte_budget) {
  topic_monitor m(10, 10);
  m.record(msg("big", std::string(8, 'x')), now);
  m.record(msg("next", std::string(8, 'y')), now);
  EXPECT_TRUE(m.find("big")->payload_kept);
  EXPECT_FALSE(m.find("next")->payload_kept);  // over the budget: size only
  EXPECT_EQ(m.find("next")->payload_size, 8u);
  m.record(msg("big", "s"), now);  // replacing frees the old bytes
  EXPECT_EQ(m.payload_bytes(), 1u);
}

TEST(topic_monitor, shares_large_payloads_and_copies_small_ones) {
  topic_monitor m(10, 1 << 20);
  const message_ptr large = msg("l", std::string(topic_monitor::copy_limit + 1, 'x'));
  m.record(large, now);
  EXPECT_EQ(m.find("l")->large_payload, broker::shared_payload(large));
  m.record(msg("l", "small"), now);
  EXPECT_FALSE(m.find("l")->large_payload);
  EXPECT_EQ(m.find("l")->payload(), "small");
  EXPECT_EQ(m.payload_bytes(), 5u);
}

TEST(topic_monitor, a_deleted_retained_message_clears_the_topic) {
  topic_monitor m(10, 1024);
  m.record(msg("r", "on", true), now);
  EXPECT_TRUE(m.find("r")->retained);
  m.record(msg("r", "live"), now);  // a live message keeps the retained one in place
  EXPECT_TRUE(m.find("r")->retained);
  m.record(msg("r", "", true), now);  // [MQTT-3.3.1-10]
  EXPECT_FALSE(m.find("r")->retained);
  EXPECT_TRUE(m.find("r")->cleared);
}

TEST(topic_monitor, answers_a_filter_and_only_what_changed_since) {
  topic_monitor m(10, 1024);
  m.record(msg("home/a/temp", "1"), now);
  m.record(msg("home/b/temp", "2"), now);
  m.record(msg("office/temp", "3"), now);
  topic_query q;
  q.filter = "home/+/temp";
  EXPECT_EQ(m.query(q).entries.size(), 2u);
  const std::uint64_t seen = m.seq();
  m.record(msg("home/b/temp", "4"), now);
  q.since = seen;
  const topic_query_result r = m.query(q);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].topic, "home/b/temp");
  q.since = 0;
  q.limit = 1;
  EXPECT_TRUE(m.query(q).truncated);
}

TEST(event_log, numbers_events_and_forgets_the_oldest_past_its_capacity) {
  event_log log(3);
  for (int i = 0; i < 5; ++i)
    log.add(event_kind::limit, "c", std::string("e").append(std::to_string(i)));
  EXPECT_EQ(log.last_seq(), 5u);
  const auto all = log.since(0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().text, "e2");
  const auto newer = log.since(4, 100);
  ASSERT_EQ(newer.size(), 1u);
  EXPECT_EQ(newer[0].seq, 5u);
  EXPECT_TRUE(log.since(5, 100).empty());
  EXPECT_EQ(log.since(0, 1).front().text, "e4");  // the newest when limited
  EXPECT_EQ(log.count(event_kind::limit), 5u);    // counts outlive the ring
}

class broker_views_test : public ::testing::Test {
 protected:
  std::ostringstream log_text;
  logger log{log_level::debug, log_text};
  fixed_authenticator auth;
  broker_core core{broker_config{}, auth, log};

  std::unique_ptr<test_client> connected(std::string id) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id));
    EXPECT_EQ(c->received_of<mqtt::connack_packet>().size(), 1u);
    return c;
  }
};

TEST_F(broker_views_test, the_client_list_shows_each_connection) {
  auto a = connected("sensor-1");
  a->send(subscribe("cmd/#"));
  a->send(publish("state", "on"));
  a->received();
  const auto list = core.clients(10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].client_id, "sensor-1");
  EXPECT_EQ(list[0].username, "u");
  EXPECT_TRUE(list[0].connected);
  EXPECT_EQ(list[0].address, "127.0.0.1:5555");
  EXPECT_EQ(list[0].protocol, "3.1.1");
  EXPECT_EQ(list[0].transport, "mqtt");
  EXPECT_EQ(list[0].subscriptions, 1u);
  EXPECT_EQ(list[0].messages_in, 1u);
  const connection_totals t = core.totals();
  EXPECT_EQ((t.connections.at({"mqtt", "3.1.1"})), 1u);
}

TEST_F(broker_views_test, disconnect_closes_the_connection_and_publishes_its_will) {
  auto watcher = connected("watcher");
  watcher->send(subscribe("wills/#"));
  watcher->received();
  auto c = std::make_unique<test_client>(core);
  mqtt::will_message will;
  will.topic = "wills/victim";
  will.payload = "gone";
  c->connect("victim", true, 0, will);
  c->received();
  const std::uint64_t version = core.clients_version();
  EXPECT_TRUE(core.disconnect("victim"));
  EXPECT_GT(c->wakes, 0);
  c->received();  // the transport takes output on wake: the connection decides to close
  EXPECT_TRUE(c->conn().should_close());
  c->drop();
  const auto wills = watcher->received_of<mqtt::publish_packet>();
  ASSERT_EQ(wills.size(), 1u);
  EXPECT_EQ(wills[0].payload, "gone");
  EXPECT_GT(core.clients_version(), version);
  EXPECT_FALSE(core.disconnect("victim"));
  EXPECT_FALSE(core.disconnect("nobody"));
}

TEST_F(broker_views_test, publish_from_the_ui_reaches_subscribers_and_checks_the_topic) {
  auto sub = connected("sub");
  sub->send(subscribe("ui/#"));
  sub->received();
  EXPECT_EQ(core.publish("ui/x", "hello", 0, false), "");
  const auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_NE(core.publish("ui/+", "x", 0, false), "");
  EXPECT_NE(core.publish("", "x", 0, false), "");
  EXPECT_NE(core.publish("$SYS/x", "x", 0, false), "");
  EXPECT_NE(core.publish("ui/x", "x", 3, false), "");
}

TEST_F(broker_views_test, delete_retained_removes_it_as_an_empty_retained_message_would) {
  EXPECT_EQ(core.publish("kept", "v", 1, true), "");
  EXPECT_EQ(core.stats().retained_messages, 1u);
  ASSERT_TRUE(core.topic("kept"));
  EXPECT_TRUE(core.topic("kept")->retained);
  EXPECT_TRUE(core.delete_retained("kept"));
  EXPECT_EQ(core.stats().retained_messages, 0u);
  EXPECT_FALSE(core.delete_retained("kept"));
  EXPECT_FALSE(core.delete_retained("never"));
}

TEST_F(broker_views_test, the_topic_tree_records_only_while_watched) {
  EXPECT_EQ(core.publish("kept", "r", 0, true), "");
  EXPECT_EQ(core.publish("live", "1", 0, false), "");
  EXPECT_EQ(core.topics({}).entries.size(), 0u);  // nobody watched: nothing recorded
  core.watch();
  auto r = core.topics({});
  ASSERT_EQ(r.entries.size(), 1u);  // the retained message, at once
  EXPECT_EQ(r.entries[0].topic, "kept");
  EXPECT_EQ(core.publish("live", "2", 0, false), "");
  r = core.topics({});
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].payload(), "2");
  // The clock of tick() moves past the linger time: the monitor stops and lets go.
  core.tick(std::chrono::steady_clock::now() + core.config().ui_watch_linger +
            std::chrono::seconds(1));
  EXPECT_EQ(core.monitor_figures().topics, 0u);
  EXPECT_EQ(core.publish("live", "3", 0, false), "");
  EXPECT_EQ(core.topics({}).entries.size(), 0u);
}

TEST_F(broker_views_test, a_refused_login_is_an_event_without_the_password) {
  test_client c(core);
  mqtt::connect_packet p;
  p.client_id = "intruder";
  p.username = "u";
  p.password = "not-the-password";
  c.send(p);
  const auto events = core.events().since(0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, event_kind::login_refused);
  EXPECT_EQ(events[0].client_id, "intruder");
  EXPECT_EQ(events[0].text.find("not-the-password"), std::string::npos);
}

TEST(prometheus_text, writes_families_and_escapes_label_values) {
  prometheus_text t;
  t.family("x_total", "counter", "Help with \\ and\nnewline.");
  t.sample("x_total", std::uint64_t{3}, {{"a", "q\"uote\\\n"}});
  t.gauge("g", "A gauge.", 7);
  EXPECT_EQ(t.text(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"q\\\"uote\\\\\\n\"} 3\n"
            "# HELP g A gauge.\n"
            "# TYPE g gauge\n"
            "g 7\n");
}

TEST_F(broker_views_test, broker_metrics_count_messages_and_connections) {
  auto a = connected("a");
  a->send(publish("t", "12345"));
  prometheus_text t;
  write_broker_metrics(core, t);
  EXPECT_NE(t.text().find("mqtt_broker_messages_received_total 1\n"), std::string::npos);
  EXPECT_NE(t.text().find("mqtt_broker_connections{transport=\"mqtt\",protocol=\"3.1.1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.text().find("mqtt_broker_connections{transport=\"ws\",protocol=\"3.1.1\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace broker::testing
