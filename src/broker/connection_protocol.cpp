#include "broker/connection_protocol.hpp"

#include <cstdio>
#include <variant>
#include <vector>

#include "broker/broker_state.hpp"
#include "broker/client_info.hpp"
#include "broker/connection_state.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/reason_code.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace broker {

namespace {

using phase = connection_state::phase;
using mqtt::property_id;
namespace rc = mqtt::reason;

// How much payload one take_output() moves: bounds a write and lets other work interleave.
constexpr std::size_t output_budget = 256 * 1024;
// A client that floods us while not reading its acknowledgements cannot make us buffer forever.
constexpr std::size_t max_reply_backlog = 4 * 1024 * 1024;
// Below this, copying a shared packet into the batch's own buffer beats an extra iovec.
constexpr std::size_t copy_below = 512;
// The largest packet 5.0 can express [MQTT-2.2.3]: the broker never announces more.
constexpr std::size_t protocol_max_packet = 268'435'455;

bool is_v5(const connection_state& st) {
  return st.version == mqtt::protocol_version::v5;
}

std::string code_text(std::uint8_t code) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", code);
  return std::string("reason ") + hex + " " + mqtt::describe_reason(code);
}

void reply(connection_state& st, const mqtt::packet& p) {
  mqtt::encode(p, st.version, st.control_out);
  if (st.control_out.size() > max_reply_backlog) {
    const char* why = "client does not read its acknowledgements (reply backlog over 4 MiB)";
    st.broker.events().add(event_kind::limit, st.client_id, why);
    close_with(st, log_level::warning, why, rc::quota_exceeded);
  }
}

void wake_self(connection_state& st) {
  // The link is cleared only on this connection's own thread (detach), so reading it here is safe.
  if (st.link) st.link->wake();
}

std::uint8_t connack_code(auth_result r, bool v5) {
  switch (r) {
    case auth_result::accepted:
      return mqtt::connect_return::accepted;
    case auth_result::bad_credentials:
      return v5 ? rc::bad_user_name_or_password : mqtt::connect_return::bad_username_or_password;
    case auth_result::not_authorized:
      return v5 ? rc::not_authorized : mqtt::connect_return::not_authorized;
    case auth_result::unavailable:
      return v5 ? rc::server_unavailable : mqtt::connect_return::server_unavailable;
  }
  return v5 ? rc::not_authorized : mqtt::connect_return::not_authorized;
}

const char* describe_refusal(auth_result r) {
  switch (r) {
    case auth_result::bad_credentials:
      return "bad user name or password";
    case auth_result::not_authorized:
      return "not authorized (anonymous or unknown user)";
    case auth_result::unavailable:
      return "the authentication service cannot answer";
    default:
      return "refused";
  }
}

void refuse_connect(connection_state& st, std::uint8_t code, std::string reason,
                    event_kind kind = event_kind::connect_refused) {
  st.broker.events().add(kind, st.client_id, reason);
  // A refused CONNECT gets its CONNACK, then the connection closes [MQTT-3.2.2-5]
  // [MQTT-3.2.2-7].
  reply(st, mqtt::connack_packet{false, code, {}});
  reason += std::string(" (MQTT ") + protocol_name(st.version) + ", " +
            (is_v5(st) ? code_text(code) : "return code " + std::to_string(code)) + ")";
  close_with(st, log_level::notice, std::move(reason));
}

void add_integer(mqtt::properties& props, property_id id, std::uint32_t v) {
  mqtt::property& p = props.emplace_back();
  p.id = id;
  p.value = v;
}

// What a 5.0 CONNACK tells the client about this broker [MQTT-3.2.2.3].
mqtt::properties connack_properties(const connection_state& st, const broker_config& config,
                                    bool assigned_id, bool keep_alive_cut) {
  mqtt::properties props;
  props.reserve(10);
  const auto receive_max = std::min<std::size_t>(config.max_incoming_qos2, 65535);
  add_integer(props, property_id::receive_maximum, static_cast<std::uint32_t>(receive_max));
  add_integer(props, property_id::maximum_packet_size,
              static_cast<std::uint32_t>(std::min(config.max_packet_size, protocol_max_packet)));
  if (config.topic_alias_maximum > 0) {
    add_integer(props, property_id::topic_alias_maximum, config.topic_alias_maximum);
  }
  add_integer(props, property_id::retain_available, 1);
  add_integer(props, property_id::wildcard_subscription_available, 1);
  add_integer(props, property_id::subscription_identifier_available, 1);
  add_integer(props, property_id::shared_subscription_available, 1);
  if (assigned_id) {
    props.push_back({property_id::assigned_client_identifier,  // [MQTT-3.2.2-16]
                     mqtt::property_value(std::in_place_type<std::string>, st.client_id.view())});
  }
  if (keep_alive_cut) {
    add_integer(props, property_id::server_keep_alive, st.keep_alive);  // [MQTT-3.2.2-21]
  }
  return props;
}

void finish_connect(connection_state& st, auth_result result, const mqtt::connect_packet& connect,
                    bool assigned_id, bool keep_alive_cut) {
  if (st.stage != phase::authenticating) return;
  const std::string user = st.username.has_value() ? "'" + st.username.str() + "'" : "(none)";
  if (result != auth_result::accepted) {
    // The event names the user and the address, never the password.
    refuse_connect(st, connack_code(result, is_v5(st)),
                   std::string("connection refused: ") + describe_refusal(result) + ", user " +
                       user + ", from " + st.remote_address,
                   event_kind::login_refused);
    wake_self(st);
    return;
  }
  const broker_config& config = st.broker.config();
  send_limits limits;
  if (is_v5(st)) {
    limits.v5 = true;
    limits.receive_maximum = static_cast<std::uint16_t>(
        mqtt::find_integer(connect.props, property_id::receive_maximum).value_or(65535));
    limits.maximum_packet_size = st.client_max_packet;
    limits.topic_aliases = st.client_alias_max > 0;
  }
  const std::optional<bool> attached =
      st.broker.attach(st, connect.clean_start, connect.will, limits);
  if (!attached) {
    // A new session past max_sessions. 3.1.1 has no closer return code than Server
    // unavailable [MQTT-3.2.2.3].
    refuse_connect(st, is_v5(st) ? rc::quota_exceeded : mqtt::connect_return::server_unavailable,
                   "connection refused: the broker keeps as many sessions as it may "
                   "(max_sessions), from " +
                       st.remote_address);
    wake_self(st);
    return;
  }
  const bool present = *attached;
  st.stage = phase::connected;
  st.announced = true;
  st.connack_sent = true;
  mqtt::connack_packet ack{present, mqtt::connect_return::accepted, {}};
  if (is_v5(st)) ack.props = connack_properties(st, config, assigned_id, keep_alive_cut);
  reply(st, ack);
  std::string session_text;
  if (is_v5(st)) {
    session_text = st.session_expiry == 0 ? "session expiry 0"
                   : st.session_expiry == session::never_expires
                       ? "session never expires"
                       : "session expiry " + std::to_string(st.session_expiry) + " s";
    if (connect.clean_start) session_text = "clean start, " + session_text;
  } else {
    session_text = connect.clean_start ? "clean session" : "persistent session";
  }
  st.broker.log().log(log_level::info, st.client_id,
                      "connected from " + st.remote_address + " (MQTT " +
                          protocol_name(st.version) + ", user " + user + ", keep-alive " +
                          std::to_string(st.keep_alive) + " s, " + session_text +
                          (present ? ", session resumed" : "") + ")");
  // Packets the client sent behind its CONNECT waited for the verdict.
  process_input(st);
  wake_self(st);
}

// The check is done (on any thread): tell the throttle, then go on on the connection's thread,
// with the refusal held back when the throttle says so.
void checked(const std::weak_ptr<connection_state>& weak, broker_state& broker,
             std::unique_ptr<held_login> login, auth_result result) {
  const bool failed =
      result == auth_result::bad_credentials || result == auth_result::not_authorized;
  const std::string user = login->who.username.value_or("");
  const std::string host(host_of(login->who.remote_address));
  const auto now = std::chrono::steady_clock::now();
  const login_throttle::verdict v = broker.throttle().after_check(user, host, failed, now);
  const login_throttle_config& limits = broker.config().login_throttle;
  const std::string counted = ". Held attempts are counted in $SYS/broker/limits/logins/throttled";
  if (v.user_now_throttled) {
    broker.events().add(event_kind::limit, login->who.client_id,
                        "login throttle: user '" + user + "' failed repeatedly");
    broker.log().log(log_level::info, "login throttle: user '" + user + "' failed " +
                                          std::to_string(limits.user_free_failures + 1) +
                                          " times (the last from " + host +
                                          "): its logins are slowed, from any address" + counted);
  }
  if (v.address_now_throttled) {
    broker.events().add(event_kind::limit, login->who.client_id,
                        "login throttle: address " + host + " failed repeatedly");
    broker.log().log(log_level::info,
                     "login throttle: " + std::to_string(limits.address_free_failures + 1) +
                         " failed logins from " + host + ": its refusals are answered slowly" +
                         counted);
  }
  auto alive = weak.lock();
  if (!alive) return;
  auto shared = std::make_shared<std::unique_ptr<held_login>>(std::move(login));
  alive->broker.post_to(alive, [weak, shared, result, hold = v.hold, now] {
    auto again = weak.lock();
    if (!again || again->stage != phase::authenticating) return;
    held_login& l = **shared;
    if (result != auth_result::accepted && hold > std::chrono::steady_clock::duration::zero()) {
      l.refusal = result;
      l.until = now + hold;
      again->more().held = std::move(*shared);
      return;
    }
    finish_connect(*again, result, *l.connect, l.assigned_id, l.keep_alive_cut);
  });
}

// Checks `login` now, or holds it in the connection (connection_extras::held) while the login
// throttle makes it wait; resume_login() brings it back then.
void check_login(connection_state& st, std::unique_ptr<held_login> login,
                 std::chrono::steady_clock::time_point now) {
  const std::optional<std::chrono::steady_clock::time_point> wait =
      st.broker.throttle().before_check(login->who.username.value_or(""),
                                        host_of(login->who.remote_address), now);
  if (wait) {
    login->until = *wait;
    if (!login->counted) {
      login->counted = true;
      limit_counters::add(st.broker.counters().limits.logins_throttled);
    }
    st.more().held = std::move(login);
    return;
  }
  auto checking = std::make_shared<std::unique_ptr<held_login>>(std::move(login));
  const credentials who = (*checking)->who;
  std::weak_ptr<connection_state> weak = st.shared();
  broker_state& broker = st.broker;
  // The verdict may come from another thread; it continues on this connection's own thread.
  broker.auth().authenticate(who, [weak, &broker, checking](auth_result result) {
    checked(weak, broker, std::move(*checking), result);
  });
}

// The 5.0 CONNECT properties the broker acts on; false (after refusing) when one is refused.
bool take_connect_properties(connection_state& st, const mqtt::connect_packet& c) {
  const mqtt::properties& props = c.props;
  if (mqtt::find_property(props, property_id::authentication_method)) {
    // Enhanced authentication: the broker offers no method [MQTT-4.12.0-1].
    refuse_connect(
        st, rc::bad_authentication_method,
        "connection refused: enhanced authentication is not offered, from " + st.remote_address);
    return false;
  }
  st.session_expiry = mqtt::find_integer(props, property_id::session_expiry_interval).value_or(0);
  st.client_max_packet = mqtt::find_integer(props, property_id::maximum_packet_size).value_or(0);
  st.client_alias_max = static_cast<std::uint16_t>(
      mqtt::find_integer(props, property_id::topic_alias_maximum).value_or(0));
  return true;
}

bool valid_will(connection_state& st, const mqtt::will_message& will) {
  if (!mqtt::valid_topic_name(will.topic)) {
    if (is_v5(st)) {
      refuse_connect(st, rc::topic_name_invalid,
                     "connection refused: invalid will topic, from " + st.remote_address);
    } else {
      close_with(st, log_level::notice,
                 "CONNECT with an invalid will topic, from " + st.remote_address);
    }
    return false;
  }
  // A will that says its payload is UTF-8 must be (MQTT 5.0 sections 3.1.3.2.3 and 3.3.2.3.2).
  if (mqtt::find_integer(will.props, property_id::payload_format_indicator).value_or(0) == 1 &&
      !mqtt::valid_utf8(will.payload)) {
    refuse_connect(st, rc::payload_format_invalid,
                   "connection refused: will payload is not UTF-8 though its format indicator "
                   "says so, from " +
                       st.remote_address);
    return false;
  }
  return true;
}

void handle_connect(connection_state& st, mqtt::connect_packet& c) {
  st.version = c.version;
  st.reader.set_version(c.version);
  st.keep_alive = c.keep_alive;
  st.username = c.username ? shared_text(*c.username) : shared_text();
  const bool v5 = is_v5(st);
  if (v5) {
    if (!take_connect_properties(st, c)) return;
  } else {
    // 3.1.1: a persistent session never expires, a clean one ends with its connection.
    st.session_expiry = c.clean_start ? 0 : session::never_expires;
  }
  bool keep_alive_cut = false;
  const std::uint16_t max_keep_alive = st.broker.config().max_keep_alive;
  if (v5 && st.keep_alive > max_keep_alive) {
    st.keep_alive = max_keep_alive;  // announced as Server Keep Alive [MQTT-3.2.2-21]
    keep_alive_cut = true;
  }

  bool assigned_id = false;
  if (c.client_id.empty()) {
    if (c.version == mqtt::protocol_version::v3_1 || (!v5 && !c.clean_start)) {
      // 3.1 requires an id; 3.1.1 allows an empty one only with a clean session [MQTT-3.1.3-8].
      refuse_connect(st, mqtt::connect_return::identifier_rejected,
                     "connection refused: empty client id" +
                         std::string(c.clean_start ? "" : " with a persistent session") +
                         ", from " + st.remote_address);
      return;
    }
    // 5.0 assigns one whatever Clean Start says, and tells the client [MQTT-3.1.3-6]
    // [MQTT-3.2.2-16].
    c.client_id = st.broker.assign_client_id();
    assigned_id = v5;
  } else if (c.version == mqtt::protocol_version::v3_1 && c.client_id.size() > 23) {
    refuse_connect(st, mqtt::connect_return::identifier_rejected,
                   "connection refused: MQTT 3.1 client id longer than 23 characters, from " +
                       st.remote_address);
    return;
  } else if (c.client_id.size() > st.broker.config().max_client_id_bytes) {
    // A server must take ids of up to 23 bytes [MQTT-3.1.3-5] and may take more; this one
    // takes far more, but not 65,535: each session keeps its id, and max_sessions of them
    // must stay affordable.
    refuse_connect(
        st,
        v5 ? mqtt::reason::client_identifier_not_valid : mqtt::connect_return::identifier_rejected,
        "connection refused: client id of " + std::to_string(c.client_id.size()) +
            " bytes, more than " + std::to_string(st.broker.config().max_client_id_bytes) +
            ", from " + st.remote_address);
    return;
  }
  if (!st.internal && st.broker.is_bridge_client_id(c.client_id)) {
    // A bridge's queue must not be drained (or its session ended) by a client that borrows its
    // id; Mosquitto leaves this open, but nothing legitimate needs it.
    refuse_connect(st,
                   is_v5(st) ? mqtt::reason::client_identifier_not_valid
                             : mqtt::connect_return::identifier_rejected,
                   "connection refused: client id '" + c.client_id +
                       "' belongs to a bridge of this broker, from " + st.remote_address);
    return;
  }
  st.client_id = shared_text(c.client_id);
  if (c.will && !valid_will(st, *c.will)) return;

  st.stage = phase::authenticating;
  if (st.internal) {
    // A bridge inside the process: nothing to authenticate or throttle.
    finish_connect(st, auth_result::accepted, c, assigned_id, keep_alive_cut);
    return;
  }
  auto login = std::make_unique<held_login>();
  login->who = credentials{c.client_id, c.username, c.password, st.remote_address};
  login->connect = std::make_shared<mqtt::connect_packet>(std::move(c));
  login->assigned_id = assigned_id;
  login->keep_alive_cut = keep_alive_cut;
  // Not kept in the connection unless the throttle holds it: the extras block it would need
  // would stay with every connection.
  check_login(st, std::move(login), std::chrono::steady_clock::now());
}

void acknowledge_publish(connection_state& st, mqtt::qos q, std::uint16_t id, std::uint8_t code) {
  auto send = [&st, q, id, code] {
    const std::uint8_t sent = is_v5(st) ? code : 0;
    if (q == mqtt::qos::at_least_once) {
      reply(st, mqtt::puback_packet{id, sent, {}});
    } else {
      reply(st, mqtt::pubrec_packet{id, sent, {}});
    }
  };
  if (!st.broker.config().strict_durability) {
    send();
    return;
  }
  // Strict durability: the acknowledgement waits until what the message changed is on disk.
  // Until then it counts against the Receive Maximum [MQTT-3.3.4-8], once: a QoS 2 id awaiting
  // PUBREL is counted there already.
  const bool counted = q == mqtt::qos::exactly_once && st.broker.has_incoming_qos2(st, id);
  if (!counted) ++st.incoming_unacked;
  const std::shared_ptr<connection_state> self = st.shared();
  st.broker.after_durable(self, [weak = std::weak_ptr(self), send, counted] {
    auto alive = weak.lock();
    if (!alive || alive->stage == phase::closed) return;
    if (!counted && alive->incoming_unacked > 0) --alive->incoming_unacked;
    send();
  });
}

// 5.0 topic aliases from the client (section 3.3.2.3.4): resolves `p.topic`; false after closing
// the connection for a bad alias.
bool resolve_topic_alias(connection_state& st, mqtt::publish_view& p) {
  const auto alias = mqtt::find_integer(p.props, property_id::topic_alias);
  if (!alias) {
    if (p.topic.empty()) {
      close_with(st, log_level::notice, "PUBLISH without a topic name or topic alias",
                 rc::protocol_error);
      return false;
    }
    return true;
  }
  // 0, or above what CONNACK allowed, is a protocol error [MQTT-3.3.2-8] [MQTT-3.3.2-9].
  const std::size_t allowed = st.broker.config().topic_alias_maximum;
  if (*alias == 0 || *alias > allowed) {
    close_with(st, log_level::notice,
               "PUBLISH with topic alias " + std::to_string(*alias) + " beyond the allowed maximum",
               rc::topic_alias_invalid);
    return false;
  }
  if (p.topic.empty()) {
    const auto* in = st.extras() ? st.extras()->aliases_in.get() : nullptr;
    if (!in || (*in)[*alias].empty()) {
      close_with(st, log_level::notice,
                 "PUBLISH with topic alias " + std::to_string(*alias) + " that was never set",
                 rc::protocol_error);
      return false;
    }
    p.topic = (*in)[*alias];  // a view: the alias is not reset while it is used
  } else if (mqtt::valid_topic_name(p.topic)) {
    // Sized once, at the first alias: a view of one entry is never moved by a later one.
    auto& in = st.more().aliases_in;
    if (!in) in = std::make_unique<std::vector<std::string>>(allowed + 1);
    (*in)[*alias] = p.topic;
  }
  return true;
}

// `p` views the bytes it arrived in (packet_reader::next): nothing here keeps a view of it.
void handle_publish(connection_state& st, mqtt::publish_view& p) {
  const bool v5 = is_v5(st);
  if (v5) {
    if (mqtt::find_property(p.props, property_id::subscription_identifier)) {
      // Only the server sets subscription identifiers [MQTT-3.3.4-6].
      close_with(st, log_level::notice, "PUBLISH from a client with a subscription identifier",
                 rc::protocol_error);
      return;
    }
    if (!resolve_topic_alias(st, p)) return;
  }
  if (!mqtt::valid_topic_name(p.topic)) {
    // [MQTT-3.3.2-2]: a topic name with wildcards is a protocol violation.
    close_with(st, log_level::notice, "PUBLISH to an invalid topic name", rc::topic_name_invalid);
    return;
  }
  if (v5 && p.qos != mqtt::qos::at_most_once &&
      !(p.qos == mqtt::qos::exactly_once && st.broker.has_incoming_qos2(st, p.packet_id))) {
    // More unacknowledged QoS 1/2 publishes than CONNACK's Receive Maximum [MQTT-3.3.4-8].
    const std::size_t unacked = st.broker.incoming_qos2_count(st) + st.incoming_unacked;
    if (unacked >= std::min<std::size_t>(st.broker.config().max_incoming_qos2, 65535)) {
      close_with(st, log_level::notice,
                 "more unacknowledged QoS 1/2 publishes than the Receive Maximum",
                 rc::receive_maximum_exceeded);
      return;
    }
  }
  st.broker.counters().messages_received.add(1);
  st.messages_in.fetch_add(1, std::memory_order_relaxed);
  std::uint8_t code = rc::success;
  // Denied publishes are dropped; 3.1.1 still acknowledges them as if delivered, so the client
  // does not resend them; 5.0 says why [MQTT-3.4.2.1].
  if (!st.broker.may_publish(st, p.topic)) {
    st.broker.log().log(log_level::debug, st.client_id,
                        "publish to '" + std::string(p.topic) + "' denied");
    code = rc::not_authorized;
  } else if (v5 &&
             mqtt::find_integer(p.props, property_id::payload_format_indicator).value_or(0) == 1 &&
             !mqtt::valid_utf8(p.payload)) {
    // The payload says it is UTF-8 and is not (section 3.3.2.3.2): not delivered.
    st.broker.log().log(
        log_level::debug, st.client_id,
        "publish to '" + std::string(p.topic) + "' refused: payload is not valid UTF-8");
    code = rc::payload_format_invalid;
  }
  bool deliver = code == rc::success || !v5;
  if (p.qos == mqtt::qos::exactly_once && deliver) {
    // Exactly once: a re-sent PUBLISH whose id still awaits PUBREL is not delivered again
    // [MQTT-4.3.3-2].
    deliver = st.broker.remember_incoming_qos2(st, p.packet_id) && code == rc::success;
  } else {
    deliver = deliver && code == rc::success;
  }
  if (deliver) {
    const std::size_t reached =
        st.broker.publish(make_message(p.topic, p.payload, p.qos, p.retain, p.props), &st);
    if (reached == 0) code = rc::no_matching_subscribers;
  }
  if (p.qos != mqtt::qos::at_most_once) acknowledge_publish(st, p.qos, p.packet_id, code);
}

void handle_subscribe(connection_state& st, const mqtt::subscribe_packet& s) {
  const bool v5 = is_v5(st);
  const std::uint32_t identifier =
      v5 ? mqtt::find_integer(s.props, property_id::subscription_identifier).value_or(0) : 0;
  for (const auto& sub : s.subscriptions) {
    if (sub.no_local && mqtt::is_shared_filter(sub.filter)) {
      // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
      close_with(st, log_level::notice, "No Local on a shared subscription", rc::protocol_error);
      return;
    }
  }
  // Shared subscriptions ("$share/<group>/<filter>") for every protocol version, as Mosquitto
  // does; one whose group or filter is invalid is refused like an invalid filter.
  auto refusal = [&](const mqtt::subscription& sub) -> std::uint8_t {
    const bool valid = mqtt::is_shared_filter(sub.filter)
                           ? mqtt::split_shared_filter(sub.filter).has_value()
                           : mqtt::valid_topic_filter(sub.filter);
    if (!valid) return v5 ? rc::topic_filter_invalid : rc::unspecified_error;
    return rc::success;
  };
  std::vector<mqtt::subscription> valid;
  valid.reserve(s.subscriptions.size());
  for (const auto& sub : s.subscriptions) {
    if (refusal(sub) != rc::success) continue;
    valid.push_back(sub);
    valid.back().identifier = identifier;
  }
  const std::vector<std::uint8_t> granted = st.broker.subscribe(st, valid);
  // One return code per filter, in order [MQTT-3.8.4-5]; an invalid filter gets a failure code
  // and leaves the connection open.
  mqtt::suback_packet ack{s.packet_id, {}, {}};
  std::size_t next_valid = 0;
  for (const auto& sub : s.subscriptions) {
    const std::uint8_t refused = refusal(sub);
    ack.reason_codes.push_back(refused == rc::success ? granted[next_valid++] : refused);
  }
  reply(st, ack);
}

void handle_disconnect(connection_state& st, const mqtt::disconnect_packet& d) {
  std::string why = "client sent DISCONNECT";
  if (is_v5(st)) {
    if (const auto expiry = mqtt::find_integer(d.props, property_id::session_expiry_interval)) {
      // From 0 to anything else is a protocol error [MQTT-3.14.2-2]; the will goes out.
      if (st.session_expiry == 0 && *expiry != 0) {
        close_with(st, log_level::notice, "DISCONNECT sets a session expiry after CONNECT set 0",
                   rc::protocol_error);
        return;
      }
      st.broker.set_session_expiry(st, *expiry);
      why += ", session expiry now " + std::to_string(*expiry) + " s";
    }
    if (d.reason_code != rc::success) why += " (" + code_text(d.reason_code) + ")";
  }
  // Reason 0x04 keeps the will [MQTT-3.14.4-3]; anything else discards it.
  if (!(is_v5(st) && d.reason_code == rc::disconnect_with_will)) st.broker.discard_will(st);
  st.disconnect_received = true;
  close_with(st, log_level::debug, std::move(why));
}

void handle_packet(connection_state& st, mqtt::packet& pkt) {
  if (st.stage == phase::awaiting_connect) {
    if (auto* c = std::get_if<mqtt::connect_packet>(&pkt)) {
      handle_connect(st, *c);
    } else {
      // The first packet must be CONNECT [MQTT-3.1.0-1].
      close_with(st, log_level::notice,
                 std::string("first packet was ") + mqtt::name_of(mqtt::type_of(pkt)) +
                     ", not CONNECT, from " + st.remote_address);
    }
    return;
  }
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::publish_packet>) {
          // Only before CONNECT does a PUBLISH arrive whole (process_input); kept for any caller.
          mqtt::publish_view view{p.topic,     p.payload,         p.qos, p.retain, p.dup,
                                  p.packet_id, std::move(p.props)};
          handle_publish(st, view);
        } else if constexpr (std::is_same_v<T, mqtt::puback_packet> ||
                             std::is_same_v<T, mqtt::pubcomp_packet>) {
          st.broker.on_ack(st, T::type, p.packet_id);
        } else if constexpr (std::is_same_v<T, mqtt::pubrec_packet>) {
          st.broker.on_ack(st, T::type, p.packet_id, p.reason_code);
          // A 5.0 PUBREC with a failure code ends the exchange: no PUBREL [MQTT-4.3.3-4].
          if (p.reason_code < 0x80) reply(st, mqtt::pubrel_packet{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::pubrel_packet>) {
          const bool known = st.broker.has_incoming_qos2(st, p.packet_id);
          st.broker.release_incoming_qos2(st, p.packet_id);
          reply(st, mqtt::pubcomp_packet{
                        p.packet_id, known ? rc::success : rc::packet_identifier_not_found, {}});
        } else if constexpr (std::is_same_v<T, mqtt::subscribe_packet>) {
          handle_subscribe(st, p);
        } else if constexpr (std::is_same_v<T, mqtt::unsubscribe_packet>) {
          mqtt::unsuback_packet ack{p.packet_id, st.broker.unsubscribe(st, p.filters), {}};
          if (!is_v5(st)) ack.reason_codes.clear();  // 3.1.1: the packet id only
          reply(st, ack);                            // [MQTT-3.10.4-4]
        } else if constexpr (std::is_same_v<T, mqtt::pingreq_packet>) {
          reply(st, mqtt::pingresp_packet{});  // [MQTT-3.12.4-1]
        } else if constexpr (std::is_same_v<T, mqtt::disconnect_packet>) {
          handle_disconnect(st, p);
        } else if constexpr (std::is_same_v<T, mqtt::connect_packet>) {
          close_with(st, log_level::notice, "second CONNECT on one connection",  // [MQTT-3.1.0-2]
                     rc::protocol_error);
        } else if constexpr (std::is_same_v<T, mqtt::auth_packet>) {
          // No authentication method was agreed, so AUTH has no place [MQTT-4.12.0-1].
          close_with(st, log_level::notice, "AUTH without enhanced authentication",
                     rc::protocol_error);
        } else {
          close_with(
              st, log_level::notice,
              std::string("unexpected ") + mqtt::name_of(mqtt::type_of(pkt)) + " from a client",
              rc::protocol_error);
        }
      },
      pkt);
}

void handle_decode_error(connection_state& st, mqtt::decode_error error) {
  if (st.stage == phase::awaiting_connect &&
      error == mqtt::decode_error::unsupported_protocol_level) {
    // [MQTT-3.1.2-2]: answer return code 1, then close.
    refuse_connect(st, mqtt::connect_return::unacceptable_protocol_version,
                   "connection refused: unsupported protocol level, from " + st.remote_address);
    return;
  }
  if (error == mqtt::decode_error::packet_too_large) {
    st.broker.events().add(event_kind::limit, st.client_id,
                           std::string(mqtt::describe(error)) + ", from " + st.remote_address);
  }
  const bool too_large = error == mqtt::decode_error::packet_too_large;
  close_with(
      st, too_large ? log_level::warning : log_level::notice,
      std::string("malformed packet: ") + mqtt::describe(error) + ", from " + st.remote_address,
      too_large ? rc::packet_too_large : rc::malformed_packet);
}

// A 5.0 PUBLISH for one subscriber: the message's own properties as encoded once, then this
// copy's remaining expiry, subscription identifiers and topic alias.
void encode_publish_v5(connection_state& st, const outgoing_publish& o, std::string& bytes,
                       output_batch& out) {
  const message& m = *o.msg;
  thread_local std::string extra;
  extra.clear();
  auto put_u16 = [](std::string& s, std::uint32_t v) {
    s += static_cast<char>((v >> 8) & 0xFF);
    s += static_cast<char>(v & 0xFF);
  };
  if (m.expires_at()) {
    // Forwarded with the time it has left [MQTT-3.3.2-6].
    const std::uint32_t left =
        std::max<std::uint32_t>(m.remaining_seconds(message::wall_clock::now()), 1);
    extra += static_cast<char>(property_id::message_expiry_interval);
    for (int shift = 24; shift >= 0; shift -= 8) extra += static_cast<char>((left >> shift) & 0xFF);
  }
  for (std::uint32_t id : o.sub_ids) {
    extra += static_cast<char>(property_id::subscription_identifier);
    mqtt::encode_varint(id, extra);
  }
  std::string_view topic = m.topic();
  if (st.client_alias_max > 0) {
    // Aliases the broker picks for its own sends, up to the client's Topic Alias Maximum
    // [MQTT-3.3.2-11]: the first PUBLISH sets one with the topic, later ones send it alone.
    auto& out = st.more().aliases_out;
    if (!out) {
      out = std::make_unique<
          std::unordered_map<std::string, std::uint16_t, level_hash, std::equal_to<>>>();
    }
    auto& aliases = *out;
    auto it = aliases.find(m.topic());
    if (it != aliases.end()) {
      topic = {};
      extra += static_cast<char>(property_id::topic_alias);
      put_u16(extra, it->second);
    } else if (aliases.size() < st.client_alias_max) {
      const auto alias = static_cast<std::uint16_t>(aliases.size() + 1);
      aliases.emplace(m.topic(), alias);
      extra += static_cast<char>(property_id::topic_alias);
      put_u16(extra, alias);
    }
  }
  const auto props_size = static_cast<std::uint32_t>(m.properties_wire().size() + extra.size());
  const std::size_t tail =
      (o.qos != mqtt::qos::at_most_once ? 2 : 0) + mqtt::varint_size(props_size) + props_size;
  mqtt::encode_publish_head(topic, o.qos, o.retain, o.dup, tail, m.payload().size(), bytes);
  if (o.qos != mqtt::qos::at_most_once) put_u16(bytes, o.packet_id);
  mqtt::encode_varint(props_size, bytes);
  bytes += m.properties_wire();
  bytes += extra;
  if (m.payload().size() < copy_below) {
    bytes += m.payload();
  } else {
    out.append_shared(shared_payload(o.msg));
  }
}

}  // namespace

void close_with(connection_state& st, log_level level, std::string reason, std::uint8_t code) {
  if (st.stage == phase::closing || st.stage == phase::closed) return;
  st.stage = phase::closing;
  if (code != 0 && is_v5(st) && st.connack_sent) {
    // A 5.0 server says why it closes [MQTT-4.13.2-1]; before CONNACK, the CONNACK says it.
    mqtt::disconnect_packet d{code, {}};
    d.props.push_back({property_id::reason_string, reason});
    std::string bytes;
    mqtt::encode(d, st.version, bytes);
    if (st.client_max_packet != 0 && bytes.size() > st.client_max_packet) {
      bytes.clear();  // the reason string is optional; the reason code is not [MQTT-3.1.2-25]
      mqtt::encode(mqtt::disconnect_packet{code, {}}, st.version, bytes);
    }
    st.control_out += bytes;
    st.disconnect_code = code;
    reason += " (sent DISCONNECT, " + code_text(code) + ")";
  }
  // A connected client's line comes with "disconnected:"; before that, say it here.
  if (!st.announced) st.broker.log().log(level, st.client_id, reason);
  st.more().close_reason = std::make_unique<std::string>(std::move(reason));
}

void resume_login(connection_state& st, std::chrono::steady_clock::time_point now) {
  if (st.stage != phase::authenticating || !st.held()) return;
  std::unique_ptr<held_login>& login = st.extras()->held;
  if (login->refusal) {
    if (now < login->until) return;
    const auth_result result = *login->refusal;
    const std::unique_ptr<held_login> done = std::move(login);
    finish_connect(st, result, *done->connect, done->assigned_id, done->keep_alive_cut);
    return;
  }
  check_login(st, std::move(login), now);
}

void process_input(connection_state& st) {
  mqtt::publish_view publish;
  while (st.stage == phase::awaiting_connect || st.stage == phase::connected) {
    // Connected, a PUBLISH is read as views of the bytes it came in: its topic and payload are
    // copied once, into the message.
    auto result = st.stage == phase::connected ? st.reader.next(publish) : st.reader.next();
    if (result.state == mqtt::packet_reader::status::need_more) break;
    if (result.state == mqtt::packet_reader::status::error) {
      handle_decode_error(st, result.error);
      break;
    }
    if (result.state == mqtt::packet_reader::status::publish) {
      handle_publish(st, publish);
      continue;
    }
    handle_packet(st, result.pkt);
  }
  if (st.stage == phase::authenticating &&
      st.reader.buffered() > st.broker.config().max_packet_size) {
    st.broker.events().add(event_kind::limit, st.client_id, "too much data sent before CONNACK");
    close_with(st, log_level::warning, "too much data sent before CONNACK");
  }
}

bool close_requested(const connection_state& st) {
  return st.disconnect_requested.load(std::memory_order_relaxed) ||
         st.taken_over.load(std::memory_order_relaxed) ||
         st.over_budget.load(std::memory_order_relaxed);
}

void notice_close_requests(connection_state& st) {
  if (st.stage != phase::connected) return;
  if (st.disconnect_requested.load(std::memory_order_relaxed)) {
    // Like a dropped network connection: the will goes out [MQTT-3.1.2-8].
    close_with(st, log_level::notice, "disconnected from the web UI", rc::administrative_action);
  } else if (st.taken_over.load(std::memory_order_relaxed)) {
    close_with(st, log_level::notice, "taken over by a new connection with the same client id",
               mqtt::reason::session_taken_over);  // [MQTT-3.1.4-3]
  } else if (st.over_budget.load(std::memory_order_relaxed)) {
    st.broker.events().add(event_kind::limit, st.client_id,
                           "disconnected: QoS 1/2 messages past its buffer");
    // Past max_client_buffer_mb, or past max_total_buffer_mb with a large queue of its own.
    close_with(st, log_level::info,
               "does not read fast enough: QoS 1/2 messages past its buffer of " +
                   std::to_string(st.broker.config().max_client_buffer_bytes) +
                   " bytes (or all clients' together); a persistent session keeps them "
                   "(counted in $SYS/broker/limits/clients/disconnected)",
               mqtt::reason::quota_exceeded);
  }
}

void collect_output(connection_state& st, output_batch& out) {
  if (st.stage == phase::closed) return;
  const std::size_t before = out.total_size();
  std::string& bytes = out.inline_buffer();
  notice_close_requests(st);
  bytes += st.control_out;
  st.control_out.clear();

  thread_local std::vector<outgoing_publish> ready;
  ready.clear();
  if (st.stage == phase::connected &&
      st.broker.take_output(st, ready, output_budget) != output_status::open) {
    // A takeover or the budget, decided since the check above: the same close.
    notice_close_requests(st);
    bytes += st.control_out;
    st.control_out.clear();
  }
  const bool v5 = is_v5(st);
  std::uint64_t publishes = 0;
  for (const outgoing_publish& o : ready) {
    if (o.pubrel) {
      mqtt::encode(mqtt::pubrel_packet{o.packet_id, 0, {}}, st.version, bytes);
      continue;
    }
    ++publishes;
    // Each copy is encoded into the batch: a small one is copied there anyway, a large one's
    // payload goes out from the message's own buffer, shared by every subscriber. (A cached
    // whole encoding per message doubled the memory of every queued or retained message.)
    if (v5) {
      encode_publish_v5(st, o, bytes, out);
      continue;
    }
    const message& m = *o.msg;
    const bool acked = o.qos != mqtt::qos::at_most_once;
    mqtt::encode_publish_head(m.topic(), o.qos, o.retain, o.dup, acked ? 2 : 0, m.payload().size(),
                              bytes);
    if (acked) {
      bytes += static_cast<char>(o.packet_id >> 8);
      bytes += static_cast<char>(o.packet_id & 0xFF);
    }
    if (m.payload().size() < copy_below) {
      bytes += m.payload();
    } else {
      out.append_shared(shared_payload(o.msg));
    }
  }
  out.commit_inline();
  auto& counters = st.broker.counters();
  counters.messages_sent.add(publishes);
  st.messages_out.fetch_add(publishes, std::memory_order_relaxed);
  counters.bytes_sent.add(out.total_size() - before);
}

}  // namespace broker
