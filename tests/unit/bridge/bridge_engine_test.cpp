// The bridge engine between a scripted remote broker (packets in, bytes out, some compared byte
// for byte) and a real in-process broker core with real local clients.
#include "bridge/bridge_engine.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "mqtt/reason_code.hpp"
#include "test_client.hpp"

namespace bridge {
namespace {

using broker::testing::publish;
using broker::testing::subscribe;
using broker::testing::test_client;
using clock = bridge_engine::clock;

class fake_link : public broker::transport_link {
 public:
  void wake() override { ++wakes; }
  void post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
  bool internal() const override { return true; }
  std::shared_ptr<void> lifetime() override { return engine->local_lifetime(); }
  bridge_engine* engine = nullptr;
  int wakes = 0;
  std::vector<std::function<void()>> posted;
};

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

topic_mapping line(std::string pattern, direction d, mqtt::qos q, std::string local,
                   std::string remote) {
  topic_mapping t;
  t.pattern = std::move(pattern);
  t.dir = d;
  t.qos = q;
  t.local_prefix = std::move(local);
  t.remote_prefix = std::move(remote);
  return t;
}

class bridge_engine_test : public ::testing::Test {
 protected:
  bridge_engine_test() {
    settings.name = "b";
    settings.remote_clientid = "rc";
    settings.local_clientid = "local.rc";
    settings.notification_topic = "$SYS/broker/connection/rc/state";
    settings.notifications = false;
    settings.try_private = false;
    settings.addresses.push_back({"remote", 1883});
    settings.topics.push_back(
        line("sensors/#", direction::out, mqtt::qos::at_least_once, "local/", "remote/"));
    settings.topics.push_back(
        line("cmd/#", direction::in, mqtt::qos::exactly_once, "local/", "remote/"));
    core.reserve_bridge_client_ids({settings.local_clientid});
  }

  void make_engine() {
    engine = std::make_unique<bridge_engine>(settings, core, link);
    link.engine = engine.get();
  }

  // The remote's side of the wire.
  void from_remote(const mqtt::packet& p) {
    std::string bytes;
    mqtt::encode(p, settings.version, bytes);
    engine->on_remote_bytes(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), clock::now());
    settle();
  }
  std::string remote_bytes() {
    std::string out;
    engine->take_remote_output(out);
    return out;
  }
  std::vector<mqtt::packet> to_remote() {
    const std::string bytes = remote_bytes();
    remote_reader.feed(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    std::vector<mqtt::packet> packets;
    while (true) {
      auto r = remote_reader.next();
      if (r.state == mqtt::packet_reader::status::error) ADD_FAILURE() << "undecodable output";
      if (r.state != mqtt::packet_reader::status::packet) break;
      packets.push_back(std::move(r.pkt));
    }
    return packets;
  }
  template <class T>
  std::vector<T> to_remote_of() {
    std::vector<T> of;
    for (auto& p : to_remote()) {
      if (auto* t = std::get_if<T>(&p)) of.push_back(std::move(*t));
    }
    return of;
  }
  // What the transport does on wake() and post().
  void settle() {
    for (int round = 0; round < 10; ++round) {
      auto fns = std::move(link.posted);
      link.posted.clear();
      for (auto& fn : fns) fn();
      engine->on_local_wake();
      if (link.posted.empty()) break;
    }
  }
  // Opens the remote connection and answers CONNECT with CONNACK (with `props`, for a 5.0
  // remote); returns what followed it.
  std::vector<mqtt::packet> connect(bool session_present = false, mqtt::properties props = {}) {
    engine->on_remote_open(clock::now(), false);
    remote_reader = mqtt::packet_reader(1 << 20);
    remote_reader.set_version(settings.version);
    auto first = to_remote();
    EXPECT_EQ(first.size(), 1u);
    EXPECT_TRUE(!first.empty() && std::holds_alternative<mqtt::connect_packet>(first[0]));
    from_remote(mqtt::connack_packet{session_present, 0, std::move(props)});
    return to_remote();
  }
  void drop_remote() {
    engine->on_remote_closed();
    settle();
  }
  std::unique_ptr<test_client> local_client(const std::string& id) {
    auto c = std::make_unique<test_client>(core);
    c->connect(id);
    EXPECT_EQ(c->received_of<mqtt::connack_packet>().size(), 1u);
    return c;
  }

  std::ostringstream log_text;
  broker::logger log{broker::log_level::debug, log_text};
  broker::testing::fixed_authenticator auth;
  broker::broker_core core{broker::broker_config{}, auth, log};
  bridge_settings settings;
  fake_link link;
  std::unique_ptr<bridge_engine> engine;
  mqtt::packet_reader remote_reader{1 << 20};
};

TEST_F(bridge_engine_test, connect_is_golden_with_try_private_set_in_the_protocol_level) {
  make_engine();
  engine->on_remote_open(clock::now(), true);
  // 3.1.1 CONNECT, level 4 | 0x80, persistent session, keep-alive 60, client id "rc".
  EXPECT_EQ(hex(remote_bytes()), "10 0e 00 04 4d 51 54 54 84 00 00 3c 00 02 72 63");
}

TEST_F(bridge_engine_test, connect_carries_credentials_and_the_notification_will) {
  settings.notifications = true;
  settings.cleansession = true;
  settings.remote_username = "u";
  settings.remote_password = "p";
  settings.version = mqtt::protocol_version::v3_1;
  make_engine();
  engine->on_remote_open(clock::now(), false);
  // 3.1 ("MQIsdp", level 3), flags: user, password, will retain, will QoS 1, will, clean.
  EXPECT_EQ(hex(remote_bytes()),
            "10 3a 00 06 4d 51 49 73 64 70 03 ee 00 3c 00 02 72 63 00 1f 24 53 59 53 2f 62 72 6f "
            "6b 65 72 2f 63 6f 6e 6e 65 63 74 69 6f 6e 2f 72 63 2f 73 74 61 74 65 00 01 30 00 01 "
            "75 00 01 70");
}

TEST_F(bridge_engine_test, a_5_0_bridge_asks_for_a_lasting_session_and_no_echo) {
  settings.version = mqtt::protocol_version::v5;
  make_engine();
  engine->on_remote_open(clock::now(), false);
  remote_reader.set_version(mqtt::protocol_version::v5);
  auto connects = to_remote_of<mqtt::connect_packet>();
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].version, mqtt::protocol_version::v5);
  EXPECT_FALSE(connects[0].clean_start);
  const mqtt::properties expected = {
      {mqtt::property_id::session_expiry_interval, std::uint32_t{0xFFFFFFFF}}};
  EXPECT_EQ(connects[0].props, expected);
  from_remote(mqtt::connack_packet{false, 0, {}});
  auto subs = to_remote_of<mqtt::subscribe_packet>();
  ASSERT_EQ(subs.size(), 1u);
  ASSERT_EQ(subs[0].subscriptions.size(), 1u);
  EXPECT_EQ(subs[0].subscriptions[0].filter, "remote/cmd/#");
  EXPECT_TRUE(subs[0].subscriptions[0].no_local);
  EXPECT_TRUE(subs[0].subscriptions[0].retain_as_published);
}

TEST_F(bridge_engine_test, after_connack_it_subscribes_remotely_and_attaches_locally) {
  make_engine();
  auto after = connect();
  ASSERT_EQ(after.size(), 1u);
  auto* sub = std::get_if<mqtt::subscribe_packet>(&after[0]);
  ASSERT_NE(sub, nullptr);
  ASSERT_EQ(sub->subscriptions.size(), 1u);
  EXPECT_EQ(sub->subscriptions[0].filter, "remote/cmd/#");
  EXPECT_EQ(sub->subscriptions[0].max_qos, mqtt::qos::exactly_once);
  EXPECT_EQ(core.stats().clients_connected, 1u);
  EXPECT_EQ(engine->current_phase(), bridge_engine::phase::connected);
}

TEST_F(bridge_engine_test, remote_qos1_is_acknowledged_only_with_the_local_puback) {
  make_engine();
  connect();
  auto sub = local_client("sub");
  sub->send(subscribe("local/cmd/#", mqtt::qos::at_least_once));
  sub->received();
  from_remote(publish("remote/cmd/light", "on", mqtt::qos::at_least_once, false, 42));
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "local/cmd/light");
  EXPECT_EQ(got[0].payload, "on");
  auto acks = to_remote_of<mqtt::puback_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 42);
  EXPECT_EQ(engine->counters().received, 1u);
}

TEST_F(bridge_engine_test, remote_qos2_is_delivered_once_and_completed_through_the_core) {
  make_engine();
  connect();
  auto sub = local_client("sub");
  sub->send(subscribe("local/cmd/#", mqtt::qos::exactly_once));
  sub->received();
  from_remote(publish("remote/cmd/x", "1", mqtt::qos::exactly_once, false, 7));
  auto recs = to_remote_of<mqtt::pubrec_packet>();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packet_id, 7);
  // The remote did not hear PUBREC in time and sends again: no second delivery.
  auto dup = publish("remote/cmd/x", "1", mqtt::qos::exactly_once, false, 7);
  dup.dup = true;
  from_remote(dup);
  EXPECT_EQ(to_remote_of<mqtt::pubrec_packet>().size(), 1u);
  from_remote(mqtt::pubrel_packet{7, 0, {}});
  auto comps = to_remote_of<mqtt::pubcomp_packet>();
  ASSERT_EQ(comps.size(), 1u);
  EXPECT_EQ(comps[0].packet_id, 7);
  EXPECT_EQ(sub->received_of<mqtt::publish_packet>().size(), 1u);
}

TEST_F(bridge_engine_test, local_messages_go_out_with_the_remote_prefix_and_complete_on_puback) {
  make_engine();
  connect();
  auto pub = local_client("pub");
  pub->send(publish("local/sensors/t", "21.5", mqtt::qos::at_least_once, false, 1));
  settle();
  auto out = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "remote/sensors/t");
  EXPECT_EQ(out[0].payload, "21.5");
  EXPECT_EQ(out[0].qos, mqtt::qos::at_least_once);
  from_remote(mqtt::puback_packet{out[0].packet_id, 0, {}});
  // Acknowledged: a new connection sends nothing again.
  drop_remote();
  for (auto& p : connect(true)) {
    EXPECT_FALSE(std::holds_alternative<mqtt::publish_packet>(p)) << "sent again";
  }
}

TEST_F(bridge_engine_test, an_unacknowledged_message_is_sent_again_with_dup_after_a_reconnect) {
  make_engine();
  connect();
  auto pub = local_client("pub");
  pub->send(publish("local/sensors/t", "x", mqtt::qos::at_least_once, false, 1));
  settle();
  auto first = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(first.size(), 1u);
  drop_remote();
  std::vector<mqtt::publish_packet> again;
  for (auto& p : connect(true)) {
    if (auto* m = std::get_if<mqtt::publish_packet>(&p)) again.push_back(*m);
  }
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].packet_id, first[0].packet_id);
  EXPECT_TRUE(again[0].dup);
  EXPECT_EQ(again[0].topic, "remote/sensors/t");
}

TEST_F(bridge_engine_test, messages_published_while_the_remote_is_down_wait_in_the_session) {
  make_engine();
  connect();
  drop_remote();
  EXPECT_EQ(core.stats().clients_connected, 0u);
  auto pub = local_client("pub");
  for (int i = 0; i < 5; ++i) {
    pub->send(publish("local/sensors/t", std::to_string(i), mqtt::qos::at_least_once, false,
                      static_cast<std::uint16_t>(i + 1)));
  }
  auto out = connect(true);
  std::vector<std::string> payloads;
  for (auto& p : out) {
    if (auto* m = std::get_if<mqtt::publish_packet>(&p)) payloads.push_back(m->payload);
  }
  EXPECT_EQ(payloads, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST_F(bridge_engine_test, a_message_from_the_remote_is_not_echoed_back_to_it) {
  settings.topics = {line("room/#", direction::both, mqtt::qos::at_least_once, "", "")};
  make_engine();
  connect();
  from_remote(publish("room/1", "from remote", mqtt::qos::at_least_once, false, 5));
  for (auto& p : to_remote()) {
    EXPECT_FALSE(std::holds_alternative<mqtt::publish_packet>(p)) << "echoed back";
  }
  // A local client's message on the same topics still goes out.
  auto pub = local_client("pub");
  pub->send(publish("room/2", "from here", mqtt::qos::at_least_once, false, 1));
  settle();
  EXPECT_EQ(to_remote_of<mqtt::publish_packet>().size(), 1u);
}

TEST_F(bridge_engine_test, the_retain_flag_is_carried_both_ways) {
  settings.topics = {line("r/#", direction::both, mqtt::qos::at_least_once, "", "")};
  make_engine();
  connect();
  auto pub = local_client("pub");
  pub->send(publish("r/local", "kept", mqtt::qos::at_least_once, true, 1));
  settle();
  auto out = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].retain);
  from_remote(publish("r/remote", "kept too", mqtt::qos::at_least_once, true, 9));
  auto late = local_client("late");
  late->send(subscribe("r/remote", mqtt::qos::at_least_once));
  auto got = late->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
  EXPECT_EQ(got[0].payload, "kept too");
}

TEST_F(bridge_engine_test, a_network_client_cannot_take_the_bridges_client_id) {
  make_engine();
  test_client thief(core);
  thief.connect("local.rc");
  auto acks = thief.received_of<mqtt::connack_packet>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, mqtt::connect_return::identifier_rejected);
}

TEST_F(bridge_engine_test, notifications_say_1_on_connect_and_0_when_the_remote_is_lost) {
  settings.notifications = true;
  make_engine();
  auto watcher = local_client("watch");
  watcher->send(subscribe("$SYS/broker/connection/#"));
  watcher->received();
  auto after = connect();
  bool remote_saw_1 = false;
  for (auto& p : after) {
    if (auto* m = std::get_if<mqtt::publish_packet>(&p)) {
      remote_saw_1 = m->topic == settings.notification_topic && m->payload == "1" && m->retain;
    }
  }
  EXPECT_TRUE(remote_saw_1);
  auto up = watcher->received_of<mqtt::publish_packet>();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].payload, "1");
  drop_remote();
  auto down = watcher->received_of<mqtt::publish_packet>();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].payload, "0");
}

TEST_F(bridge_engine_test, start_says_0_retained_at_qos_1_before_any_connection) {
  settings.notifications = true;
  // Outside $SYS a notification is stored like any retained message, so a crash can leave "1".
  settings.notification_topic = "bridges/rc/state";
  make_engine();
  auto stale = local_client("stale");
  stale->send(publish(settings.notification_topic, "1", mqtt::qos::at_least_once, true, 1));
  engine->start();
  auto late = local_client("late");
  late->send(subscribe(settings.notification_topic, mqtt::qos::exactly_once));
  const auto got = late->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "0");
  EXPECT_TRUE(got[0].retain);
  EXPECT_EQ(got[0].qos, mqtt::qos::at_least_once);  // as Mosquitto's notifications
  EXPECT_EQ(engine->current_phase(), bridge_engine::phase::idle);
}

// A 5.0 remote's CONNACK limits what the bridge may send it.
class bridge_to_a_5_0_remote : public bridge_engine_test {
 protected:
  void SetUp() override {
    settings.version = mqtt::protocol_version::v5;
    settings.topics.push_back(
        line("alarm/#", direction::out, mqtt::qos::exactly_once, "local/", "remote/"));
    make_engine();
  }
  std::vector<std::string> payloads_to_remote() {
    std::vector<std::string> out;
    for (const auto& p : to_remote_of<mqtt::publish_packet>()) out.push_back(p.payload);
    return out;
  }
  using texts = std::vector<std::string>;
};

TEST_F(bridge_to_a_5_0_remote, no_more_unacknowledged_than_its_receive_maximum) {
  connect(false, {{mqtt::property_id::receive_maximum, std::uint32_t{2}}});
  auto pub = local_client("pub");
  for (int i = 0; i < 5; ++i) {
    pub->send(publish("local/sensors/t", std::to_string(i), mqtt::qos::at_least_once, false,
                      static_cast<std::uint16_t>(i + 1)));
  }
  settle();
  const auto first = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(first.size(), 2u);  // [MQTT-3.3.4-7]
  EXPECT_EQ(first[0].payload, "0");
  EXPECT_EQ(first[1].payload, "1");
  from_remote(mqtt::puback_packet{first[0].packet_id, 0, {}});
  EXPECT_EQ(payloads_to_remote(), texts{"2"});
  from_remote(mqtt::puback_packet{first[1].packet_id, 0, {}});
  EXPECT_EQ(payloads_to_remote(), texts{"3"});
  // QoS 0 never waits.
  pub->send(publish("local/sensors/q0", "zero"));
  settle();
  EXPECT_EQ(payloads_to_remote(), texts{"zero"});
  EXPECT_EQ(engine->counters().sent, 5u);  // "4" still waits for room
}

TEST_F(bridge_to_a_5_0_remote, qos_2_goes_at_its_maximum_qos_1_and_completes_locally) {
  connect(false, {{mqtt::property_id::maximum_qos, std::uint32_t{1}}});
  auto pub = local_client("pub");
  pub->send(publish("local/alarm/door", "open", mqtt::qos::exactly_once, false, 9));
  settle();
  const auto sent = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].qos, mqtt::qos::at_least_once);  // [MQTT-3.2.2-11]
  from_remote(mqtt::puback_packet{sent[0].packet_id, 0, {}});
  // The local delivery is complete: nothing goes out again after a reconnect.
  drop_remote();
  EXPECT_TRUE(payloads_to_remote().empty());
  std::vector<std::string> again;
  for (auto& p : connect(true, {{mqtt::property_id::maximum_qos, std::uint32_t{1}}})) {
    if (auto* m = std::get_if<mqtt::publish_packet>(&p)) again.push_back(m->payload);
  }
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(core.stats().limits.dropped_offline, 0u);
}

TEST_F(bridge_to_a_5_0_remote, larger_than_its_maximum_packet_size_is_not_sent) {
  connect(false, {{mqtt::property_id::maximum_packet_size, std::uint32_t{64}}});
  auto pub = local_client("pub");
  pub->send(
      publish("local/sensors/big", std::string(100, 'x'), mqtt::qos::at_least_once, false, 1));
  pub->send(publish("local/sensors/small", "ok", mqtt::qos::at_least_once, false, 2));
  settle();
  EXPECT_EQ(payloads_to_remote(), texts{"ok"});  // [MQTT-3.2.2-15]
  EXPECT_EQ(engine->counters().too_large, 1u);
  EXPECT_NE(log_text.str().find("larger than the remote accepts (64)"), std::string::npos);
}

TEST_F(bridge_to_a_5_0_remote, retained_flag_is_cleared_when_it_has_no_retain) {
  connect(false, {{mqtt::property_id::retain_available, std::uint32_t{0}}});
  auto pub = local_client("pub");
  pub->send(publish("local/sensors/r", "kept here", mqtt::qos::at_least_once, true, 1));
  settle();
  const auto sent = to_remote_of<mqtt::publish_packet>();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(sent[0].retain);  // [MQTT-3.2.2-14]
}

TEST_F(bridge_engine_test, what_is_published_before_the_first_connection_waits_for_it) {
  make_engine();
  engine->start();  // the bridge's first start: no local session yet
  EXPECT_EQ(core.stats().clients_connected, 0u);
  auto pub = local_client("pub");
  pub->send(publish("local/sensors/early", "1", mqtt::qos::at_least_once, false, 1));
  pub->send(publish("local/sensors/early", "0", mqtt::qos::at_most_once, false));  // not kept
  std::vector<std::string> sent;
  for (auto& p : connect(true)) {
    if (auto* m = std::get_if<mqtt::publish_packet>(&p))
      sent.push_back(m->topic + "=" + m->payload);
  }
  EXPECT_EQ(sent, std::vector<std::string>{"remote/sensors/early=1"});
}

TEST_F(bridge_engine_test, a_resumed_local_session_drops_subscriptions_no_line_asks_for) {
  make_engine();
  connect();
  using filters = std::vector<std::string>;
  EXPECT_EQ(core.subscription_filters(settings.local_clientid), filters{"local/sensors/#"});
  drop_remote();
  // The configuration changes (a restart, say): sensors are no longer sent, meters are.
  engine.reset();
  settings.topics[0] =
      line("meters/#", direction::out, mqtt::qos::at_least_once, "local/", "remote/");
  make_engine();
  connect(true);
  EXPECT_EQ(core.subscription_filters(settings.local_clientid), filters{"local/meters/#"});
  EXPECT_NE(log_text.str().find("dropping 1 local subscription(s)"), std::string::npos);
  // Nothing for the old line waits in the session while the remote is away.
  drop_remote();
  auto pub = local_client("pub");
  pub->send(publish("local/sensors/t", "old", mqtt::qos::at_least_once, false, 1));
  bool found = false;
  for (const auto& c : core.clients(10)) {
    if (c.client_id != settings.local_clientid) continue;
    found = true;
    EXPECT_EQ(c.queued, 0u);
  }
  EXPECT_TRUE(found);
}

TEST_F(bridge_engine_test, keep_alive_sends_pingreq_and_gives_up_without_pingresp) {
  settings.keepalive = 5;
  make_engine();
  connect();
  const clock::time_point due = engine->deadline();
  ASSERT_NE(due, clock::time_point::max());
  engine->on_timer(due);
  EXPECT_EQ(hex(remote_bytes()), "c0 00");
  engine->on_timer(engine->deadline());
  EXPECT_TRUE(engine->should_close());
  EXPECT_NE(engine->close_reason().find("did not answer PINGREQ"), std::string::npos);
}

TEST_F(bridge_engine_test, pingresp_keeps_the_connection) {
  settings.keepalive = 5;
  make_engine();
  connect();
  engine->on_timer(engine->deadline());
  remote_bytes();
  from_remote(mqtt::pingresp_packet{});
  EXPECT_FALSE(engine->should_close());
  EXPECT_GT(engine->deadline(), clock::now());
}

TEST_F(bridge_engine_test, a_refused_connack_closes_with_the_reason) {
  make_engine();
  engine->on_remote_open(clock::now(), true);
  remote_bytes();
  from_remote(mqtt::connack_packet{false, mqtt::connect_return::not_authorized, {}});
  EXPECT_TRUE(engine->should_close());
  EXPECT_NE(engine->close_reason().find("not authorized"), std::string::npos);
  EXPECT_FALSE(engine->refused_protocol());
  EXPECT_EQ(core.stats().clients_connected, 0u);
}

TEST_F(bridge_engine_test, a_refused_protocol_level_is_reported_for_a_retry_without_try_private) {
  make_engine();
  engine->on_remote_open(clock::now(), true);
  remote_bytes();
  from_remote(mqtt::connack_packet{false, mqtt::connect_return::unacceptable_protocol_version, {}});
  EXPECT_TRUE(engine->refused_protocol());
}

TEST_F(bridge_engine_test, no_connack_in_time_closes) {
  make_engine();
  const clock::time_point start = clock::now();
  engine->on_remote_open(start, false);
  engine->on_timer(start + std::chrono::seconds(11));
  EXPECT_TRUE(engine->should_close());
  EXPECT_NE(engine->close_reason().find("no CONNACK"), std::string::npos);
}

TEST_F(bridge_engine_test, a_remote_that_never_reads_its_acknowledgements_is_dropped) {
  make_engine();
  connect();
  // The transport never takes the output (the remote's socket is full): the acks pile up. (For
  // bridged topics the local core's own reply limit ends it first; these match no topic line, so
  // the bridge answers them itself.)
  std::string bytes;
  for (std::uint16_t id = 1; id != 0; ++id) {
    mqtt::encode(publish("unmapped", "", mqtt::qos::at_least_once, false, id), settings.version,
                 bytes);
  }
  for (int round = 0; round < 40 && !engine->should_close(); ++round) {
    engine->on_remote_bytes(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), clock::now());
  }
  EXPECT_TRUE(engine->should_close());
  EXPECT_NE(engine->close_reason().find("does not read"), std::string::npos)
      << engine->close_reason();
}

TEST_F(bridge_engine_test, garbage_from_the_remote_closes_without_harm) {
  make_engine();
  connect();
  const std::string junk = "\xf0\xff\xff\xff\xff\x7f";
  engine->on_remote_bytes(
      std::span(reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()), clock::now());
  EXPECT_TRUE(engine->should_close());
  EXPECT_NE(engine->close_reason().find("malformed packet from the remote"), std::string::npos);
  drop_remote();
  EXPECT_EQ(core.stats().clients_connected, 0u);
}

}  // namespace
}  // namespace bridge
