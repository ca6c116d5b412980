#include "mqtt/packet.hpp"

namespace mqtt {

publish_packet to_packet(publish_view view) {
  return {std::string(view.topic), std::string(view.payload), view.qos, view.retain, view.dup,
          view.packet_id,          std::move(view.props)};
}

packet_type type_of(const packet& p) {
  return std::visit(
      [](const auto& v) -> packet_type {
        using t = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<t, connect_packet>)
          return packet_type::connect;
        else if constexpr (std::is_same_v<t, connack_packet>)
          return packet_type::connack;
        else if constexpr (std::is_same_v<t, publish_packet>)
          return packet_type::publish;
        else if constexpr (std::is_same_v<t, subscribe_packet>)
          return packet_type::subscribe;
        else if constexpr (std::is_same_v<t, suback_packet>)
          return packet_type::suback;
        else if constexpr (std::is_same_v<t, unsubscribe_packet>)
          return packet_type::unsubscribe;
        else if constexpr (std::is_same_v<t, unsuback_packet>)
          return packet_type::unsuback;
        else if constexpr (std::is_same_v<t, pingreq_packet>)
          return packet_type::pingreq;
        else if constexpr (std::is_same_v<t, pingresp_packet>)
          return packet_type::pingresp;
        else if constexpr (std::is_same_v<t, disconnect_packet>)
          return packet_type::disconnect;
        else if constexpr (std::is_same_v<t, auth_packet>)
          return packet_type::auth;
        else
          return t::type;  // the four acks carry their type
      },
      p);
}

const char* name_of(packet_type t) {
  switch (t) {
    case packet_type::connect:
      return "CONNECT";
    case packet_type::connack:
      return "CONNACK";
    case packet_type::publish:
      return "PUBLISH";
    case packet_type::puback:
      return "PUBACK";
    case packet_type::pubrec:
      return "PUBREC";
    case packet_type::pubrel:
      return "PUBREL";
    case packet_type::pubcomp:
      return "PUBCOMP";
    case packet_type::subscribe:
      return "SUBSCRIBE";
    case packet_type::suback:
      return "SUBACK";
    case packet_type::unsubscribe:
      return "UNSUBSCRIBE";
    case packet_type::unsuback:
      return "UNSUBACK";
    case packet_type::pingreq:
      return "PINGREQ";
    case packet_type::pingresp:
      return "PINGRESP";
    case packet_type::disconnect:
      return "DISCONNECT";
    case packet_type::auth:
      return "AUTH";
  }
  return "UNKNOWN";
}

}  // namespace mqtt
