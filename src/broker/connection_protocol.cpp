#include "broker/connection_protocol.hpp"

#include <variant>
#include <vector>

#include "broker/broker_state.hpp"
#include "broker/connection_state.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/reason_code.hpp"
#include "mqtt/topic.hpp"

namespace broker {

namespace {

using phase = connection_state::phase;

// How much payload one take_output() moves: bounds a write and lets other work interleave.
constexpr std::size_t output_budget = 256 * 1024;
// A client that floods us while not reading its acknowledgements cannot make us buffer forever.
constexpr std::size_t max_reply_backlog = 4 * 1024 * 1024;
// Below this, copying a shared packet into the batch's own buffer beats an extra iovec.
constexpr std::size_t copy_below = 512;

void reply(connection_state& st, const mqtt::packet& p) {
  mqtt::encode(p, st.version, st.control_out);
  if (st.control_out.size() > max_reply_backlog) {
    const char* why = "client does not read its acknowledgements (reply backlog over 4 MiB)";
    st.broker.events().add(event_kind::limit, st.client_id, why);
    close_with(st, log_level::warning, why);
  }
}

void wake_self(connection_state& st) {
  // The link is cleared only on this connection's own thread (detach), so reading it here is safe.
  if (st.link) st.link->wake();
}

std::string describe_version(mqtt::protocol_version v) {
  switch (v) {
    case mqtt::protocol_version::v3_1:
      return "3.1";
    case mqtt::protocol_version::v3_1_1:
      return "3.1.1";
    case mqtt::protocol_version::v5:
      return "5.0";
  }
  return "?";
}

std::uint8_t connack_code(auth_result r) {
  switch (r) {
    case auth_result::accepted:
      return mqtt::connect_return::accepted;
    case auth_result::bad_credentials:
      return mqtt::connect_return::bad_username_or_password;
    case auth_result::not_authorized:
      return mqtt::connect_return::not_authorized;
    case auth_result::unavailable:
      return mqtt::connect_return::server_unavailable;
  }
  return mqtt::connect_return::not_authorized;
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
  // A refused CONNECT gets its CONNACK, then the connection closes [MQTT-3.2.2-5].
  reply(st, mqtt::connack_packet{false, code, {}});
  close_with(st, log_level::notice, std::move(reason));
}

void finish_connect(const std::shared_ptr<connection_state>& self, auth_result result,
                    const mqtt::connect_packet& connect) {
  connection_state& st = *self;
  if (st.stage != phase::authenticating) return;
  const std::string user = st.username ? "'" + *st.username + "'" : "(none)";
  if (result != auth_result::accepted) {
    // The event names the user and the address, never the password.
    refuse_connect(st, connack_code(result),
                   std::string("connection refused: ") + describe_refusal(result) + ", user " +
                       user + ", from " + st.remote_address,
                   event_kind::login_refused);
    wake_self(st);
    return;
  }
  const bool present = st.broker.attach(st, connect.clean_start, connect.will);
  st.stage = phase::connected;
  st.announced = true;
  reply(st, mqtt::connack_packet{present, mqtt::connect_return::accepted, {}});
  st.broker.log().log(log_level::info, st.client_id,
                      "connected from " + st.remote_address + " (MQTT " +
                          describe_version(st.version) + ", user " + user + ", keep-alive " +
                          std::to_string(st.keep_alive) + " s, " +
                          (connect.clean_start ? "clean session" : "persistent session") +
                          (present ? ", session resumed" : "") + ")");
  // Packets the client sent behind its CONNECT waited for the verdict.
  process_input(self);
  wake_self(st);
}

void handle_connect(const std::shared_ptr<connection_state>& self, mqtt::connect_packet& c) {
  connection_state& st = *self;
  st.version = c.version;
  st.reader.set_version(c.version);
  st.keep_alive = c.keep_alive;
  st.username = c.username;

  if (c.version == mqtt::protocol_version::v5) {
    // 5.0 semantics (properties, session expiry, topic aliases...) are not built yet: refuse
    // cleanly, in the 5.0 CONNACK layout, rather than half-speak it [MQTT-3.1.2-2].
    refuse_connect(st, mqtt::reason::unsupported_protocol_version,
                   "connection refused: MQTT 5.0 is not supported yet, from " + st.remote_address);
    return;
  }

  if (c.client_id.empty()) {
    if (c.version == mqtt::protocol_version::v3_1 || !c.clean_start) {
      // 3.1 requires an id; 3.1.1 allows an empty one only with a clean session [MQTT-3.1.3-8].
      refuse_connect(st, mqtt::connect_return::identifier_rejected,
                     "connection refused: empty client id" +
                         std::string(c.clean_start ? "" : " with a persistent session") +
                         ", from " + st.remote_address);
      return;
    }
    c.client_id = st.broker.assign_client_id();  // [MQTT-3.1.3-6]
  } else if (c.version == mqtt::protocol_version::v3_1 && c.client_id.size() > 23) {
    refuse_connect(st, mqtt::connect_return::identifier_rejected,
                   "connection refused: MQTT 3.1 client id longer than 23 characters, from " +
                       st.remote_address);
    return;
  }
  st.client_id = c.client_id;
  if (c.will && !mqtt::valid_topic_name(c.will->topic)) {
    close_with(st, log_level::notice,
               "CONNECT with an invalid will topic, from " + st.remote_address);
    return;
  }

  st.stage = phase::authenticating;
  credentials who{c.client_id, c.username, c.password, st.remote_address};
  auto connect = std::make_shared<mqtt::connect_packet>(std::move(c));
  std::weak_ptr<connection_state> weak = self;
  // The verdict may come from another thread; it continues on this connection's own thread.
  st.broker.auth().authenticate(who, [weak, connect](auth_result result) {
    auto alive = weak.lock();
    if (!alive) return;
    alive->broker.post_to(alive, [weak, connect, result] {
      if (auto again = weak.lock()) finish_connect(again, result, *connect);
    });
  });
}

void acknowledge_publish(const std::shared_ptr<connection_state>& self, mqtt::qos q,
                         std::uint16_t id) {
  connection_state& st = *self;
  auto send = [&st, q, id] {
    if (q == mqtt::qos::at_least_once) {
      reply(st, mqtt::puback_packet{id, 0, {}});
    } else {
      reply(st, mqtt::pubrec_packet{id, 0, {}});
    }
  };
  if (!st.broker.config().strict_durability) {
    send();
    return;
  }
  // Strict durability: the acknowledgement waits until what the message changed is on disk.
  st.broker.after_durable(self, [weak = std::weak_ptr(self), send] {
    auto alive = weak.lock();
    if (!alive || alive->stage == phase::closed) return;
    send();
  });
}

void handle_publish(const std::shared_ptr<connection_state>& self, mqtt::publish_packet& p) {
  connection_state& st = *self;
  if (!mqtt::valid_topic_name(p.topic)) {
    // [MQTT-3.3.2-2]: a topic name with wildcards is a protocol violation.
    close_with(st, log_level::notice, "PUBLISH to an invalid topic name");
    return;
  }
  st.broker.counters().messages_received.fetch_add(1, std::memory_order_relaxed);
  st.messages_in.fetch_add(1, std::memory_order_relaxed);
  // Denied publishes are dropped but still acknowledged, so the client does not resend them.
  const bool accepted = st.broker.may_publish(st, p.topic);
  if (!accepted) {
    st.broker.log().log(log_level::debug, st.client_id, "publish to '" + p.topic + "' denied");
  }
  bool deliver = accepted;
  if (p.qos == mqtt::qos::exactly_once) {
    // Exactly once: a re-sent PUBLISH whose id still awaits PUBREL is not delivered again
    // [MQTT-4.3.3-2].
    deliver = st.broker.remember_incoming_qos2(st, p.packet_id) && accepted;
  }
  if (deliver) {
    st.broker.publish(
        std::make_shared<const message>(std::move(p.topic), std::move(p.payload), p.qos, p.retain));
  }
  if (p.qos != mqtt::qos::at_most_once) acknowledge_publish(self, p.qos, p.packet_id);
}

void handle_subscribe(connection_state& st, const mqtt::subscribe_packet& s) {
  std::vector<mqtt::subscription> valid;
  valid.reserve(s.subscriptions.size());
  for (const auto& sub : s.subscriptions) {
    if (mqtt::valid_topic_filter(sub.filter)) valid.push_back(sub);
  }
  const std::vector<std::uint8_t> granted = st.broker.subscribe(st, valid);
  // One return code per filter, in order [MQTT-3.8.4-5]; an invalid filter gets the failure
  // code 0x80 and leaves the connection open.
  mqtt::suback_packet ack{s.packet_id, {}, {}};
  std::size_t next_valid = 0;
  for (const auto& sub : s.subscriptions) {
    ack.reason_codes.push_back(mqtt::valid_topic_filter(sub.filter) ? granted[next_valid++]
                                                                    : std::uint8_t{0x80});
  }
  reply(st, ack);
}

void handle_packet(const std::shared_ptr<connection_state>& self, mqtt::packet& pkt) {
  connection_state& st = *self;
  if (st.stage == phase::awaiting_connect) {
    if (auto* c = std::get_if<mqtt::connect_packet>(&pkt)) {
      handle_connect(self, *c);
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
          handle_publish(self, p);
        } else if constexpr (std::is_same_v<T, mqtt::puback_packet> ||
                             std::is_same_v<T, mqtt::pubcomp_packet>) {
          st.broker.on_ack(st, T::type, p.packet_id);
        } else if constexpr (std::is_same_v<T, mqtt::pubrec_packet>) {
          st.broker.on_ack(st, T::type, p.packet_id);
          reply(st, mqtt::pubrel_packet{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::pubrel_packet>) {
          st.broker.release_incoming_qos2(st, p.packet_id);
          reply(st, mqtt::pubcomp_packet{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::subscribe_packet>) {
          handle_subscribe(st, p);
        } else if constexpr (std::is_same_v<T, mqtt::unsubscribe_packet>) {
          st.broker.unsubscribe(st, p.filters);
          reply(st, mqtt::unsuback_packet{p.packet_id, {}, {}});  // [MQTT-3.10.4-4]
        } else if constexpr (std::is_same_v<T, mqtt::pingreq_packet>) {
          reply(st, mqtt::pingresp_packet{});  // [MQTT-3.12.4-1]
        } else if constexpr (std::is_same_v<T, mqtt::disconnect_packet>) {
          st.broker.discard_will(st);  // [MQTT-3.14.4-3]
          st.disconnect_received = true;
          close_with(st, log_level::debug, "client sent DISCONNECT");
        } else if constexpr (std::is_same_v<T, mqtt::connect_packet>) {
          close_with(st, log_level::notice, "second CONNECT on one connection");  // [MQTT-3.1.0-2]
        } else {
          close_with(
              st, log_level::notice,
              std::string("unexpected ") + mqtt::name_of(mqtt::type_of(pkt)) + " from a client");
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
  close_with(
      st, error == mqtt::decode_error::packet_too_large ? log_level::warning : log_level::notice,
      std::string("malformed packet: ") + mqtt::describe(error) + ", from " + st.remote_address);
}

}  // namespace

void close_with(connection_state& st, log_level level, std::string reason) {
  if (st.stage == phase::closing || st.stage == phase::closed) return;
  st.stage = phase::closing;
  // A connected client's line comes with "disconnected:"; before that, say it here.
  if (!st.announced) st.broker.log().log(level, st.client_id, reason);
  st.close_reason = std::move(reason);
}

void process_input(const std::shared_ptr<connection_state>& self) {
  connection_state& st = *self;
  while (st.stage == phase::awaiting_connect || st.stage == phase::connected) {
    auto result = st.reader.next();
    if (result.state == mqtt::packet_reader::status::need_more) break;
    if (result.state == mqtt::packet_reader::status::error) {
      handle_decode_error(st, result.error);
      break;
    }
    handle_packet(self, result.pkt);
  }
  if (st.stage == phase::authenticating &&
      st.reader.buffered() > st.broker.config().max_packet_size) {
    st.broker.events().add(event_kind::limit, st.client_id, "too much data sent before CONNACK");
    close_with(st, log_level::warning, "too much data sent before CONNACK");
  }
}

void collect_output(connection_state& st, output_batch& out) {
  if (st.stage == phase::closed) return;
  const std::size_t before = out.total_size();
  std::string& bytes = out.inline_buffer();
  bytes += st.control_out;
  st.control_out.clear();

  if (st.stage == phase::connected && st.disconnect_requested.load(std::memory_order_relaxed)) {
    // Like a dropped network connection: the will goes out [MQTT-3.1.2-8].
    close_with(st, log_level::notice, "disconnected from the web UI");
  }
  thread_local std::vector<outgoing_publish> ready;
  ready.clear();
  if (st.stage == phase::connected && !st.broker.take_output(st, ready, output_budget)) {
    close_with(st, log_level::notice, "taken over by a new connection with the same client id");
  }
  std::uint64_t publishes = 0;
  for (const outgoing_publish& o : ready) {
    if (o.pubrel) {
      mqtt::encode(mqtt::pubrel_packet{o.packet_id, 0, {}}, st.version, bytes);
      continue;
    }
    ++publishes;
    const message& m = *o.msg;
    if (o.qos == mqtt::qos::at_most_once) {
      auto encoded = m.encoded_qos0(o.retain);
      if (encoded->size() < copy_below) {
        bytes += *encoded;
      } else {
        out.append_shared(std::move(encoded));
      }
      continue;
    }
    mqtt::encode_publish_head(m.topic(), o.qos, o.retain, o.dup, 2, m.payload().size(), bytes);
    bytes += static_cast<char>(o.packet_id >> 8);
    bytes += static_cast<char>(o.packet_id & 0xFF);
    if (m.payload().size() < copy_below) {
      bytes += m.payload();
    } else {
      out.append_shared(m.shared_payload());
    }
  }
  out.commit_inline();
  auto& counters = st.broker.counters();
  counters.messages_sent.fetch_add(publishes, std::memory_order_relaxed);
  st.messages_out.fetch_add(publishes, std::memory_order_relaxed);
  counters.bytes_sent.fetch_add(out.total_size() - before, std::memory_order_relaxed);
}

}  // namespace broker
