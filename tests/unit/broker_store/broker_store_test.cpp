// The broker's state written through broker_store and read back by a new broker, as a restart.

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "../broker/test_client.hpp"
#include "storage/broker_store.hpp"
#include "storage/state_records.hpp"

namespace storage {
namespace {

using broker::testing::fixed_authenticator;
using broker::testing::publish;
using broker::testing::subscribe;
using broker::testing::test_client;

class broker_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("broker_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<broker_store> open_store(bool strict = false) {
    std::string error;
    broker_store_options options;
    options.strict = strict;
    auto store = broker_store::open(dir_.string(), options, log_, error);
    EXPECT_TRUE(store) << error;
    return store;
  }

  std::unique_ptr<test_client> connected(broker::broker_core& core, std::string id, bool clean) {
    auto c = std::make_unique<test_client>(core);
    c->connect(std::move(id), clean);
    c->received();
    return c;
  }

  std::filesystem::path dir_;
  std::ostringstream log_text_;
  broker::logger log_{broker::log_level::debug, log_text_};
  fixed_authenticator auth_;
};

TEST_F(broker_store_test, retained_messages_survive_a_restart) {
  {
    auto store = open_store();
    broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
    auto pub = connected(core, "pub", true);
    pub->send(
        publish("homeassistant/sensor/a/config", "{\"a\":1}", mqtt::qos::at_least_once, true, 1));
    pub->send(publish("homeassistant/sensor/b/config", "{\"b\":1}", mqtt::qos::at_most_once, true));
    pub->send(publish("homeassistant/sensor/b/config", "", mqtt::qos::at_most_once, true));
    pub->drop();
    ASSERT_TRUE(store->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  }
  auto store = open_store();
  broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
  store->restore_into(core);
  auto sub = connected(core, "sub", true);
  sub->send(subscribe("homeassistant/#", mqtt::qos::at_least_once));
  auto got = sub->received_of<mqtt::publish_packet>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "homeassistant/sensor/a/config");
  EXPECT_EQ(got[0].payload, "{\"a\":1}");
  EXPECT_EQ(got[0].qos, mqtt::qos::at_least_once);
  EXPECT_TRUE(got[0].retain);
}

TEST_F(broker_store_test, persistent_session_with_queued_and_inflight_messages_survives) {
  std::uint16_t inflight_id = 0;
  {
    auto store = open_store();
    broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
    auto sub = connected(core, "dev", false);
    sub->send(subscribe("cmd/#", mqtt::qos::exactly_once));
    sub->received();
    auto pub = connected(core, "pub", false);
    pub->send(publish("cmd/a", "in flight", mqtt::qos::exactly_once, false, 1));
    auto first = sub->received_of<mqtt::publish_packet>();
    ASSERT_EQ(first.size(), 1u);
    inflight_id = first[0].packet_id;
    sub->send(mqtt::pubrec_packet{inflight_id, 0, {}});  // now only PUBREL is owed
    sub->drop();
    pub->send(publish("cmd/b", "queued", mqtt::qos::at_least_once, false, 2));
    // The publisher's own QoS 2 id 9 awaits PUBREL across the restart.
    pub->send(publish("cmd/c", "half done", mqtt::qos::exactly_once, false, 9));
    pub->drop();
    ASSERT_TRUE(store->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  }
  auto store = open_store();
  broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
  store->restore_into(core);

  test_client dev(core);
  dev.connect("dev", false);
  auto got = dev.received();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(std::get<mqtt::connack_packet>(got[0]).session_present);
  EXPECT_EQ(std::get<mqtt::pubrel_packet>(got[1]).packet_id, inflight_id);
  EXPECT_EQ(std::get<mqtt::publish_packet>(got[2]).payload, "queued");
  EXPECT_EQ(std::get<mqtt::publish_packet>(got[3]).payload, "half done");

  // The duplicate of the publisher's unreleased QoS 2 message is recognised after the restart.
  test_client pub(core);
  pub.connect("pub", false);
  pub.received();
  auto dup = publish("cmd/c", "half done", mqtt::qos::exactly_once, false, 9);
  dup.dup = true;
  pub.send(dup);
  EXPECT_EQ(pub.received_of<mqtt::pubrec_packet>().size(), 1u);
  EXPECT_TRUE(dev.received_of<mqtt::publish_packet>().empty());
}

TEST_F(broker_store_test, quickly_acknowledged_messages_are_never_written) {
  auto store = open_store();
  broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
  auto sub = connected(core, "dev", false);
  sub->send(subscribe("t", mqtt::qos::at_least_once));
  sub->received();
  auto pub = connected(core, "pub", true);
  for (std::uint16_t i = 1; i <= 200; ++i) {
    pub->send(publish("t", std::string(100, 'x'), mqtt::qos::at_least_once, false, i));
    for (const auto& p : sub->received_of<mqtt::publish_packet>()) {
      sub->send(mqtt::puback_packet{p.packet_id, 0, {}});
    }
  }
  ASSERT_TRUE(store->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  // The session and its subscription, not 200 messages of 100 bytes.
  EXPECT_LT(store->stats().bytes_written, 2000u);
}

TEST_F(broker_store_test, strict_mode_acknowledges_after_the_write) {
  auto store = open_store(true);
  broker::broker_config config;
  config.strict_durability = true;
  broker::broker_core core{config, auth_, log_, nullptr, store.get()};
  auto pub = connected(core, "pub", true);
  pub->send(publish("r", "v", mqtt::qos::at_least_once, true, 5));
  // The writer thread fsyncs, then the callback posts the PUBACK to this connection.
  std::vector<mqtt::puback_packet> acks;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (acks.empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pub->run_posted();
    acks = pub->received_of<mqtt::puback_packet>();
  }
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_GE(store->stats().durable_sequence, 1u);
}

TEST_F(broker_store_test, leftovers_of_an_ended_session_are_dropped_at_open) {
  {
    std::string error;
    auto raw = log_store::open(
        dir_.string(), {}, [](std::string_view) {},
        [](std::string_view, std::string_view) { return shared_value{}; });
    ASSERT_TRUE(raw.store) << raw.error;
    mqtt::subscription sub;
    sub.filter = "x";
    raw.store->put(records::subscription_key("gone", "x"), records::subscription_value(sub));
    raw.store->close(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  }
  {
    auto store = open_store();
    broker::broker_core core{broker::broker_config{}, auth_, log_, nullptr, store.get()};
    store->restore_into(core);
    EXPECT_EQ(core.stats().sessions, 0u);
    EXPECT_EQ(core.stats().subscriptions, 0u);
  }
  std::size_t records = 0;
  auto raw = log_store::open(
      dir_.string(), {}, [](std::string_view) {},
      [&](std::string_view, std::string_view) {
        ++records;
        return shared_value{};
      });
  ASSERT_TRUE(raw.store);
  EXPECT_EQ(records, 0u);
}

TEST(state_records, round_trip_every_kind) {
  auto msg = broker::message::make("a/b", "payload", mqtt::qos::exactly_once, true);
  auto r = records::decode(records::retained_key("a/b"), records::retained_value(*msg));
  ASSERT_EQ(r.what, records::decoded::kind::retained);
  EXPECT_EQ(r.retained->topic(), "a/b");
  EXPECT_EQ(r.retained->payload(), "payload");
  EXPECT_EQ(r.retained->qos(), mqtt::qos::exactly_once);

  broker::stored_delivery d{1ull << 40, msg, mqtt::qos::at_least_once, true, 77, true, {}};
  auto back = records::decode(records::delivery_key("c", d.seq), records::delivery_value(d));
  ASSERT_EQ(back.what, records::decoded::kind::delivery);
  EXPECT_EQ(back.client_id, "c");
  EXPECT_EQ(back.delivery.seq, d.seq);
  EXPECT_EQ(back.delivery.packet_id, 77);
  EXPECT_TRUE(back.delivery.released);
  EXPECT_TRUE(back.delivery.retain);
  EXPECT_EQ(back.delivery.msg->topic(), "a/b");
  EXPECT_EQ(back.delivery.msg->payload(), "payload");
}

TEST(state_records, mqtt5_properties_expiry_and_session_expiry_round_trip) {
  const auto expires =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'123'456));
  mqtt::properties props;
  mqtt::property& user = props.emplace_back();
  user.id = mqtt::property_id::user_property;
  user.value = std::pair<std::string, std::string>("k", "v");
  mqtt::property& type = props.emplace_back();
  type.id = mqtt::property_id::content_type;
  type.value = std::string("text/plain");
  auto msg = broker::message::make("t", "p", mqtt::qos::at_least_once, true, props, expires);
  auto r = records::decode(records::retained_key("t"), records::retained_value(*msg));
  ASSERT_EQ(r.what, records::decoded::kind::retained);
  EXPECT_EQ(r.retained->payload(), "p");
  EXPECT_EQ(r.retained->qos(), mqtt::qos::at_least_once);
  EXPECT_EQ(r.retained->properties(), props);
  EXPECT_EQ(r.retained->expires_at(), expires);

  broker::stored_delivery d{5, msg, mqtt::qos::at_least_once, false, 0, false, {}};
  auto back = records::decode(records::delivery_key("c", 5), records::delivery_value(d));
  ASSERT_EQ(back.what, records::decoded::kind::delivery);
  EXPECT_EQ(back.delivery.msg->payload(), "p");
  EXPECT_EQ(back.delivery.msg->properties(), props);
  EXPECT_EQ(back.delivery.msg->expires_at(), expires);
  EXPECT_TRUE(back.delivery.sub_ids.empty());

  d.sub_ids = {7, 268435455};
  auto with_ids = records::decode(records::delivery_key("c", 5), records::delivery_value(d));
  ASSERT_EQ(with_ids.what, records::decoded::kind::delivery);
  EXPECT_EQ(with_ids.delivery.sub_ids, (std::vector<std::uint32_t>{7, 268435455}));
  EXPECT_EQ(with_ids.delivery.msg->payload(), "p");

  auto e = records::decode(records::expiry_key("c"), records::expiry_value(120, expires));
  ASSERT_EQ(e.what, records::decoded::kind::expiry);
  EXPECT_EQ(e.client_id, "c");
  EXPECT_EQ(e.expiry_interval, 120u);
  EXPECT_EQ(e.ended_at, expires);

  mqtt::subscription sub;
  sub.filter = "f/#";
  sub.max_qos = mqtt::qos::at_least_once;
  sub.identifier = 300;
  auto b = records::decode(records::subscription_key("c", "f/#"), records::subscription_value(sub));
  ASSERT_EQ(b.what, records::decoded::kind::subscription);
  EXPECT_EQ(b.sub.identifier, 300u);
}

TEST(state_records, records_written_before_mqtt5_still_load) {
  // Retained: QoS byte, payload. Delivery: qos, flags, packet id, topic length, topic, payload.
  auto r = records::decode("ra/b", std::string("\x01hello"));
  ASSERT_EQ(r.what, records::decoded::kind::retained);
  EXPECT_EQ(r.retained->payload(), "hello");
  EXPECT_TRUE(r.retained->properties().empty());
  EXPECT_FALSE(r.retained->expires_at());
  auto d = records::decode(records::delivery_key("c", 1),
                           std::string("\x01\x00\x00\x00\x00\x00\x00\x01tpay", 12));
  ASSERT_EQ(d.what, records::decoded::kind::delivery);
  EXPECT_EQ(d.delivery.msg->topic(), "t");
  EXPECT_EQ(d.delivery.msg->payload(), "pay");
  auto b = records::decode(records::subscription_key("c", "f"), std::string("\x01\x00", 2));
  ASSERT_EQ(b.what, records::decoded::kind::subscription);
  EXPECT_EQ(b.sub.identifier, 0u);
}

TEST(state_records, damaged_values_decode_as_invalid) {
  EXPECT_EQ(records::decode("r", "\x01x").what, records::decoded::kind::invalid);
  EXPECT_EQ(records::decode("ra", "\x07x").what, records::decoded::kind::invalid);  // QoS 7
  EXPECT_EQ(records::decode(records::delivery_key("c", 1), "\x01").what,
            records::decoded::kind::invalid);
  EXPECT_EQ(records::decode("x?", "").what, records::decoded::kind::invalid);
}

}  // namespace
}  // namespace storage
