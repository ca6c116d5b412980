#include "broker/message.hpp"

#include "mqtt/encoder.hpp"

namespace broker {

message::message(std::string topic, std::string payload, mqtt::qos q, bool retain)
    : topic_(std::move(topic)),
      payload_(std::make_shared<const std::string>(std::move(payload))),
      qos_(q),
      retain_(retain) {}

std::shared_ptr<const std::string> message::encoded_qos0(bool retain) const {
  const int slot = retain ? 1 : 0;
  std::call_once(encoded_once_[slot], [&] {
    auto bytes = std::make_shared<std::string>();
    bytes->reserve(topic_.size() + payload_->size() + 8);
    mqtt::encode_publish_head(topic_, mqtt::qos::at_most_once, retain, false, 0, payload_->size(),
                              *bytes);
    bytes->append(*payload_);
    encoded_[slot] = std::move(bytes);
  });
  return encoded_[slot];
}

}  // namespace broker
