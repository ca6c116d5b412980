// Session queues, the in-flight window and redelivery rules.

#include <gtest/gtest.h>

#include <thread>

#include "broker/session.hpp"

namespace broker {
namespace {

message_ptr msg(std::string payload, mqtt::qos q) {
  return message::make("t", std::move(payload), q, false);
}

std::vector<outgoing_publish> take(session& s) {
  std::vector<outgoing_publish> out;
  s.take_sendable(out, 1 << 20);
  return out;
}

TEST(session, qos1_messages_wait_for_room_in_the_inflight_window) {
  broker_config limits;
  limits.max_inflight = 2;
  const session_context context{limits};
  session s("c", false, context);
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
  const session_context context{limits};
  session s("c", false, context);
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
  const session_context context{limits};
  session s("c", false, context);
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
  const session_context context{limits};
  session s("c", false, context);
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

TEST(session, failure_pubrec_frees_the_window_and_sends_no_pubrel) {
  broker_config limits;
  const session_context context{limits};
  session s("c", false, context);
  send_limits window;
  window.receive_maximum = 1;
  window.v5 = true;
  s.set_send_limits(window);
  s.enqueue(msg("a", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  s.enqueue(msg("b", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  auto sent = take(s);
  ASSERT_EQ(sent.size(), 1u);                         // the window holds one
  EXPECT_TRUE(s.on_pubrec(sent[0].packet_id, 0x87));  // not authorized: the exchange ends
  EXPECT_FALSE(s.on_pubcomp(sent[0].packet_id));      // nothing left to complete
  s.prepare_resend();
  auto next = take(s);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_FALSE(next[0].pubrel);  // no PUBREL for the refused one, only the next message
  EXPECT_EQ(next[0].msg->payload(), "b");
}

TEST(session, full_offline_queue_drops_oldest_qos0_first) {
  broker_config limits;
  limits.max_queued_messages = 2;
  limits.max_inflight = 0;  // nothing leaves the queue for QoS 1
  const session_context context{limits};
  session s("c", false, context);
  EXPECT_EQ(s.enqueue(msg("q0", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.enqueue(msg("q1", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.enqueue(msg("q1b", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::dropped_offline);
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_EQ(s.dropped(), 1u);
  EXPECT_TRUE(s.take_first_drop_notice());
  EXPECT_FALSE(s.take_first_drop_notice());  // logged once per session
  // No QoS 0 left to make room: the newest is refused.
  EXPECT_EQ(s.enqueue(msg("q1c", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::dropped_offline);
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_EQ(s.dropped(), 2u);
}

TEST(session, offline_queue_is_bounded_in_bytes) {
  broker_config limits;
  const std::size_t cost = queue_cost(*msg("12345678", mqtt::qos::at_most_once));
  limits.max_queued_bytes = cost + 10;
  const session_context context{limits};
  session s("c", false, context);
  EXPECT_EQ(s.enqueue(msg("12345678", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.queued_bytes(), cost);
  EXPECT_EQ(s.enqueue(msg("12345", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::dropped_offline);
  EXPECT_EQ(s.queued(), 1u);
}

TEST(session, even_empty_messages_cost_bytes) {
  EXPECT_GE(queue_cost(*msg("", mqtt::qos::at_most_once)), 32u);
}

// 5.0 user properties are paid for like payload: an empty message carrying 10 KiB of them
// costs more than 10 KiB.
TEST(session, user_properties_count_in_the_cost) {
  mqtt::properties props;
  props.push_back({mqtt::property_id::user_property,
                   std::pair<std::string, std::string>{"k", std::string(10 * 1024, 'v')}});
  const auto heavy = message::make("t", "", mqtt::qos::at_most_once, false, std::move(props));
  EXPECT_GT(queue_cost(*heavy), 2 * 10 * 1024u);
  EXPECT_LT(queue_cost(*msg("", mqtt::qos::at_most_once)), 1024u);
}

// A connected client's burst: count limits are for offline sessions, bytes for live ones.
TEST(session, live_session_queues_past_the_offline_count_within_its_byte_budget) {
  broker_config limits;
  limits.max_queued_messages = 10;
  const session_context context{limits};
  session s("c", false, context);
  s.set_live();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(s.enqueue(msg(std::string(1000, 'x'), mqtt::qos::at_most_once),
                        mqtt::qos::at_most_once, false),
              enqueue_result::queued);
  }
  EXPECT_EQ(s.queued(), 10000u);
  EXPECT_EQ(s.dropped(), 0u);
}

TEST(session, live_qos0_past_the_client_budget_is_dropped) {
  broker_config limits;
  limits.max_client_buffer_bytes = 3 * queue_cost(*msg("abc", mqtt::qos::at_most_once));
  const session_context context{limits};
  session s("c", true, context);
  s.set_live();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
              enqueue_result::queued);
  }
  EXPECT_EQ(s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::dropped_client_budget);
  EXPECT_EQ(s.dropped(), 1u);
  take(s);  // the client read: room again
  EXPECT_EQ(s.queued_bytes(), 0u);
  EXPECT_EQ(s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::queued);
}

// Retained messages answering SUBSCRIBE skip the budgets once each; a client that repeats its
// SUBSCRIBE without reading pays for the extra copies like for any message.
TEST(session, retained_on_subscribe_is_exempt_once_per_retained_message) {
  broker_config limits;
  limits.max_client_buffer_bytes = queue_cost(*msg("abc", mqtt::qos::at_most_once));
  const session_context context{limits};
  session s("c", true, context);
  s.set_live();
  const std::size_t retained_count = 3;
  for (std::size_t i = 0; i < retained_count; ++i) {
    EXPECT_EQ(s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, true,
                        retained_count),
              enqueue_result::queued);
  }
  EXPECT_EQ(s.queued_bytes(), 0u);  // none of them charged
  // The same SUBSCRIBE again before the client read: one copy fits its budget, then drops.
  EXPECT_EQ(
      s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, true, retained_count),
      enqueue_result::queued);
  EXPECT_EQ(
      s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, true, retained_count),
      enqueue_result::dropped_client_budget);
  EXPECT_EQ(s.queued(), retained_count + 1);
  take(s);  // the client read everything: the next SUBSCRIBE is exempt again
  EXPECT_EQ(s.queued_bytes(), 0u);
  for (std::size_t i = 0; i < retained_count; ++i) {
    EXPECT_EQ(s.enqueue(msg("abc", mqtt::qos::at_most_once), mqtt::qos::at_most_once, true,
                        retained_count),
              enqueue_result::queued);
  }
  EXPECT_EQ(s.queued_bytes(), 0u);
}

TEST(session, live_qos1_past_the_client_budget_is_kept_and_asks_for_a_disconnect) {
  broker_config limits;
  limits.max_inflight = 0;
  limits.max_client_buffer_bytes = 2 * queue_cost(*msg("abc", mqtt::qos::at_least_once));
  const session_context context{limits};
  session s("c", false, context);
  s.set_live();
  EXPECT_EQ(s.enqueue(msg("1", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.enqueue(msg("2", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.enqueue(msg("3", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::over_budget);
  EXPECT_EQ(s.queued(), 3u);  // never silently dropped
  EXPECT_EQ(s.dropped(), 0u);
  // Until the disconnect, QoS 0 is not kept for it and QoS 1 follows the offline limits.
  EXPECT_EQ(s.enqueue(msg("q0", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::dropped_client_budget);
  EXPECT_EQ(s.enqueue(msg("4", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.go_offline(), 0u);
  EXPECT_EQ(s.queued(), 4u);
}

TEST(session, going_offline_trims_to_the_offline_limits_qos0_first) {
  broker_config limits;
  limits.max_inflight = 0;
  limits.max_queued_messages = 3;
  const session_context context{limits};
  session s("c", false, context);
  s.set_live();
  s.enqueue(msg("a", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false);
  for (const char* p : {"1", "2", "3", "4"})
    s.enqueue(msg(p, mqtt::qos::at_least_once), mqtt::qos::at_least_once, false);
  s.enqueue(msg("b", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false);
  EXPECT_EQ(s.go_offline(), 3u);  // both QoS 0, then the newest QoS 1
  s.set_live();
  limits.max_inflight = 10;
  std::vector<std::string> payloads;
  for (const auto& o : take(s)) payloads.emplace_back(o.msg->payload());
  EXPECT_EQ(payloads, (std::vector<std::string>{"1", "2", "3"}));
}

TEST(session, a_client_back_to_a_session_fuller_than_its_budget_is_not_disconnected_for_it) {
  broker_config limits;
  limits.max_inflight = 0;
  limits.max_client_buffer_bytes = 2 * queue_cost(*msg("1", mqtt::qos::at_least_once));
  limits.max_queued_bytes = 10 * limits.max_client_buffer_bytes;
  const session_context context{limits};
  session s("c", false, context);
  for (const char* p : {"1", "2", "3", "4"})
    s.enqueue(msg(p, mqtt::qos::at_least_once), mqtt::qos::at_least_once, false);
  s.set_live();
  limits.max_inflight = 10;
  EXPECT_EQ(take(s).size(), 4u);
  EXPECT_EQ(s.enqueue(msg("5", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
}

// Limits with room for 100 messages in flight, and what the QoS 1 message "m" costs.
broker_config wide_window() {
  broker_config limits;
  limits.max_inflight = 100;
  return limits;
}
std::size_t cost_of_m() {
  return queue_cost(*msg("m", mqtt::qos::at_least_once));
}

// A live session given three QoS 1 messages "m", all taken: in flight, unacknowledged.
std::vector<outgoing_publish> three_in_flight(session& s) {
  s.set_live();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.enqueue(msg("m", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
              enqueue_result::queued);
  }
  auto sent = take(s);
  EXPECT_EQ(sent.size(), 3u);
  return sent;
}

// A client that reads its QoS 1 messages but never acknowledges them holds no more than its
// budget: a message in flight costs what it did in the queue until its PUBACK.
TEST(session, messages_in_flight_count_against_the_budget_until_acknowledged) {
  const std::size_t cost = cost_of_m();
  broker_config limits = wide_window();
  limits.max_client_buffer_bytes = 3 * cost;
  const session_context context{limits};
  session s("c", true, context);
  const auto sent = three_in_flight(s);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_EQ(s.queued_bytes(), 3 * cost);  // all three in flight, still charged
  EXPECT_EQ(s.enqueue(msg("m", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::over_budget);
  for (const auto& p : sent) EXPECT_TRUE(s.on_puback(p.packet_id));
  EXPECT_EQ(s.queued_bytes(), cost);  // only the fourth, queued
}

// Large messages: about 1 MiB of payload in flight, however wide the window in messages, so
// what is in flight fits a socket's buffers; one message always goes, whatever its size.
TEST(session, the_window_is_bounded_in_bytes_too) {
  const broker_config limits = wide_window();
  const session_context context{limits};
  session s("c", true, context);
  s.set_live();
  const std::string big(600 * 1024, 'x');
  for (int i = 0; i < 3; ++i) {
    s.enqueue(msg(big, mqtt::qos::at_least_once), mqtt::qos::at_least_once, false);
  }
  auto first = take(s);
  ASSERT_EQ(first.size(), 1u);  // a second would pass 1 MiB in flight
  EXPECT_FALSE(s.has_sendable());
  EXPECT_TRUE(s.on_puback(first[0].packet_id));
  EXPECT_TRUE(s.has_sendable());
  EXPECT_EQ(take(s).size(), 1u);
}

// The offline limits bound the queue: messages in flight stay until acknowledged, and with a
// small limit they must not make the session refuse everything new.
TEST(session, the_offline_limits_leave_the_messages_in_flight_out) {
  broker_config limits = wide_window();
  limits.max_queued_bytes = 2 * cost_of_m();
  const session_context context{limits};
  session s("c", false, context);
  ASSERT_EQ(three_in_flight(s).size(), 3u);  // more than the offline limit
  EXPECT_EQ(s.go_offline(), 0u);
  EXPECT_EQ(s.enqueue(msg("n", mqtt::qos::at_least_once), mqtt::qos::at_least_once, false),
            enqueue_result::queued);
  EXPECT_EQ(s.inflight(), 3u);
}

// Dropped on a resume, a QoS 2 message sent but not released is not sent again, but its packet
// id is released properly: the client may hold it until a PUBREL [MQTT-4.3.3].
TEST(session, a_dropped_qos2_message_in_flight_still_gets_its_pubrel) {
  broker_config limits;
  const session_context context{limits};
  session s("c", false, context);
  s.enqueue(msg("secret", mqtt::qos::exactly_once), mqtt::qos::exactly_once, false);
  const auto sent = take(s);
  ASSERT_EQ(sent.size(), 1u);
  s.prepare_resend();
  EXPECT_EQ(s.drop_unreadable([](const message&) { return false; }), 1u);
  const auto again = take(s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].pubrel);
  EXPECT_EQ(again[0].packet_id, sent[0].packet_id);
  EXPECT_TRUE(s.on_pubcomp(sent[0].packet_id));
  EXPECT_EQ(s.inflight(), 0u);
  EXPECT_EQ(s.queued_bytes(), 0u);
}

// One thread's slot may go below zero (it took away what another thread added); a sum that
// sees the subtraction and not yet the addition reads 0, not 2^64.
TEST(striped_counter, never_reads_below_zero) {
  striped_counter c;
  c.sub(5);
  EXPECT_EQ(c.load(), 0u);
  std::thread([&] { c.add(12); }).join();
  EXPECT_EQ(c.load(), 7u);
}

TEST(session, buffers_together_are_bounded_but_a_small_queue_always_gets_through) {
  broker_config limits;
  buffer_pool pool;
  pool.limit = 1024 * 1024;
  const std::string big(300 * 1024, 'x');
  const session_context context{limits, nullptr, &pool};
  session slow("slow", true, context);
  session fast("fast", true, context);
  slow.set_live();
  fast.set_live();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(slow.enqueue(msg(big, mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
              enqueue_result::queued);
  }
  EXPECT_EQ(slow.enqueue(msg(big, mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::dropped_total_budget);
  EXPECT_EQ(fast.enqueue(msg("small", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::queued);
  EXPECT_EQ(pool.used.load(), slow.queued_bytes() + fast.queued_bytes());
  EXPECT_EQ(pool.heavy, 1u);
  // A reader with a moment's backlog, under its fair share (the limit shared by the two heavy
  // ones), still gets its messages; the one holding the most does not.
  session reader("reader", true, context);
  reader.set_live();
  EXPECT_EQ(reader.enqueue(msg(big, mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::queued);
  EXPECT_EQ(reader.enqueue(msg(std::string(100 * 1024, 'y'), mqtt::qos::at_most_once),
                           mqtt::qos::at_most_once, false),
            enqueue_result::queued);
  EXPECT_EQ(pool.heavy, 2u);
  EXPECT_EQ(slow.enqueue(msg("more", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false),
            enqueue_result::dropped_total_budget);
  take(reader);
  EXPECT_EQ(pool.heavy, 1u);
  EXPECT_EQ(pool.used.load(), slow.queued_bytes() + fast.queued_bytes());
  {
    session gone("gone", true, context);
    gone.set_live();
    gone.enqueue(msg("x", mqtt::qos::at_most_once), mqtt::qos::at_most_once, false);
  }
  EXPECT_EQ(pool.used.load(), slow.queued_bytes() + fast.queued_bytes());  // given back
}

}  // namespace
}  // namespace broker
