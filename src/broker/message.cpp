#include "broker/message.hpp"

#include "mqtt/encoder.hpp"

namespace broker {

message::message(std::string topic, std::string payload, mqtt::qos q, bool retain,
                 mqtt::properties props, std::optional<wall_clock::time_point> expires_at)
    : topic_(std::move(topic)),
      payload_(std::move(payload)),
      qos_(q),
      retain_(retain) {
  if (props.empty() && !expires_at) return;
  auto e = std::make_unique<extras>();
  e->props = std::move(props);
  if (!e->props.empty()) mqtt::encode_property_list(e->props, e->props_wire);
  e->expires_at = expires_at;
  extras_ = std::move(e);
}

const message::extras& message::extras_of() const {
  static const extras none;
  return extras_ ? *extras_ : none;
}

std::uint32_t message::remaining_seconds(wall_clock::time_point now) const {
  const auto& until = expires_at();
  if (!until) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - now);
  if (left.count() <= 0) return 0;
  const auto seconds = (left.count() + 999) / 1000;
  return seconds > 0xFFFFFFFF ? 0xFFFFFFFFu : static_cast<std::uint32_t>(seconds);
}

message_ptr make_message(std::string topic, std::string payload, mqtt::qos q, bool retain,
                         const mqtt::properties& props, message::wall_clock::time_point now) {
  mqtt::properties kept;
  std::optional<message::wall_clock::time_point> expires_at;
  for (const mqtt::property& p : props) {
    switch (p.id) {
      case mqtt::property_id::message_expiry_interval:
        if (const auto* v = std::get_if<std::uint32_t>(&p.value)) {
          expires_at = now + std::chrono::seconds(*v);
        }
        break;
      case mqtt::property_id::topic_alias:
      case mqtt::property_id::subscription_identifier:
      case mqtt::property_id::will_delay_interval:  // the will's, not the message's
        break;
      default:
        kept.push_back(p);
    }
  }
  return std::make_shared<const message>(std::move(topic), std::move(payload), q, retain,
                                         std::move(kept), expires_at);
}

}  // namespace broker
