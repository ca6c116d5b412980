#pragma once
// What the broker tells durable storage, change by change, so a restart or a crash finds the
// retained messages and the persistent sessions again. Called from several threads at once, under
// one of the broker state's locks: the changes of one key (a retained topic, a session's delivery)
// come in their order, those of different keys may interleave. Implementations only queue the
// change (the disk work happens on their own thread).
//
// Only persistent sessions (clean session = 0, or a 5.0 session expiry above 0) are stored, and of
// their messages only QoS 1 and 2: QoS 0 carries no delivery promise.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/message.hpp"
#include "mqtt/packet.hpp"

namespace broker {

// A QoS 1/2 message owed to a persistent session, queued or in flight.
struct stored_delivery {
  std::uint64_t seq = 0;  // per session, increasing: restores the order [MQTT-4.6.0-1]
  message_ptr msg;
  mqtt::qos qos = mqtt::qos::at_least_once;
  bool retain = false;
  std::uint16_t packet_id = 0;         // 0 while queued, set once sent
  bool released = false;               // PUBREC received: only PUBREL is owed
  std::vector<std::uint32_t> sub_ids;  // 5.0 subscription identifiers it goes out with
};

class persistence {
 public:
  virtual ~persistence() = default;

  // Shared: the store may keep the message itself rather than a copy of it.
  virtual void retained_stored(const message_ptr& msg) = 0;
  virtual void retained_erased(std::string_view topic) = 0;

  virtual void session_stored(std::string_view client_id, std::string_view username) = 0;
  virtual void session_erased(std::string_view client_id) = 0;
  // The session's expiry interval, and when its last connection ended (nullopt while a
  // connection serves it), so a finite expiry keeps counting across a restart. Sessions stored
  // without this record (older stores, 3.1.1) never expire.
  virtual void session_expiry_stored(
      std::string_view client_id, std::uint32_t expiry_interval,
      std::optional<std::chrono::system_clock::time_point> ended_at) = 0;
  virtual void subscription_stored(std::string_view client_id, const mqtt::subscription& sub) = 0;
  virtual void subscription_erased(std::string_view client_id, std::string_view filter) = 0;
  virtual void delivery_stored(std::string_view client_id, const stored_delivery& d) = 0;
  virtual void delivery_erased(std::string_view client_id, std::uint64_t seq) = 0;
  virtual void incoming_qos2_stored(std::string_view client_id, std::uint16_t packet_id) = 0;
  virtual void incoming_qos2_erased(std::string_view client_id, std::uint16_t packet_id) = 0;

  // Strict durability: `fn` runs (on any thread) once every change queued so far is on disk.
  virtual void when_durable(std::function<void()> fn) = 0;
};

}  // namespace broker
