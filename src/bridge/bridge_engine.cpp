#include "bridge/bridge_engine.hpp"

#include <algorithm>
#include <cstdio>
#include <variant>

#include "bridge/bridge_topics.hpp"
#include "broker/output_batch.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/reason_code.hpp"

namespace bridge {
namespace {

// The remote broker must answer CONNECT within this.
constexpr std::chrono::seconds connack_timeout{10};
// Local output is pulled only while less than this waits for the remote socket: a slow remote
// holds messages back in the local session (bounded there) instead of in memory here.
constexpr std::size_t remote_high_water = 1024 * 1024;
// A remote that sends but does not read what the bridge sends back (acknowledgements pile up)
// cannot make it buffer without bound: past this the connection ends.
constexpr std::size_t max_remote_backlog = 8 * 1024 * 1024;
// A 5.0 remote keeps a persistent bridge session this long after a disconnect (cleansession
// false); 5.0 ends a session at once unless told otherwise [MQTT-3.1.2-23].
constexpr std::uint32_t persistent_session_expiry = 0xFFFFFFFF;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string describe_connack(std::uint8_t code, mqtt::protocol_version v) {
  if (v != mqtt::protocol_version::v5) {
    switch (code) {
      case mqtt::connect_return::unacceptable_protocol_version:
        return "unacceptable protocol version";
      case mqtt::connect_return::identifier_rejected:
        return "client id rejected";
      case mqtt::connect_return::server_unavailable:
        return "server unavailable";
      case mqtt::connect_return::bad_username_or_password:
        return "bad user name or password";
      case mqtt::connect_return::not_authorized:
        return "not authorized";
    }
  }
  char text[48];
  std::snprintf(text, sizeof text, "refused with reason code 0x%02x", code);
  return text;
}

const char* version_text(mqtt::protocol_version v) {
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

}  // namespace

bridge_engine::bridge_engine(const bridge_settings& settings, broker::broker_core& core,
                             broker::transport_link& local_link)
    : settings_(settings),
      core_(core),
      local_link_(local_link),
      remote_reader_(core.config().max_packet_size) {}

bridge_engine::~bridge_engine() {
  close_local();
}

void bridge_engine::log(broker::log_level level, const std::string& text) {
  core_.log().log(level, "bridge " + settings_.name + ": " + text);
}

void bridge_engine::start() {
  if (settings_.notifications) core_.publish_notification(settings_.notification_topic, "0");
  // Mosquitto subscribes its bridge locally at the first attempt, so that what is published
  // before the first connection waits for it. A persistent local session that has no
  // subscriptions yet (the bridge's first start) gets them here, and keeps QoS 1/2 messages
  // (within the offline limits) until the remote is reached.
  const bool sends_out = std::any_of(settings_.topics.begin(), settings_.topics.end(),
                                     [](const topic_mapping& t) { return t.sends_out(); });
  if (sends_out && !settings_.local_clean() &&
      core_.subscription_filters(settings_.local_clientid).empty()) {
    open_local();
    end_local();
  }
}

void bridge_engine::on_remote_open(clock::time_point now, bool try_private) {
  phase_ = phase::awaiting_connack;
  close_reason_.clear();
  refused_protocol_ = false;
  remote_reader_ = mqtt::packet_reader(core_.config().max_packet_size);
  remote_reader_.set_version(settings_.version);
  remote_out_.clear();
  ping_outstanding_ = false;
  connect_started_ = now;
  last_sent_ = now;
  remote_limits_ = {};
  remote_inflight_.clear();
  waiting_for_room_.clear();  // still in flight in the local session: it sends them again
  downgraded_qos2_.clear();
  warned_too_large_ = false;

  mqtt::connect_packet c;
  c.version = settings_.version;
  c.clean_start = settings_.cleansession;
  c.keep_alive = settings_.keepalive;
  c.client_id = settings_.remote_clientid;
  c.username = settings_.remote_username;
  c.password = settings_.remote_password;
  if (settings_.notifications && !settings_.notifications_local_only) {
    // The remote announces the bridge down if it vanishes (Mosquitto's notification will).
    c.will =
        mqtt::will_message{settings_.notification_topic, "0", mqtt::qos::at_least_once, true, {}};
  }
  if (settings_.version == mqtt::protocol_version::v5 && !settings_.cleansession) {
    c.props.push_back({mqtt::property_id::session_expiry_interval, persistent_session_expiry});
  }
  const std::size_t start = remote_out_.size();
  mqtt::encode(c, settings_.version, remote_out_);
  if (try_private) {
    // Mosquitto's bridge marker: the protocol level with its top bit set tells a Mosquitto
    // remote that this is a bridge, so it sends nothing back to where it came from and keeps
    // the RETAIN flag as published. The level follows the fixed header and the protocol name.
    std::size_t at = start + 1;
    while (static_cast<std::uint8_t>(remote_out_[at]) & 0x80) ++at;  // remaining length
    ++at;
    const std::size_t name_length = (static_cast<std::uint8_t>(remote_out_[at]) << 8) |
                                    static_cast<std::uint8_t>(remote_out_[at + 1]);
    at += 2 + name_length;
    remote_out_[at] = static_cast<char>(static_cast<std::uint8_t>(remote_out_[at]) | 0x80);
  }
}

void bridge_engine::send_remote(const mqtt::packet& p) {
  mqtt::encode(p, settings_.version, remote_out_);
  if (remote_out_.size() > max_remote_backlog) {
    close_remote("the remote does not read what the bridge sends (over 8 MiB waiting)");
  }
}

void bridge_engine::send_local(const mqtt::packet& p) {
  mqtt::encode(p, mqtt::protocol_version::v3_1_1, local_in_);
}

void bridge_engine::take_remote_output(std::string& out) {
  if (remote_out_.empty()) return;
  last_sent_ = clock::now();
  out += remote_out_;
  remote_out_.clear();
}

void bridge_engine::close_remote(std::string reason) {
  if (phase_ == phase::closing || phase_ == phase::idle) return;
  phase_ = phase::closing;
  close_reason_ = std::move(reason);
}

void bridge_engine::on_remote_bytes(std::span<const std::uint8_t> bytes, clock::time_point) {
  if (phase_ != phase::awaiting_connack && phase_ != phase::connected) return;
  remote_reader_.feed(bytes);
  while (phase_ == phase::awaiting_connack || phase_ == phase::connected) {
    auto r = remote_reader_.next();
    if (r.state == mqtt::packet_reader::status::need_more) break;
    if (r.state == mqtt::packet_reader::status::error) {
      close_remote(std::string("malformed packet from the remote: ") + mqtt::describe(r.error));
      break;
    }
    handle_remote(r.pkt);
  }
  feed_local();
}

void bridge_engine::handle_remote(mqtt::packet& pkt) {
  if (phase_ == phase::awaiting_connack) {
    if (auto* c = std::get_if<mqtt::connack_packet>(&pkt)) {
      handle_connack(*c);
    } else {
      close_remote(std::string("the remote sent ") + mqtt::name_of(mqtt::type_of(pkt)) +
                   " before CONNACK");
    }
    return;
  }
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::publish_packet>) {
          handle_remote_publish(p);
        } else if constexpr (std::is_same_v<T, mqtt::puback_packet> ||
                             std::is_same_v<T, mqtt::pubrec_packet> ||
                             std::is_same_v<T, mqtt::pubcomp_packet>) {
          // The remote has our message: complete the local delivery with the same id.
          if (p.reason_code >= 0x80) {
            log(broker::log_level::warning, std::string("the remote refused a message (") +
                                                mqtt::name_of(T::type) + " reason " +
                                                std::to_string(p.reason_code) + ")");
          }
          const bool completes = !std::is_same_v<T, mqtt::pubrec_packet> || p.reason_code >= 0x80;
          if constexpr (std::is_same_v<T, mqtt::puback_packet>) {
            if (downgraded_qos2_.erase(p.packet_id)) {
              // Sent at QoS 1 for a local QoS 2 delivery: the local side hears PUBREC, and its
              // PUBREL is completed here.
              self_acked_qos2_.insert(p.packet_id);
              send_local(mqtt::pubrec_packet{p.packet_id, 0, {}});
              remote_inflight_.erase(p.packet_id);
              release_waiting();
              return;
            }
          }
          send_local(T{p.packet_id, 0, {}});
          if (completes && remote_inflight_.erase(p.packet_id)) release_waiting();
        } else if constexpr (std::is_same_v<T, mqtt::pubrel_packet>) {
          in_qos2_.erase(p.packet_id);
          send_local(mqtt::pubrel_packet{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::suback_packet>) {
          for (std::uint8_t code : p.reason_codes) {
            if (code >= 0x80) {
              log(broker::log_level::warning, "the remote refused a subscription (code " +
                                                  std::to_string(code) +
                                                  "); check the remote user's access rights");
            }
          }
        } else if constexpr (std::is_same_v<T, mqtt::pingresp_packet>) {
          ping_outstanding_ = false;
        } else if constexpr (std::is_same_v<T, mqtt::unsuback_packet>) {
        } else if constexpr (std::is_same_v<T, mqtt::disconnect_packet>) {
          close_remote("the remote sent DISCONNECT (reason code " + std::to_string(p.reason_code) +
                       ")");
        } else {
          close_remote(std::string("unexpected ") + mqtt::name_of(mqtt::type_of(pkt)) +
                       " from the remote");
        }
      },
      pkt);
}

void bridge_engine::handle_connack(const mqtt::connack_packet& c) {
  if (c.reason_code != 0) {
    refused_protocol_ = c.reason_code == mqtt::connect_return::unacceptable_protocol_version ||
                        c.reason_code == mqtt::reason::unsupported_protocol_version;
    close_remote("the remote refused the connection: " +
                 describe_connack(c.reason_code, settings_.version));
    return;
  }
  phase_ = phase::connected;
  if (settings_.version == mqtt::protocol_version::v5) {
    using mqtt::property_id;
    if (auto v = mqtt::find_integer(c.props, property_id::receive_maximum); v && *v > 0) {
      remote_limits_.receive_maximum = static_cast<std::uint16_t>(*v);
    }
    remote_limits_.maximum_packet_size =
        mqtt::find_integer(c.props, property_id::maximum_packet_size).value_or(0);
    if (auto v = mqtt::find_integer(c.props, property_id::maximum_qos); v && *v < 2) {
      remote_limits_.maximum_qos = static_cast<mqtt::qos>(*v);
    }
    remote_limits_.retain_available =
        mqtt::find_integer(c.props, property_id::retain_available).value_or(1) != 0;
  }
  log(broker::log_level::info,
      std::string("connected (MQTT ") + version_text(settings_.version) + ", client id '" +
          settings_.remote_clientid + "', " +
          (settings_.cleansession ? "clean session" : "persistent session") +
          (c.session_present ? ", session resumed" : "") + ")");
  if (!c.session_present && !in_qos2_.empty()) {
    // A new remote session reuses packet ids: release the old ones in the local core.
    for (std::uint16_t id : in_qos2_) send_local(mqtt::pubrel_packet{id, 0, {}});
    in_qos2_.clear();
  }
  if (settings_.notifications && !settings_.notifications_local_only) {
    send_remote(mqtt::publish_packet{
        settings_.notification_topic, "1", mqtt::qos::at_most_once, true, false, 0, {}});
  }
  mqtt::subscribe_packet sub;
  for (const topic_mapping& t : settings_.topics) {
    if (!t.brings_in()) continue;
    mqtt::subscription s;
    s.filter = t.remote_filter();
    s.max_qos = t.qos;
    // 5.0 says it outright: no echo of our own messages, RETAIN as published.
    s.no_local = settings_.version == mqtt::protocol_version::v5;
    s.retain_as_published = settings_.version == mqtt::protocol_version::v5;
    sub.subscriptions.push_back(std::move(s));
  }
  if (!sub.subscriptions.empty()) {
    if (++next_subscribe_id_ == 0) next_subscribe_id_ = 1;
    sub.packet_id = next_subscribe_id_;
    send_remote(sub);
  }
  connect_local();
}

void bridge_engine::handle_remote_publish(mqtt::publish_packet& p) {
  std::optional<std::string> local_topic = to_local(settings_.topics, p.topic);
  if (!local_topic) {
    // Matches no `in` line (an overlapping subscription of the remote session): acknowledged
    // and dropped, so the remote does not send it again.
    ++counters_.unmapped;
    if (p.qos == mqtt::qos::at_least_once) send_remote(mqtt::puback_packet{p.packet_id, 0, {}});
    if (p.qos == mqtt::qos::exactly_once) send_remote(mqtt::pubrec_packet{p.packet_id, 0, {}});
    return;
  }
  ++counters_.received;
  if (p.qos == mqtt::qos::exactly_once) in_qos2_.insert(p.packet_id);
  send_local(mqtt::publish_packet{
      std::move(*local_topic), std::move(p.payload), p.qos, p.retain, p.dup, p.packet_id, {}});
}

void bridge_engine::connect_local() {
  open_local();
  if (settings_.notifications) core_.publish_notification(settings_.notification_topic, "1");
}

void bridge_engine::open_local() {
  close_local();
  local_reader_ = std::make_unique<mqtt::packet_reader>(core_.config().max_packet_size);
  local_ = std::make_shared<broker::connection>(core_, local_link_, "bridge " + settings_.name,
                                                "bridge");
  mqtt::connect_packet c;
  c.version = mqtt::protocol_version::v3_1_1;
  c.client_id = settings_.local_clientid;
  c.clean_start = settings_.local_clean();
  // Every local CONNECT goes first: the packets queued above follow it.
  std::string pending = std::move(local_in_);
  local_in_.clear();
  send_local(c);
  local_in_ += pending;
  mqtt::subscribe_packet sub;
  sub.packet_id = 1;
  for (const topic_mapping& t : settings_.topics) {
    if (!t.sends_out()) continue;
    sub.subscriptions.push_back({t.local_filter(), t.qos, false, false, 0});
  }
  // Subscribing again on every connection sends the local retained messages to the remote
  // again, which brings a remote that lost them (or was replaced) up to date.
  if (!sub.subscriptions.empty()) send_local(sub);
  if (!settings_.local_clean()) {
    // A persistent session resumes with what an earlier configuration subscribed to: what no
    // topic line asks for now goes, as Mosquitto cleans its bridge's subscriptions on connect
    // (else it would fill the session's offline queue with messages no line sends out).
    mqtt::unsubscribe_packet stale;
    stale.packet_id = 2;
    for (std::string& filter : core_.subscription_filters(settings_.local_clientid)) {
      const bool wanted =
          std::any_of(sub.subscriptions.begin(), sub.subscriptions.end(),
                      [&](const mqtt::subscription& s) { return s.filter == filter; });
      if (!wanted) stale.filters.push_back(std::move(filter));
    }
    if (!stale.filters.empty()) {
      log(broker::log_level::info, "dropping " + std::to_string(stale.filters.size()) +
                                       " local subscription(s) no topic line asks for any more");
      send_local(stale);
    }
  }
}

void bridge_engine::close_local() {
  if (!local_) return;
  if (settings_.notifications) core_.publish_notification(settings_.notification_topic, "0");
  end_local();
}

void bridge_engine::end_local() {
  send_local(mqtt::disconnect_packet{});
  local_->on_bytes(bytes_of(local_in_));
  local_in_.clear();
  local_->on_closed();
  local_.reset();
  local_reader_.reset();
  self_acked_qos2_.clear();
}

void bridge_engine::feed_local() {
  if (!local_) {
    local_in_.clear();
    return;
  }
  if (!local_in_.empty()) {
    std::string bytes = std::move(local_in_);
    local_in_.clear();
    local_->on_bytes(bytes_of(bytes));
  }
  pull_local();
}

void bridge_engine::on_local_wake() {
  feed_local();
}

void bridge_engine::pull_local() {
  broker::output_batch batch;
  while (local_ && phase_ == phase::connected && remote_out_.size() < remote_high_water) {
    batch.clear();
    local_->take_output(batch);
    if (batch.empty()) break;
    for (const broker::output_batch::segment& s : batch.segments()) {
      local_reader_->feed(bytes_of(batch.view(s)));
    }
    while (true) {
      auto r = local_reader_->next();
      if (r.state == mqtt::packet_reader::status::need_more) break;
      if (r.state == mqtt::packet_reader::status::error) {
        close_remote(std::string("bad packet from the local broker: ") + mqtt::describe(r.error));
        return;
      }
      handle_local(r.pkt);
    }
    // Acknowledgements for the local core produced while relaying.
    if (!local_in_.empty()) {
      std::string bytes = std::move(local_in_);
      local_in_.clear();
      local_->on_bytes(bytes_of(bytes));
    }
  }
  if (local_ && local_->should_close() && phase_ == phase::connected) {
    close_remote("the local broker ended the bridge's connection");
  }
}

void bridge_engine::handle_local(mqtt::packet& pkt) {
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::publish_packet>) {
          handle_local_publish(p);
        } else if constexpr (std::is_same_v<T, mqtt::puback_packet> ||
                             std::is_same_v<T, mqtt::pubrec_packet>) {
          // The local core has taken the remote's message: only now does the remote hear so.
          send_remote(T{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::pubcomp_packet>) {
          send_remote(T{p.packet_id, 0, {}});
        } else if constexpr (std::is_same_v<T, mqtt::pubrel_packet>) {
          if (self_acked_qos2_.erase(p.packet_id)) {
            send_local(mqtt::pubcomp_packet{p.packet_id, 0, {}});
          } else {
            send_remote(mqtt::pubrel_packet{p.packet_id, 0, {}});
          }
        } else if constexpr (std::is_same_v<T, mqtt::connack_packet>) {
          if (p.reason_code != 0) {
            close_remote("the local broker refused the bridge's connection (code " +
                         std::to_string(p.reason_code) + ")");
          }
        } else if constexpr (std::is_same_v<T, mqtt::suback_packet>) {
          for (std::uint8_t code : p.reason_codes) {
            if (code >= 0x80) log(broker::log_level::warning, "a local subscription was refused");
          }
        }
      },
      pkt);
}

void bridge_engine::handle_local_publish(mqtt::publish_packet& p) {
  std::optional<std::string> remote_topic = to_remote(settings_.topics, p.topic);
  if (!remote_topic) {
    ++counters_.unmapped;
    ack_locally(p.qos, p.packet_id);
    return;
  }
  forward_to_remote(mqtt::publish_packet{
      std::move(*remote_topic), std::move(p.payload), p.qos, p.retain, p.dup, p.packet_id, {}});
}

void bridge_engine::ack_locally(mqtt::qos q, std::uint16_t packet_id) {
  if (q == mqtt::qos::at_least_once) send_local(mqtt::puback_packet{packet_id, 0, {}});
  if (q == mqtt::qos::exactly_once) {
    self_acked_qos2_.insert(packet_id);
    send_local(mqtt::pubrec_packet{packet_id, 0, {}});
  }
}

void bridge_engine::forward_to_remote(mqtt::publish_packet p) {
  const remote_limits& limits = remote_limits_;
  if (limits.maximum_packet_size != 0) {
    // Fixed header, topic, packet id, an empty property length (5.0 only), payload.
    const std::size_t remaining = 2 + p.topic.size() + (p.qos != mqtt::qos::at_most_once ? 2 : 0) +
                                  (settings_.version == mqtt::protocol_version::v5 ? 1 : 0) +
                                  p.payload.size();
    const std::size_t size =
        1 + mqtt::varint_size(static_cast<std::uint32_t>(remaining)) + remaining;
    if (size > limits.maximum_packet_size) {
      // The remote would close the connection for it [MQTT-3.2.2-15]: it cannot cross.
      ++counters_.too_large;
      if (!warned_too_large_) {
        warned_too_large_ = true;
        log(broker::log_level::warning,
            "a message to '" + p.topic + "' (" + std::to_string(size) +
                " bytes) is larger than the remote accepts (" +
                std::to_string(limits.maximum_packet_size) +
                "); such messages are not sent to it (further ones are only counted)");
      }
      ack_locally(p.qos, p.packet_id);
      return;
    }
  }
  if (!limits.retain_available) p.retain = false;  // [MQTT-3.2.2-14]
  if (p.qos > limits.maximum_qos) {
    // Never above the remote's Maximum QoS [MQTT-3.2.2-11].
    if (limits.maximum_qos == mqtt::qos::at_most_once) {
      ack_locally(p.qos, p.packet_id);
      p.packet_id = 0;
      p.dup = false;
    } else {
      downgraded_qos2_.insert(p.packet_id);
    }
    p.qos = limits.maximum_qos;
  }
  if (p.qos != mqtt::qos::at_most_once && !remote_inflight_.contains(p.packet_id)) {
    if (remote_inflight_.size() >= limits.receive_maximum) {
      // No more unacknowledged than the remote's Receive Maximum [MQTT-3.3.4-7].
      waiting_for_room_.push_back(std::move(p));
      return;
    }
    remote_inflight_.insert(p.packet_id);
  }
  ++counters_.sent;
  send_remote(p);
}

void bridge_engine::release_waiting() {
  while (!waiting_for_room_.empty() && remote_inflight_.size() < remote_limits_.receive_maximum) {
    mqtt::publish_packet p = std::move(waiting_for_room_.front());
    waiting_for_room_.pop_front();
    remote_inflight_.insert(p.packet_id);
    ++counters_.sent;
    send_remote(p);
  }
}

void bridge_engine::on_remote_closed() {
  close_local();
  ping_outstanding_ = false;
  remote_out_.clear();
  phase_ = phase::idle;
}

bridge_engine::clock::time_point bridge_engine::deadline() const {
  switch (phase_) {
    case phase::awaiting_connack:
      return connect_started_ + connack_timeout;
    case phase::connected: {
      if (settings_.keepalive == 0) return clock::time_point::max();
      const std::chrono::seconds keepalive(settings_.keepalive);
      return ping_outstanding_ ? ping_sent_ + keepalive : last_sent_ + keepalive;
    }
    default:
      return clock::time_point::max();
  }
}

void bridge_engine::on_timer(clock::time_point now) {
  if (now < deadline()) return;
  if (phase_ == phase::awaiting_connack) {
    close_remote("no CONNACK within " + std::to_string(connack_timeout.count()) + " s");
  } else if (phase_ == phase::connected) {
    if (ping_outstanding_) {
      close_remote("the remote did not answer PINGREQ within " +
                   std::to_string(settings_.keepalive) + " s");
      return;
    }
    // [MQTT-3.1.2-23]: a client sends something at least every keep-alive period.
    send_remote(mqtt::pingreq_packet{});
    ping_outstanding_ = true;
    ping_sent_ = now;
    last_sent_ = now;
  }
}

void bridge_engine::shut_down() {
  if (phase_ == phase::connected) {
    if (settings_.notifications && !settings_.notifications_local_only) {
      send_remote(mqtt::publish_packet{
          settings_.notification_topic, "0", mqtt::qos::at_most_once, true, false, 0, {}});
    }
    send_remote(mqtt::disconnect_packet{});
  }
  close_remote("the broker is stopping");
}

}  // namespace bridge
