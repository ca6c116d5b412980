#include "broker/broker_core.hpp"

#include "broker/broker_state.hpp"
#include "mqtt/topic.hpp"

namespace broker {

broker_core::broker_core(broker_config config, authenticator& auth, logger& log,
                         const authorizer* acl, persistence* store)
    : state_(std::make_unique<broker_state>(std::move(config), auth, log, acl, store)) {}

broker_core::~broker_core() = default;

void broker_core::tick(std::chrono::steady_clock::time_point now) {
  state_->expire(now);
  state_->throttle().forget_idle(now);
  state_->unwatch_if_idle(now);
  {
    std::lock_guard lock(tick_mutex_);
    // The first tick publishes at once, so $SYS topics exist as soon as the broker runs.
    if (last_sys_ && now - *last_sys_ < state_->config().sys_interval) return;
    last_sys_ = now;
  }
  state_->publish_sys(now);
}

void broker_core::restore_retained(message_ptr msg) {
  state_->restore_retained(std::move(msg));
}

void broker_core::restore_session(const std::string& client_id, const std::string& username,
                                  const std::vector<mqtt::subscription>& subs,
                                  const std::vector<stored_delivery>& deliveries,
                                  const std::vector<std::uint16_t>& incoming_qos2,
                                  std::uint32_t expiry_interval,
                                  std::optional<std::chrono::system_clock::time_point> ended_at) {
  static_assert(never_expires == session::never_expires);
  state_->restore_session(client_id, username, subs, deliveries, incoming_qos2, expiry_interval,
                          ended_at);
}

void broker_core::reserve_bridge_client_ids(std::vector<std::string> ids) {
  state_->reserve_bridge_client_ids(std::move(ids));
}

void broker_core::publish_sys_entry(std::string topic, std::string payload) {
  state_->publish(
      message::make(std::move(topic), std::move(payload), mqtt::qos::at_most_once, true));
}

std::vector<std::string> broker_core::subscription_filters(std::string_view client_id) const {
  return state_->subscription_filters(client_id);
}

void broker_core::publish_notification(std::string topic, std::string payload) {
  state_->publish(
      message::make(std::move(topic), std::move(payload), mqtt::qos::at_least_once, true));
}

broker_stats broker_core::stats() const {
  const broker_counters& c = state_->counters();
  broker_stats s;
  s.clients_connected = c.clients_connected.load();
  s.messages_received = c.messages_received.load();
  s.messages_sent = c.messages_sent.load();
  s.bytes_received = c.bytes_received.load();
  s.bytes_sent = c.bytes_sent.load();
  s.publish_dropped = c.publish_dropped.load();
  s.retained_messages = state_->retained_count();
  s.subscriptions = state_->subscription_count();
  s.sessions = state_->session_count();
  const limit_counters& l = c.limits;
  s.limits.dropped_client_budget = l.dropped_client_budget.load();
  s.limits.dropped_total_budget = l.dropped_total_budget.load();
  s.limits.dropped_offline = l.dropped_offline.load();
  s.limits.disconnected_for_budget = l.disconnected_for_budget.load();
  s.limits.connections_refused = l.connections_refused.load();
  s.limits.connect_timeouts = l.connect_timeouts.load();
  s.limits.logins_throttled = l.logins_throttled.load();
  s.limits.subscriptions_refused = l.subscriptions_refused.load();
  s.limits.sessions_refused = l.sessions_refused.load();
  s.limits.retained_refused = l.retained_refused.load();
  s.limits.input_budget_closed = l.input_budget_closed.load();
  s.limits.input_bytes = l.input_bytes.load();
  s.limits.connections_open = l.connections_open.load();
  s.limits.buffered_bytes = state_->buffered_bytes();
  return s;
}

std::vector<client_info> broker_core::clients(std::size_t limit) const {
  return state_->clients(limit);
}

connection_totals broker_core::totals() const {
  return state_->totals();
}

std::uint64_t broker_core::clients_version() const {
  return state_->clients_version();
}

topic_query_result broker_core::topics(const topic_query& q) const {
  return state_->topics(q);
}

std::uint64_t broker_core::topics_version() const {
  return state_->topics_version();
}

void broker_core::watch() {
  state_->watch(std::chrono::steady_clock::now());
}

topic_monitor_figures broker_core::monitor_figures() const {
  return state_->monitor_figures();
}

std::optional<topic_entry> broker_core::topic(std::string_view name) const {
  return state_->topic(name);
}

event_log& broker_core::events() {
  return state_->events();
}

bool broker_core::disconnect(std::string_view client_id) {
  return state_->request_disconnect(client_id);
}

std::string broker_core::publish(std::string topic, std::string payload, int qos, bool retain) {
  if (!mqtt::valid_topic_name(topic)) {
    return "invalid topic name: it must not be empty or contain + or # [MQTT-4.7.3-1]";
  }
  if (topic.size() > 65535) return "topic longer than 65535 bytes";
  if (topic.starts_with("$SYS")) return "$SYS topics belong to the broker";
  if (qos < 0 || qos > 2) return "QoS must be 0, 1 or 2";
  if (payload.size() > state_->config().max_packet_size) {
    return "payload larger than the broker's maximum packet size";
  }
  state_->publish(
      message::make(std::move(topic), std::move(payload), static_cast<mqtt::qos>(qos), retain));
  return {};
}

bool broker_core::delete_retained(std::string_view topic) {
  if (!mqtt::valid_topic_name(topic) || topic.starts_with("$SYS")) return false;
  const std::optional<topic_entry> e = state_->topic(topic);
  if (!e || !e->retained) return false;
  state_->publish(message::make(std::string(topic), "", mqtt::qos::at_most_once, true));
  return true;
}

const broker_config& broker_core::config() const {
  return state_->config();
}

limit_counters& broker_core::limits() {
  return state_->counters().limits;
}

limit_episodes& broker_core::episodes() {
  return state_->episodes();
}

logger& broker_core::log() {
  return state_->log();
}

}  // namespace broker
