#pragma once
// An application message as the broker routes it: immutable once built and shared by every
// session it goes to, so a fan-out to many subscribers copies no payload.
//
// One allocation holds the shared pointer's count, the message, its topic and its payload
// (message::make). A message is made on the publisher's I/O thread and usually freed on a
// subscriber's, and glibc's per-thread caches do not help a block freed on another thread: with
// the topic and the payload in blocks of their own that cost was paid three times per message,
// and a retained message carried two string headers and two allocations' overhead more.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/output_batch.hpp"

#include "mqtt/packet.hpp"

namespace broker {

class message;
using message_ptr = std::shared_ptr<const message>;

class message {
  struct tail;  // where make() put the topic and payload bytes

 public:
  // Expiry is wall-clock time so that it survives a restart (the store keeps it).
  using wall_clock = std::chrono::system_clock;

  // `props`: the 5.0 properties forwarded unchanged to every subscriber [MQTT-3.3.2-18]: payload
  // format indicator, content type, response topic, correlation data, user properties in order.
  // The message expiry interval is held as `expires_at` instead; topic alias and subscription
  // identifiers belong to one hop and are never part of the message.
  static message_ptr make(std::string_view topic, std::string_view payload, mqtt::qos q,
                          bool retain, mqtt::properties props = {},
                          std::optional<wall_clock::time_point> expires_at = std::nullopt);

  // Only make() can call it (it alone has a tail).
  message(const tail& bytes, std::string_view topic, std::string_view payload, mqtt::qos q,
          bool retain, mqtt::properties props, std::optional<wall_clock::time_point> expires_at);
  message(const message&) = delete;
  message& operator=(const message&) = delete;

  std::string_view topic() const { return {data_, topic_size_}; }
  std::string_view payload() const { return {data_ + topic_size_, payload_size_}; }
  mqtt::qos qos() const { return qos_; }
  bool retain() const { return retain_; }
  const mqtt::properties& properties() const { return extras_of().props; }
  // The forwarded properties on the wire, without the length prefix (empty when there are none).
  const std::string& properties_wire() const { return extras_of().props_wire; }
  const std::optional<wall_clock::time_point>& expires_at() const { return extras_of().expires_at; }

  bool expired(wall_clock::time_point now) const {
    return extras_ && extras_->expires_at && *extras_->expires_at <= now;
  }
  // Whole seconds left, rounded up (at least 1 while not expired), for the Message Expiry
  // Interval of a forwarded copy [MQTT-3.3.2-6].
  std::uint32_t remaining_seconds(wall_clock::time_point now) const;

 private:
  const char* data_;            // the topic, then the payload, after this object in the same block
  std::uint32_t topic_size_;    // at most 65,535 [MQTT-1.5.3]
  std::uint32_t payload_size_;  // at most 268,435,455: a packet's remaining length
  mqtt::qos qos_;
  bool retain_;
  // What only some 5.0 messages carry, behind one pointer: most messages (every retained
  // discovery config, say) carry none of it, and it would cost them 72 bytes each.
  struct extras {
    mqtt::properties props;
    std::string props_wire;
    std::optional<wall_clock::time_point> expires_at;
  };
  const extras& extras_of() const;
  std::unique_ptr<const extras> extras_;
};

// The payload, sharing the message's ownership: a large payload goes out to every subscriber (or
// to the web UI) from the message's own block, with no copy and no allocation.
inline shared_bytes shared_payload(const message_ptr& m) {
  return {m, m->payload()};
}

// A message from a client's PUBLISH (or will): keeps the properties a subscriber gets unchanged
// and turns the message expiry interval into a point in time, counted from now. (The clock is
// read only then: a 3.1.1 message, most of them, costs no clock read.)
message_ptr make_message(std::string_view topic, std::string_view payload, mqtt::qos q, bool retain,
                         const mqtt::properties& props);

}  // namespace broker
