#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/login_throttle.hpp"

namespace broker {

struct broker_config {
  std::size_t max_packet_size = 16 * 1024 * 1024;  // larger closes the connection
  // Outgoing QoS 1/2 messages awaiting their ack, per client (a 5.0 client's Receive Maximum
  // may lower it). Mosquitto's 20 bounds a QoS 1 subscriber to 20 messages per round trip: with
  // 10 busy pairs on one host that, not the CPU, set the rate (bench/README.md, qos1). Their
  // bytes count against max_client_buffer_bytes until acknowledged, and past the first message
  // at most 1 MiB of them (payload, topic, properties) is in flight
  // (session::inflight_byte_limit).
  std::size_t max_inflight = 256;

  // What waits for a connected client (QoS 0, and QoS 1/2 queued or in flight), in bytes
  // (queue_cost() of each message). Past it QoS 0 is dropped for that client and QoS 1/2
  // disconnects it (its session keeps them). Large enough that a burst of 10,000 messages of
  // 1 KB never drops (Home Assistant reading discovery at start-up).
  std::size_t max_client_buffer_bytes = 16 * 1024 * 1024;
  // Every session's queue together, connected or not. The application sets it from the memory
  // it has; this is only the fallback.
  std::size_t max_total_buffer_bytes = 256 * 1024 * 1024;
  // An offline persistent session keeps at most this many messages, and bytes (the Mosquitto
  // add-on's 8,192, raised there because users lost messages at start-up).
  std::size_t max_queued_messages = 8192;
  std::size_t max_queued_bytes = 16 * 1024 * 1024;

  // What authenticated clients can make the broker keep. Mosquitto bounds none of these; a home
  // stays far below them, and a client past one is refused that one thing while the rest goes on.
  // Subscriptions of one session, and of all sessions together: a new one past either gets a
  // SUBACK failure (5.0: Quota exceeded); replacing an existing one is always allowed.
  std::size_t max_subscriptions_per_client = 100000;
  std::size_t max_subscriptions = 1000000;
  // Sessions, connected or not: a client that would start a new one past it is refused
  // (CONNACK Server unavailable, 5.0: Quota exceeded); existing sessions resume as always.
  std::size_t max_sessions = 100000;
  // A longer client id is refused at CONNECT (5.0: Client Identifier not valid): ids are UUIDs,
  // names and MAC addresses, and every session keeps its own (100,000 of 64 KiB would be 6 GiB).
  std::size_t max_client_id_bytes = 1024;
  // Retained messages together, in retained_cost() bytes. A retained message past it is
  // delivered as usual but not kept: its topic keeps its previous one. The application sets it
  // from the memory it has; this is only the fallback.
  std::size_t max_retained_bytes = 256 * 1024 * 1024;

  std::size_t max_incoming_qos2 = 1000;  // QoS 2 ids awaiting PUBREL, per client
  // 5.0: topic aliases a client may set towards the broker (CONNACK Topic Alias Maximum).
  std::uint16_t topic_alias_maximum = 10;
  // A longer keep-alive asked by a client is cut to this and announced as Server Keep Alive
  // (5.0); the protocol's own maximum, so by default no client is cut.
  std::uint16_t max_keep_alive = 65535;
  std::size_t max_connections = 10000;               // open sockets, past it refused at accept
  std::chrono::milliseconds connect_timeout{10000};  // a socket must send CONNECT within this
  login_throttle_config login_throttle;              // password guessing (login_throttle.hpp)
  std::chrono::seconds sys_interval{10};             // $SYS/broker/... publish period
  std::string version = "0.0.0";
  // The web UI's topic tree: topics tracked with their last message, and the payload bytes it
  // may keep (small ones copied, large ones shared with the message).
  std::size_t ui_max_topics = 10000;
  std::size_t ui_max_payload_bytes = 16 * 1024 * 1024;
  // It records only while watched: for this long after the UI last asked.
  std::chrono::seconds ui_watch_linger{120};
  // Acknowledge QoS 1/2 publishes only once what they changed is on disk (needs persistence).
  bool strict_durability = false;
};

}  // namespace broker
