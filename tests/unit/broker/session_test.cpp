// Session queues, the in-flight window and redelivery rules.

#include <gtest/gtest.h>

#include "broker/session.hpp"

namespace broker {
namespace {

message_ptr msg(std::string payload, mqtt::qos q) {
  return std::make_shared<const message>("t", std::move(payload), q, false);
}

std::vector<outgoing_publish> take(session& s) {
  std::vector<outgoing_publish> out;
  s.take_sendable(out, 1 << 20);
  return out;
}

TEST(session, qos1_messages_wait_for_room_in_the_inflight_window) {
  broker_config limits;
  limits.max_inflight = 2;
  session s("c", false, limits, nullptr);
  for (int i = 0; i < 3; ++i)
    s.enqueue(msg(std::to_string(i), mqtt::qos::at_least_once), mqtt::qos::at_least_once, false);
  auto first = take(s);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(take(s).empty());
  EXPECT_FALSE(s.has_sendable());
  EXPECT_TRUE(s.on_puback(first[0].packet_id));
  auto next = take(s);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].msg->payload(), "2");
}

TEST(session, packet_ids_are_nonzero_and_unique_in_flight) {
  broker_config limits;
  limits.max_inflight = 100;
  session s("c", false, limits, nullptr);
  for (int i = 0; i < 100; ++i)
    s.enqueue(msg("x", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  std::set<std::uint16_t> ids;
  for (const auto& o : take(s)) {
    EXPECT_NE(o.packet_id, 0);  // [MQTT-2.3.1-1]
    ids.insert(o.packet_id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(session, resend_after_reconnect_sets_dup_and_keeps_order) {
  broker_config limits;
  session s("c", false, limits, nullptr);
  s.enqueue(msg("a", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false);
  s.enqueue(msg("b", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  auto sent = take(s);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_FALSE(sent[0].dup);
  s.prepare_resend();
  auto again = take(s);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].msg->payload(), "a");
  EXPECT_TRUE(again[0].dup);
  EXPECT_EQ(again[1].packet_id, sent[1].packet_id);
  EXPECT_TRUE(again[1].dup);
}

TEST(session, after_pubrec_only_pubrel_is_resent) {
  broker_config limits;
  session s("c", false, limits, nullptr);
  s.enqueue(msg("a", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  auto sent = take(s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(s.on_pubcomp(sent[0].packet_id));  // PUBCOMP before PUBREC matches nothing
  EXPECT_TRUE(s.on_pubrec(sent[0].packet_id));
  s.prepare_resend();
  auto again = take(s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].pubrel);
  EXPECT_TRUE(s.on_pubcomp(sent[0].packet_id));
  EXPECT_EQ(s.inflight(), 0u);
}

TEST(session, full_queue_drops_oldest_qos0_first) {
  broker_config limits;
  limits.max_queued_messages = 2;
  limits.max_inflight = 0;  // nothing leaves the queue for QoS 1
  session s("c", false, limits, nullptr);
  EXPECT_TRUE(s.enqueue(msg("q0", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false));
  EXPECT_TRUE(s.enqueue(msg("q1", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false));
  EXPECT_FALSE(s.enqueue(msg("q1b", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false));
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_EQ(s.dropped(), 1u);
  EXPECT_TRUE(s.take_first_drop_notice());
  EXPECT_FALSE(s.take_first_drop_notice());  // logged once per session
  // No QoS 0 left to make room: the newest is refused.
  EXPECT_FALSE(s.enqueue(msg("q1c", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false));
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_EQ(s.dropped(), 2u);
}

TEST(session, queue_is_bounded_in_bytes) {
  broker_config limits;
  limits.max_queued_bytes = 10;
  session s("c", false, limits, nullptr);
  EXPECT_TRUE(s.enqueue(msg("12345678", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false));
  EXPECT_FALSE(s.enqueue(msg("12345", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false));
  EXPECT_EQ(s.queued(), 1u);
}

}  // namespace
}  // namespace broker
