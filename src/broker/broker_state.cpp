#include "broker/broker_state.hpp"

#include <algorithm>
#include <cstdio>
#include <span>

namespace broker {

namespace {
mqtt::qos min_qos(mqtt::qos a, mqtt::qos b) {
  return a < b ? a : b;
}
}  // namespace

const char* protocol_name(mqtt::protocol_version version) {
  switch (version) {
    case mqtt::protocol_version::v3_1:
      return "3.1";
    case mqtt::protocol_version::v3_1_1:
      return "3.1.1";
    case mqtt::protocol_version::v5:
      return "5.0";
  }
  return "?";
}

broker_state::broker_state(broker_config config, authenticator& auth, logger& log,
                           const authorizer* acl, persistence* store)
    : config_(std::move(config)),
      auth_(auth),
      acl_(acl),
      store_(store),
      log_(log),
      monitor_(config_.ui_max_topics, config_.ui_max_payload_bytes) {}

namespace {
client_identity identity_of(const session& s) {
  return {s.client_id(), s.username()};
}
}  // namespace

bool broker_state::may_publish(const connection_state& conn, std::string_view topic) const {
  return may_publish(conn.client_id, conn.username.value_or(""), topic);
}

bool broker_state::may_publish(std::string_view client_id, std::string_view username,
                               std::string_view topic) const {
  // $SYS topics belong to the broker; no client writes them (Mosquitto does the same).
  if (topic.starts_with("$SYS")) return false;
  return !acl_ || acl_->can_publish({client_id, username}, topic);
}

broker_state::~broker_state() = default;

bool broker_state::attach(connection_state& conn, bool clean_start,
                          std::optional<mqtt::will_message> will) {
  std::optional<mqtt::will_message> previous_will;
  std::string previous_user;
  bool present = false;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(conn.client_id);
    if (it != sessions_.end()) {
      session& existing = *it->second;
      if (connection_state* old = existing.owner) {
        // The old connection ends as if its network connection had dropped: its will goes out.
        old->taken_over = true;
        old->attached = nullptr;
        if (old->will) previous_will = std::move(*old->will);
        previous_user = old->username.value_or("");
        old->will.reset();
        if (old->link) old->link->wake();
        existing.owner = nullptr;
        counters_.clients_connected.fetch_sub(1, std::memory_order_relaxed);
        log_.log(log_level::notice, conn.client_id,
                 "client id taken over by a new connection from " + conn.remote_address);
      }
      // A clean session lasts as long as its network connection [MQTT-3.1.2-6].
      if (clean_start || existing.clean()) {
        end_session_locked(existing);
        it = sessions_.end();
      }
    }
    if (it == sessions_.end()) {
      it = sessions_
               .emplace(conn.client_id,
                        std::make_unique<session>(conn.client_id, clean_start, config_, store_))
               .first;
    } else {
      present = true;
      it->second->set_clean(clean_start);
      it->second->prepare_resend();
    }
    session& s = *it->second;
    s.set_username(conn.username.value_or(""));
    if (store_ && !s.clean()) store_->session_stored(s.client_id(), s.username());
    s.owner = &conn;
    conn.attached = &s;
    conn.will = will ? std::make_unique<mqtt::will_message>(std::move(*will)) : nullptr;
    counters_.clients_connected.fetch_add(1, std::memory_order_relaxed);
    conn.connected_at = std::chrono::system_clock::now();
    clients_version_.fetch_add(1, std::memory_order_relaxed);
    if (previous_will)
      publish_will_locked(conn.client_id, previous_user, std::move(*previous_will));
  }
  return present;
}

void broker_state::detach(connection_state& conn) {
  std::lock_guard lock(mutex_);
  if (!conn.link) return;
  conn.link = nullptr;
  if (conn.attached) clients_version_.fetch_add(1, std::memory_order_relaxed);
  if (session* s = conn.attached) {
    conn.attached = nullptr;
    s->owner = nullptr;
    counters_.clients_connected.fetch_sub(1, std::memory_order_relaxed);
    if (s->clean()) end_session_locked(*s);
  }
  if (conn.will) {
    mqtt::will_message will = std::move(*conn.will);
    conn.will.reset();
    publish_will_locked(conn.client_id, conn.username.value_or(""), std::move(will));
  }
}

void broker_state::publish_will_locked(const std::string& client_id, const std::string& username,
                                       mqtt::will_message will) {
  // A will is a publish by its client: the same access rules and $SYS protection apply
  // (Mosquitto checks write access when it sends the will, too).
  if (!may_publish(client_id, username, will.topic)) {
    log_.log(log_level::notice, client_id,
             "will to '" + will.topic + "' not published: no write access");
    return;
  }
  route_locked(std::make_shared<const message>(std::move(will.topic), std::move(will.payload),
                                               will.qos, will.retain));
}

void broker_state::discard_will(connection_state& conn) {
  std::lock_guard lock(mutex_);
  conn.will.reset();
}

void broker_state::end_session_locked(session& s) {
  const bool durable = store_ && !s.clean();
  if (durable) s.forget_all();
  for (const auto& [filter, options] : s.subscriptions()) {
    subscriptions_.unsubscribe(&s, filter);
    if (durable) store_->subscription_erased(s.client_id(), filter);
  }
  if (durable) store_->session_erased(s.client_id());
  sessions_.erase(s.client_id());
}

void broker_state::publish(message_ptr msg) {
  std::lock_guard lock(mutex_);
  route_locked(msg);
}

void broker_state::route_locked(const message_ptr& msg) {
  monitor_.record(msg, std::chrono::system_clock::now());
  if (msg->retain()) {
    // $SYS statistics describe this run only: kept in memory, never written (an idle broker
    // would otherwise write to the SD card every 10 s, and restore stale figures).
    const bool durable = store_ && msg->topic().rfind("$SYS/", 0) != 0;
    if (msg->payload().empty()) {
      retained_.erase(msg->topic());
      if (durable) store_->retained_erased(msg->topic());
    } else {
      retained_.store(msg);
      if (durable) store_->retained_stored(*msg);
    }
  }
  // Overlapping filters of one session deliver the message once, at the highest QoS they
  // grant [MQTT-3.3.5-1].
  thread_local std::vector<std::pair<session*, mqtt::qos>> targets;
  targets.clear();
  subscriptions_.match(msg->topic(), [&](session* s, const mqtt::subscription& sub) {
    targets.emplace_back(s, min_qos(msg->qos(), sub.max_qos));
  });
  if (targets.size() > 1) {
    std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    targets.erase(std::unique(targets.begin(), targets.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  targets.end());
  }
  // Forwarded live, the RETAIN flag is cleared [MQTT-3.3.1-9].
  for (const auto& [s, q] : targets) deliver_locked(*s, msg, q, false);
}

void broker_state::deliver_locked(session& s, const message_ptr& msg, mqtt::qos q,
                                  bool on_subscribe) {
  // QoS 0 is not kept for an offline client; QoS 1 and 2 are [MQTT-3.1.2-5].
  if (!s.owner && q == mqtt::qos::at_most_once) return;
  if (acl_ && !acl_->can_receive(identity_of(s), msg->topic())) return;
  if (!s.enqueue(msg, q, on_subscribe, on_subscribe)) {
    counters_.publish_dropped.fetch_add(1, std::memory_order_relaxed);
    if (s.take_first_drop_notice()) {
      events_.add(event_kind::limit, s.client_id(),
                  "outgoing queue full (" + std::to_string(config_.max_queued_messages) +
                      " messages): dropping messages for this client");
      log_.log(log_level::warning, s.client_id(),
               "outgoing queue full (" + std::to_string(config_.max_queued_messages) +
                   " messages): dropping messages for this client; the client is too slow or "
                   "offline. Further drops are counted in $SYS/broker/publish/messages/dropped");
    }
  }
  if (s.owner && s.owner->link) s.owner->link->wake();
}

std::vector<std::uint8_t> broker_state::subscribe(connection_state& conn,
                                                  const std::vector<mqtt::subscription>& subs) {
  std::vector<std::uint8_t> codes;
  codes.reserve(subs.size());
  std::lock_guard lock(mutex_);
  session* s = conn.attached;
  for (const auto& sub : subs) {
    if (!s) {
      codes.push_back(0x80);
      continue;
    }
    if (acl_ && !acl_->can_subscribe(identity_of(*s), sub.filter)) {
      codes.push_back(0x80);  // refused: SUBACK failure, the connection stays [MQTT-3.9.3-2]
      continue;
    }
    const mqtt::qos granted = min_qos(sub.max_qos, mqtt::qos::exactly_once);
    mqtt::subscription stored = sub;
    stored.max_qos = granted;
    subscriptions_.subscribe(s, stored);
    s->subscriptions()[sub.filter] = stored;
    if (store_ && !s->clean()) store_->subscription_stored(s->client_id(), stored);
    codes.push_back(static_cast<std::uint8_t>(granted));
    // Retained messages go out on every SUBSCRIBE, with RETAIN set [MQTT-3.3.1-8]
    // [MQTT-3.8.4-3], at the lower of their QoS and the granted QoS.
    retained_.match(sub.filter, [&](const message_ptr& msg) {
      deliver_locked(*s, msg, min_qos(msg->qos(), granted), true);
    });
  }
  return codes;
}

void broker_state::unsubscribe(connection_state& conn, const std::vector<std::string>& filters) {
  std::lock_guard lock(mutex_);
  session* s = conn.attached;
  if (!s) return;
  for (const auto& filter : filters) {
    if (auto it = s->subscriptions().find(filter); it != s->subscriptions().end()) {
      subscriptions_.unsubscribe(s, filter);
      s->subscriptions().erase(it);
      if (store_ && !s->clean()) store_->subscription_erased(s->client_id(), filter);
    }
  }
}

bool broker_state::on_ack(connection_state& conn, mqtt::packet_type type, std::uint16_t id) {
  std::lock_guard lock(mutex_);
  session* s = conn.attached;
  if (!s) return false;
  bool matched = false;
  switch (type) {
    case mqtt::packet_type::puback:
      matched = s->on_puback(id);
      break;
    case mqtt::packet_type::pubrec:
      matched = s->on_pubrec(id);
      break;
    case mqtt::packet_type::pubcomp:
      matched = s->on_pubcomp(id);
      break;
    default:
      break;
  }
  // A freed slot in the in-flight window may let queued messages go.
  if (matched && s->has_sendable() && conn.link) conn.link->wake();
  return matched;
}

bool broker_state::remember_incoming_qos2(connection_state& conn, std::uint16_t id) {
  std::lock_guard lock(mutex_);
  return conn.attached ? conn.attached->remember_incoming_qos2(id) : false;
}

void broker_state::release_incoming_qos2(connection_state& conn, std::uint16_t id) {
  std::lock_guard lock(mutex_);
  if (conn.attached) conn.attached->release_incoming_qos2(id);
}

bool broker_state::take_output(connection_state& conn, std::vector<outgoing_publish>& out,
                               std::size_t byte_budget) {
  std::lock_guard lock(mutex_);
  if (conn.taken_over) return false;
  if (conn.attached) conn.attached->take_sendable(out, byte_budget);
  return true;
}

void broker_state::post_to(const std::shared_ptr<connection_state>& conn,
                           std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  if (conn->link) conn->link->post(std::move(fn));
}

void broker_state::after_durable(const std::shared_ptr<connection_state>& conn,
                                 std::function<void()> fn) {
  if (!store_) {
    fn();
    return;
  }
  std::weak_ptr<connection_state> weak = conn;
  store_->when_durable([this, weak, fn = std::move(fn)]() mutable {
    if (auto alive = weak.lock()) post_to(alive, std::move(fn));
  });
}

void broker_state::restore_retained(message_ptr msg) {
  std::lock_guard lock(mutex_);
  monitor_.restore(msg, std::chrono::system_clock::now());
  retained_.store(std::move(msg));
}

void broker_state::restore_session(const std::string& client_id, const std::string& username,
                                   const std::vector<mqtt::subscription>& subs,
                                   const std::vector<stored_delivery>& deliveries,
                                   const std::vector<std::uint16_t>& incoming_qos2) {
  std::lock_guard lock(mutex_);
  auto& slot = sessions_[client_id];
  if (slot) {  // stored twice: the later record wins
    for (const auto& [filter, options] : slot->subscriptions()) {
      subscriptions_.unsubscribe(slot.get(), filter);
    }
  }
  slot = std::make_unique<session>(client_id, false, config_, store_);
  session& s = *slot;
  s.set_username(username);
  for (const auto& sub : subs) {
    subscriptions_.subscribe(&s, sub);
    s.subscriptions()[sub.filter] = sub;
  }
  for (const auto& d : deliveries) s.restore_delivery(d);
  for (std::uint16_t id : incoming_qos2) s.restore_incoming_qos2(id);
}

std::string broker_state::assign_client_id() {
  std::lock_guard lock(mutex_);
  char id[40];
  std::snprintf(id, sizeof id, "auto-%016llx", static_cast<unsigned long long>(random_()));
  return id;
}

std::vector<client_info> broker_state::clients(std::size_t limit) const {
  std::vector<client_info> out;
  std::lock_guard lock(mutex_);
  out.reserve(std::min(limit, sessions_.size()));
  for (const auto& [id, s] : sessions_) {
    if (out.size() >= limit) break;
    client_info c;
    c.client_id = id;
    c.username = s->username();
    c.clean_session = s->clean();
    c.subscriptions = s->subscriptions().size();
    c.queued = s->queued();
    c.inflight = s->inflight();
    c.dropped = s->dropped();
    if (const connection_state* conn = s->owner) {
      c.connected = true;
      c.address = conn->remote_address;
      c.protocol = protocol_name(conn->version);
      c.transport = conn->transport;
      c.keep_alive = conn->keep_alive;
      c.since = conn->connected_at;
      c.messages_in = conn->messages_in.load(std::memory_order_relaxed);
      c.messages_out = conn->messages_out.load(std::memory_order_relaxed);
    }
    out.push_back(std::move(c));
  }
  return out;
}

connection_totals broker_state::totals() const {
  connection_totals t;
  std::lock_guard lock(mutex_);
  for (const auto& [id, s] : sessions_) {
    t.queued += s->queued();
    t.inflight += s->inflight();
    if (const connection_state* conn = s->owner) {
      ++t.connections[{conn->transport, protocol_name(conn->version)}];
    } else {
      ++t.offline_sessions;
    }
  }
  return t;
}

topic_query_result broker_state::topics(const topic_query& q) const {
  std::lock_guard lock(mutex_);
  return monitor_.query(q);
}

std::uint64_t broker_state::topics_version() const {
  std::lock_guard lock(mutex_);
  return monitor_.seq();
}

topic_monitor_figures broker_state::monitor_figures() const {
  std::lock_guard lock(mutex_);
  return monitor_.figures();
}

std::optional<topic_entry> broker_state::topic(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const topic_entry* e = monitor_.find(name);
  if (!e) {
    // Over the monitor's cap, a retained message is still found in the retained store.
    message_ptr retained = retained_.find(name);
    if (!retained) return std::nullopt;
    topic_entry r;
    r.topic = retained->topic();
    r.last = retained;
    r.payload_size = retained->payload().size();
    r.qos = retained->qos();
    r.retained = true;
    return r;
  }
  return *e;
}

bool broker_state::request_disconnect(std::string_view client_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(std::string(client_id));
  if (it == sessions_.end() || !it->second->owner) return false;
  connection_state& conn = *it->second->owner;
  conn.disconnect_requested.store(true, std::memory_order_relaxed);
  if (conn.link) conn.link->wake();
  return true;
}

std::size_t broker_state::retained_count() const {
  std::lock_guard lock(mutex_);
  return retained_.size();
}

std::size_t broker_state::subscription_count() const {
  std::lock_guard lock(mutex_);
  return subscriptions_.size();
}

std::size_t broker_state::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void broker_state::publish_sys(std::chrono::steady_clock::time_point now) {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
  const auto value = [](auto v) { return std::to_string(v); };
  const std::pair<const char*, std::string> entries[] = {
      {"$SYS/broker/version", "mqtt-broker version " + config_.version},
      {"$SYS/broker/uptime", value(uptime) + " seconds"},
      {"$SYS/broker/clients/connected", value(counters_.clients_connected.load())},
      {"$SYS/broker/messages/received", value(counters_.messages_received.load())},
      {"$SYS/broker/messages/sent", value(counters_.messages_sent.load())},
      {"$SYS/broker/bytes/received", value(counters_.bytes_received.load())},
      {"$SYS/broker/bytes/sent", value(counters_.bytes_sent.load())},
      {"$SYS/broker/publish/messages/dropped", value(counters_.publish_dropped.load())},
  };
  std::lock_guard lock(mutex_);
  const std::pair<const char*, std::string> counts[] = {
      {"$SYS/broker/retained messages/count", value(retained_.size())},
      {"$SYS/broker/subscriptions/count", value(subscriptions_.size())},
      {"$SYS/broker/clients/total", value(sessions_.size())},
  };
  using entry = std::pair<const char*, std::string>;
  for (std::span<const entry> list :
       {std::span<const entry>(entries), std::span<const entry>(counts)}) {
    for (const auto& [topic, text] : list) {
      route_locked(std::make_shared<const message>(topic, text, mqtt::qos::at_most_once, true));
    }
  }
}

}  // namespace broker
