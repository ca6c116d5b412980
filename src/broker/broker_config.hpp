#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace broker {

struct broker_config {
  std::size_t max_packet_size = 16 * 1024 * 1024;  // larger closes the connection
  std::size_t max_inflight = 20;  // outgoing QoS 1/2 messages awaiting their ack, per client
  std::size_t max_queued_messages = 1000;  // waiting behind the in-flight window, per client
  std::size_t max_queued_bytes = 64 * 1024 * 1024;  // same queue, in payload bytes
  std::size_t max_incoming_qos2 = 1000;             // QoS 2 ids awaiting PUBREL, per client
  // 5.0: topic aliases a client may set towards the broker (CONNACK Topic Alias Maximum).
  std::uint16_t topic_alias_maximum = 10;
  // A longer keep-alive asked by a client is cut to this and announced as Server Keep Alive
  // (5.0); the protocol's own maximum, so by default no client is cut.
  std::uint16_t max_keep_alive = 65535;
  std::chrono::seconds connect_timeout{10};  // a socket must send CONNECT within this
  std::chrono::seconds sys_interval{10};     // $SYS/broker/... publish period
  std::string version = "0.0.0";
  // The web UI's topic tree: topics tracked with their last message, and the payload bytes it
  // may keep (shared with the retained messages, which it also shows).
  std::size_t ui_max_topics = 10000;
  std::size_t ui_max_payload_bytes = 16 * 1024 * 1024;
  // Acknowledge QoS 1/2 publishes only once what they changed is on disk (needs persistence).
  bool strict_durability = false;
};

}  // namespace broker
