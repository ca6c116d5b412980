// decode_packet(): the fixed header rules and the dispatch to the per-packet decoders.

#include "mqtt/decoder.hpp"

#include <algorithm>
#include <array>

#include "mqtt/decode_detail.hpp"
#include "mqtt/reason_code.hpp"

namespace mqtt {
namespace detail {

decode_error check_fixed_header(std::uint8_t first_byte, protocol_version v) {
  const int type = first_byte >> 4;
  std::uint8_t flags = first_byte & 0x0F;
  if (type == 0) return decode_error::invalid_packet_type;
  if (type == static_cast<int>(packet_type::auth) && v != protocol_version::v5) {
    return decode_error::invalid_packet_type;
  }
  if (type == static_cast<int>(packet_type::publish)) {
    const int q = (flags >> 1) & 0x03;
    if (q == 3) return decode_error::invalid_qos;  // [MQTT-3.3.1-4]
    // [MQTT-3.3.1-2]: DUP must be 0 for QoS 0. MQTT 3.1 did not say so; old clients may set it.
    if (q == 0 && (flags & 0x08) != 0 && v != protocol_version::v3_1) {
      return decode_error::invalid_fixed_header_flags;
    }
    return decode_error::none;
  }
  const bool qos1_flag = type == static_cast<int>(packet_type::pubrel) ||
                         type == static_cast<int>(packet_type::subscribe) ||
                         type == static_cast<int>(packet_type::unsubscribe);
  // MQTT 3.1 set DUP on a retried PUBREL, SUBSCRIBE or UNSUBSCRIBE; tolerate it there only.
  if (qos1_flag && v == protocol_version::v3_1) flags &= 0x07;
  const std::uint8_t expected = qos1_flag ? 0x02 : 0x00;
  if (flags != expected) return decode_error::invalid_fixed_header_flags;  // [MQTT-2.2.2-2]
  return decode_error::none;
}

}  // namespace detail

namespace {

template <typename Packet>
void decode_ack_into(detail::field_reader& r, protocol_version v, packet& pkt) {
  auto& p = pkt.emplace<Packet>();
  detail::decode_ack(r, Packet::type, v, p.packet_id, p.reason_code, p.props);
}

void dispatch(detail::field_reader& r, packet_type type, std::uint8_t flags, protocol_version v,
              packet& pkt) {
  using namespace detail;
  switch (type) {
    case packet_type::connect:
      decode_connect(r, pkt.emplace<connect_packet>());
      break;
    case packet_type::connack:
      decode_connack(r, v, pkt.emplace<connack_packet>());
      break;
    case packet_type::publish:
      decode_publish(r, flags, v, pkt.emplace<publish_packet>());
      break;
    case packet_type::puback:
      decode_ack_into<puback_packet>(r, v, pkt);
      break;
    case packet_type::pubrec:
      decode_ack_into<pubrec_packet>(r, v, pkt);
      break;
    case packet_type::pubrel:
      decode_ack_into<pubrel_packet>(r, v, pkt);
      break;
    case packet_type::pubcomp:
      decode_ack_into<pubcomp_packet>(r, v, pkt);
      break;
    case packet_type::subscribe:
      decode_subscribe(r, v, pkt.emplace<subscribe_packet>());
      break;
    case packet_type::suback:
      decode_suback(r, v, pkt.emplace<suback_packet>());
      break;
    case packet_type::unsubscribe:
      decode_unsubscribe(r, v, pkt.emplace<unsubscribe_packet>());
      break;
    case packet_type::unsuback:
      decode_unsuback(r, v, pkt.emplace<unsuback_packet>());
      break;
    case packet_type::pingreq:
      pkt.emplace<pingreq_packet>();
      break;
    case packet_type::pingresp:
      pkt.emplace<pingresp_packet>();
      break;
    case packet_type::disconnect:
      decode_disconnect(r, v, pkt.emplace<disconnect_packet>());
      break;
    case packet_type::auth:
      decode_auth(r, pkt.emplace<auth_packet>());
      break;
  }
}

}  // namespace

decode_result decode_packet(std::uint8_t first_byte, std::span<const std::uint8_t> body,
                            protocol_version version) {
  decode_result out;
  out.error = detail::check_fixed_header(first_byte, version);
  if (out.error != decode_error::none) return out;
  detail::field_reader r(body);
  dispatch(r, static_cast<packet_type>(first_byte >> 4), first_byte & 0x0F, version, out.pkt);
  if (r.ok() && r.remaining() != 0) r.fail(decode_error::trailing_bytes);
  out.error = r.error();
  return out;
}

decode_error decode_publish_view(std::uint8_t first_byte, std::span<const std::uint8_t> body,
                                 protocol_version version, publish_view& out) {
  if (const decode_error e = detail::check_fixed_header(first_byte, version);
      e != decode_error::none) {
    return e;
  }
  detail::field_reader r(body);
  detail::decode_publish(r, first_byte & 0x0F, version, out);
  return r.error();  // the payload takes what the rest leaves: no trailing bytes
}

namespace detail {

bool allowed_reason_code(packet_type type, std::uint8_t code) {
  using namespace reason;
  // The tables of [MQTT-3.2.2.2], [MQTT-3.4.2.1] ... [MQTT-3.15.2.1].
  static constexpr std::array connack_codes{success,
                                            unspecified_error,
                                            malformed_packet,
                                            protocol_error,
                                            implementation_specific_error,
                                            unsupported_protocol_version,
                                            client_identifier_not_valid,
                                            bad_user_name_or_password,
                                            not_authorized,
                                            server_unavailable,
                                            server_busy,
                                            banned,
                                            bad_authentication_method,
                                            topic_name_invalid,
                                            packet_too_large,
                                            quota_exceeded,
                                            payload_format_invalid,
                                            retain_not_supported,
                                            qos_not_supported,
                                            use_another_server,
                                            server_moved,
                                            connection_rate_exceeded};
  static constexpr std::array puback_codes{success,
                                           no_matching_subscribers,
                                           unspecified_error,
                                           implementation_specific_error,
                                           not_authorized,
                                           topic_name_invalid,
                                           packet_identifier_in_use,
                                           quota_exceeded,
                                           payload_format_invalid};
  static constexpr std::array pubrel_codes{success, packet_identifier_not_found};
  static constexpr std::array suback_codes{success,
                                           granted_qos_1,
                                           granted_qos_2,
                                           unspecified_error,
                                           implementation_specific_error,
                                           not_authorized,
                                           topic_filter_invalid,
                                           packet_identifier_in_use,
                                           quota_exceeded,
                                           shared_subscriptions_not_supported,
                                           subscription_identifiers_not_supported,
                                           wildcard_subscriptions_not_supported};
  static constexpr std::array unsuback_codes{success,
                                             no_subscription_existed,
                                             unspecified_error,
                                             implementation_specific_error,
                                             not_authorized,
                                             topic_filter_invalid,
                                             packet_identifier_in_use};
  static constexpr std::array auth_codes{success, continue_authentication, re_authenticate};
  auto in = [code](const auto& table) {
    return std::find(table.begin(), table.end(), code) != table.end();
  };
  switch (type) {
    case packet_type::connack:
      return in(connack_codes);
    case packet_type::puback:
    case packet_type::pubrec:
      return in(puback_codes);
    case packet_type::pubrel:
    case packet_type::pubcomp:
      return in(pubrel_codes);
    case packet_type::suback:
      return in(suback_codes);
    case packet_type::unsuback:
      return in(unsuback_codes);
    case packet_type::disconnect:
      // Every code from 0x80 up to 0xA2 but 0x84..0x86, 0x88, 0x8A, 0x8C and 0x91, 0x92.
      if (code == success || code == disconnect_with_will) return true;
      if (code < unspecified_error || code > wildcard_subscriptions_not_supported) return false;
      return !(code == unsupported_protocol_version || code == client_identifier_not_valid ||
               code == bad_user_name_or_password || code == server_unavailable || code == banned ||
               code == bad_authentication_method || code == packet_identifier_in_use ||
               code == packet_identifier_not_found);
    case packet_type::auth:
      return in(auth_codes);
    default:
      return false;
  }
}

}  // namespace detail

const char* describe(decode_error e) {
  switch (e) {
    case decode_error::none:
      return "no error";
    case decode_error::malformed_remaining_length:
      return "variable byte integer longer than 4 bytes [MQTT-1.5.5-1]";
    case decode_error::packet_too_large:
      return "packet larger than the maximum packet size";
    case decode_error::invalid_packet_type:
      return "invalid packet type (0, or AUTH before MQTT 5.0)";
    case decode_error::invalid_fixed_header_flags:
      return "reserved fixed header flags wrong, or DUP set on QoS 0 [MQTT-2.2.2-2] [MQTT-3.3.1-2]";
    case decode_error::truncated:
      return "a field runs past the end of the packet";
    case decode_error::trailing_bytes:
      return "bytes left over after the last field of the packet";
    case decode_error::invalid_utf8:
      return "string is not well-formed UTF-8 or holds U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]";
    case decode_error::invalid_protocol_name:
      return "CONNECT protocol name is not \"MQTT\" or \"MQIsdp\" [MQTT-3.1.2-1]";
    case decode_error::unsupported_protocol_level:
      return "CONNECT protocol level not supported (3 for MQIsdp, 4 or 5 for MQTT) [MQTT-3.1.2-2]";
    case decode_error::invalid_connect_flags:
      return "reserved CONNECT/CONNACK flag set or will QoS/retain without will flag "
             "[MQTT-3.1.2-3] [MQTT-3.1.2-13] [MQTT-3.1.2-15]";
    case decode_error::password_without_username:
      return "password flag set without user name flag [MQTT-3.1.2-22]";
    case decode_error::invalid_qos:
      return "QoS 3 is not allowed [MQTT-3.3.1-4]";
    case decode_error::zero_packet_id:
      return "packet identifier 0 is not allowed [MQTT-2.3.1-1]";
    case decode_error::empty_subscription_list:
      return "SUBSCRIBE/UNSUBSCRIBE without any topic filter [MQTT-3.8.3-3] [MQTT-3.10.3-2]";
    case decode_error::invalid_subscription_options:
      return "reserved subscription option bits set or retain handling 3 [MQTT-3.8.3-4] "
             "[MQTT-3.8.3-5]";
    case decode_error::invalid_property:
      return "property unknown, not allowed in this packet, duplicated or out of range "
             "[MQTT-2.2.2.2]";
    case decode_error::invalid_reason_code:
      return "reason or return code not allowed for this packet [MQTT-2.4]";
    case decode_error::unexpected_packet:
      return "packet type not allowed in this direction or state";
  }
  return "unknown decode error";
}

}  // namespace mqtt
