#include "mqtt/reason_code.hpp"

namespace mqtt {

const char* describe_reason(std::uint8_t code) {
  using namespace reason;
  switch (code) {
    case success:
      return "success";
    case granted_qos_1:
      return "granted QoS 1";
    case granted_qos_2:
      return "granted QoS 2";
    case disconnect_with_will:
      return "disconnect with will message";
    case no_matching_subscribers:
      return "no matching subscribers";
    case no_subscription_existed:
      return "no subscription existed";
    case continue_authentication:
      return "continue authentication";
    case re_authenticate:
      return "re-authenticate";
    case unspecified_error:
      return "unspecified error";
    case malformed_packet:
      return "malformed packet";
    case protocol_error:
      return "protocol error";
    case implementation_specific_error:
      return "implementation specific error";
    case unsupported_protocol_version:
      return "unsupported protocol version";
    case client_identifier_not_valid:
      return "client identifier not valid";
    case bad_user_name_or_password:
      return "bad user name or password";
    case not_authorized:
      return "not authorized";
    case server_unavailable:
      return "server unavailable";
    case server_busy:
      return "server busy";
    case banned:
      return "banned";
    case server_shutting_down:
      return "server shutting down";
    case bad_authentication_method:
      return "bad authentication method";
    case keep_alive_timeout:
      return "keep alive timeout";
    case session_taken_over:
      return "session taken over";
    case topic_filter_invalid:
      return "topic filter invalid";
    case topic_name_invalid:
      return "topic name invalid";
    case packet_identifier_in_use:
      return "packet identifier in use";
    case packet_identifier_not_found:
      return "packet identifier not found";
    case receive_maximum_exceeded:
      return "receive maximum exceeded";
    case topic_alias_invalid:
      return "topic alias invalid";
    case packet_too_large:
      return "packet too large";
    case message_rate_too_high:
      return "message rate too high";
    case quota_exceeded:
      return "quota exceeded";
    case administrative_action:
      return "administrative action";
    case payload_format_invalid:
      return "payload format invalid";
    case retain_not_supported:
      return "retain not supported";
    case qos_not_supported:
      return "QoS not supported";
    case use_another_server:
      return "use another server";
    case server_moved:
      return "server moved";
    case shared_subscriptions_not_supported:
      return "shared subscriptions not supported";
    case connection_rate_exceeded:
      return "connection rate exceeded";
    case maximum_connect_time:
      return "maximum connect time";
    case subscription_identifiers_not_supported:
      return "subscription identifiers not supported";
    case wildcard_subscriptions_not_supported:
      return "wildcard subscriptions not supported";
    default:
      return "unknown reason code";
  }
}

}  // namespace mqtt
