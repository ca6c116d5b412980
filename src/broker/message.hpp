#pragma once
// An application message as the broker routes it: immutable once built and shared by every
// session it goes to, so a fan-out to many subscribers copies no payload.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "mqtt/packet.hpp"

namespace broker {

class message {
 public:
  message(std::string topic, std::string payload, mqtt::qos q, bool retain);

  const std::string& topic() const { return topic_; }
  const std::string& payload() const { return *payload_; }
  const std::shared_ptr<const std::string>& shared_payload() const { return payload_; }
  mqtt::qos qos() const { return qos_; }
  bool retain() const { return retain_; }

  // The whole QoS 0 PUBLISH for 3.1 / 3.1.1 subscribers, encoded on first use and then shared by
  // every subscriber; `retain` is the flag as delivered (set only for retained-on-subscribe).
  std::shared_ptr<const std::string> encoded_qos0(bool retain) const;

 private:
  std::string topic_;
  std::shared_ptr<const std::string> payload_;
  mqtt::qos qos_;
  bool retain_;
  mutable std::once_flag encoded_once_[2];
  mutable std::shared_ptr<const std::string> encoded_[2];
};

using message_ptr = std::shared_ptr<const message>;

}  // namespace broker
