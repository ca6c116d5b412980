#include "broker/broker_state.hpp"

#include <algorithm>
#include <cstdio>
#include <shared_mutex>
#include <span>

#include "mqtt/reason_code.hpp"
#include "mqtt/topic.hpp"

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

std::uint64_t fresh_seed() {
  static const std::uint64_t base = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }();
  static std::atomic<std::uint64_t> count{0};
  // Golden-ratio steps: every seed differs, and all of them are as unpredictable as the base.
  return base + 0x9E3779B97F4A7C15ull * count.fetch_add(1, std::memory_order_relaxed);
}

broker_state::broker_state(broker_config config, authenticator& auth, logger& log,
                           const authorizer* acl, persistence* store)
    : config_(std::move(config)),
      auth_(auth),
      acl_(acl),
      store_(store),
      log_(log),
      monitor_(config_.ui_max_topics, config_.ui_max_payload_bytes) {
  pool_.limit = config_.max_total_buffer_bytes;
}

namespace {
client_identity identity_of(const session& s) {
  return {s.client_id(), s.username()};
}
}  // namespace

bool broker_state::may_publish(const connection_state& conn, std::string_view topic) const {
  // A bridge carries what the remote broker sends, $SYS included (Mosquitto lets bridges
  // through its access checks too).
  if (conn.internal) return true;
  return may_publish(conn.client_id, conn.username, topic);
}

bool broker_state::may_publish(std::string_view client_id, std::string_view username,
                               std::string_view topic) const {
  // $SYS topics belong to the broker; no client writes them (Mosquitto does the same).
  if (topic.starts_with("$SYS")) return false;
  return !acl_ || acl_->can_publish({client_id, username}, topic);
}

broker_state::~broker_state() = default;

namespace {
using steady = std::chrono::steady_clock;

std::optional<std::uint32_t> will_delay_of(const mqtt::will_message& w) {
  return mqtt::find_integer(w.props, mqtt::property_id::will_delay_interval);
}
}  // namespace

std::optional<bool> broker_state::attach(connection_state& conn, bool clean_start,
                                         std::optional<mqtt::will_message> will,
                                         const send_limits& limits) {
  std::optional<mqtt::will_message> previous_will;
  shared_text previous_user;
  bool present = false;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(conn.client_id.view());
    if (it != sessions_.end()) {
      session& existing = **it;
      if (connection_state* old = existing.owner) {
        // The old connection ends as if its network connection had dropped: its will goes out
        // (below, unless a Will Delay and a resumed session hold it back).
        old->taken_over.store(true, std::memory_order_relaxed);
        old->attached = nullptr;
        if (auto w = old->take_will()) previous_will = std::move(*w);
        previous_user = old->username;
        if (old->link) old->link->wake();
        existing.owner = nullptr;
        counters_.clients_connected.fetch_sub(1, std::memory_order_relaxed);
        log_.log(log_level::notice, conn.client_id,
                 "client id taken over by a new connection from " + conn.remote_address);
      }
      // A clean session lasts as long as its network connection [MQTT-3.1.2-6]; Clean Start
      // discards the old one [MQTT-3.1.2-4]; an expired one is gone even if the tick that
      // ends it has not come yet (just after a restart, say).
      const bool expired = existing.ends_at <= steady::now();
      if (clean_start || existing.clean() || expired) {
        end_session_locked(existing);
        it = sessions_.end();
      }
    }
    // A new connection in time cancels a delayed will [MQTT-3.1.3-9]; when the session ends
    // here (Clean Start) the will goes out now instead: the session end came first.
    if (auto w = delayed_wills_.find(conn.client_id.view()); w != delayed_wills_.end()) {
      delayed_will pending = std::move(w->second);
      delayed_wills_.erase(w);
      if (it == sessions_.end()) {
        publish_will_locked(conn.client_id, pending.username, std::move(pending.will));
      }
    }
    if (previous_will) {
      const bool delayed = will_delay_of(*previous_will).value_or(0) > 0;
      if (!delayed || it == sessions_.end()) {
        publish_will_locked(conn.client_id, previous_user, std::move(*previous_will));
      }
    }
    if (it == sessions_.end() && sessions_.size() >= config_.max_sessions) {
      note_refusal(counters_.limits.sessions_refused, episodes_.sessions_refused,
                   conn.client_id.view(), "sessions",
                   "new session refused: " + std::to_string(sessions_.size()) +
                       " sessions exist (max_sessions)");
      return std::nullopt;
    }
    if (it == sessions_.end()) {
      auto created =
          std::make_unique<session>(conn.client_id, conn.session_expiry, session_context_);
      it = sessions_.insert(std::move(created)).first;
    } else {
      present = true;
      (*it)->set_expiry_interval(conn.session_expiry);
      (*it)->prepare_resend();
    }
    session& s = **it;
    s.ends_at = session::no_end;
    s.set_username(conn.username);
    s.set_send_limits(limits);
    s.set_bridge(conn.internal);
    if (present && acl_ && !s.bridge()) {
      // The session may have been another user's, or the ACL changed while it was offline:
      // what was queued for it is checked again, as delivery checks every message.
      const client_identity who = identity_of(s);
      const std::size_t dropped =
          s.drop_unreadable([&](const message& m) { return acl_->can_receive(who, m.topic()); });
      if (dropped > 0) {
        counters_.publish_dropped.fetch_add(dropped, std::memory_order_relaxed);
        log_.log(log_level::notice, conn.client_id,
                 std::to_string(dropped) +
                     " queued message(s) dropped: this login may not read their topics");
      }
    }
    // After the drop: a backlog the client comes back to gets room (session::set_live), and
    // only what it keeps counts.
    s.set_live();
    if (store_ && !s.clean()) {
      s.mark_persisted();
      store_->session_stored(s.client_id(), s.username());
      store_expiry_locked(s, std::nullopt);
    }
    s.owner = &conn;
    conn.attached = &s;
    if (will) {
      conn.more().will = std::make_unique<mqtt::will_message>(std::move(*will));
    } else {
      conn.take_will();
    }
    counters_.clients_connected.fetch_add(1, std::memory_order_relaxed);
    conn.since.connected_at = std::chrono::system_clock::now();
    clients_version_.fetch_add(1, std::memory_order_relaxed);
  }
  return present;
}

void broker_state::store_expiry_locked(
    const session& s, std::optional<std::chrono::system_clock::time_point> ended_at) {
  if (!store_ || !s.persisted()) return;
  store_->session_expiry_stored(s.client_id(), s.expiry_interval(), ended_at);
}

void broker_state::detach(connection_state& conn) {
  std::lock_guard lock(mutex_);
  if (!conn.link) return;
  conn.link = nullptr;
  if (conn.attached) clients_version_.fetch_add(1, std::memory_order_relaxed);
  session* survivor = nullptr;
  if (session* s = conn.attached) {
    conn.attached = nullptr;
    s->owner = nullptr;
    counters_.clients_connected.fetch_sub(1, std::memory_order_relaxed);
    if (s->clean()) {
      end_session_locked(*s);
    } else {
      survivor = s;
      if (s->expiry_interval() != session::never_expires) {
        s->ends_at = steady::now() + std::chrono::seconds(s->expiry_interval());
      }
      store_expiry_locked(*s, std::chrono::system_clock::now());
      if (const std::size_t dropped = s->go_offline()) {
        // What a live client had queued beyond what an offline session keeps.
        counters_.publish_dropped.fetch_add(dropped, std::memory_order_relaxed);
        limit_counters::add(counters_.limits.dropped_offline, dropped);
        log_.log(log_level::info, s->client_id(),
                 "went offline with more queued than an offline session keeps (" +
                     std::to_string(config_.max_queued_messages) + " messages, " +
                     std::to_string(config_.max_queued_bytes) +
                     " bytes): " + std::to_string(dropped) + " messages dropped");
      }
    }
  }
  if (auto will = conn.take_will()) publish_or_delay_will_locked(conn, std::move(*will), survivor);
}

void broker_state::publish_or_delay_will_locked(const connection_state& conn,
                                                mqtt::will_message will, const session* survivor) {
  const std::uint32_t delay = will_delay_of(will).value_or(0);
  // The will waits for its delay, but not past the end of the session [MQTT-3.1.3-9].
  if (delay > 0 && survivor) {
    auto due = steady::now() + std::chrono::seconds(delay);
    due = std::min(due, survivor->ends_at);
    delayed_wills_[conn.client_id.str()] = {due, conn.username, std::move(will)};
    return;
  }
  publish_will_locked(conn.client_id, conn.username, std::move(will));
}

void broker_state::publish_will_locked(std::string_view client_id, std::string_view username,
                                       mqtt::will_message will) {
  // A will is a publish by its client: the same access rules and $SYS protection apply
  // (Mosquitto checks write access when it sends the will, too).
  if (!may_publish(client_id, username, will.topic)) {
    log_.log(log_level::notice, client_id,
             "will to '" + will.topic + "' not published: no write access");
    return;
  }
  // Published by its client: a subscription of the client's own session with No Local does not
  // get it, as the client's other messages [MQTT-3.8.3-3] (after a takeover, say).
  const auto own = sessions_.find(client_id);
  route_locked(make_message(std::move(will.topic), std::move(will.payload), will.qos, will.retain,
                            will.props),
               own != sessions_.end() ? own->get() : nullptr);
}

void broker_state::discard_will(connection_state& conn) {
  std::lock_guard lock(mutex_);
  conn.take_will();
}

void broker_state::set_session_expiry(connection_state& conn, std::uint32_t seconds) {
  std::lock_guard lock(mutex_);
  conn.session_expiry = seconds;
  session* s = conn.attached;
  if (!s) return;
  s->set_expiry_interval(seconds);
  // A session that was not stored and now outlives its connection is stored from here on.
  if (store_ && !s->clean() && !s->persisted()) {
    s->mark_persisted();
    store_->session_stored(s->client_id(), s->username());
    for (const auto& [filter, sub] : s->subscriptions()) {
      store_->subscription_stored(s->client_id(), sub);
    }
  }
}

void broker_state::expire(steady::time_point now) {
  std::lock_guard lock(mutex_);
  for (auto it = delayed_wills_.begin(); it != delayed_wills_.end();) {
    if (it->second.due <= now) {
      delayed_will pending = std::move(it->second);
      const std::string client_id = it->first;
      it = delayed_wills_.erase(it);
      publish_will_locked(client_id, pending.username, std::move(pending.will));
    } else {
      ++it;
    }
  }
  std::vector<session*> ended;
  for (const auto& s : sessions_) {
    if (!s->owner && s->ends_at <= now) ended.push_back(s.get());
  }
  for (session* s : ended) {
    log_.log(log_level::info, s->client_id(),
             "session expired (" + std::to_string(s->expiry_interval()) + " s after disconnect)");
    // A will still waiting goes out at the end of its session [MQTT-3.1.3-9].
    if (auto w = delayed_wills_.find(s->client_id()); w != delayed_wills_.end()) {
      delayed_will pending = std::move(w->second);
      delayed_wills_.erase(w);
      publish_will_locked(s->client_id(), pending.username, std::move(pending.will));
    }
    end_session_locked(*s);
  }
}

void broker_state::end_session_locked(session& s) {
  const bool durable = store_ && s.persisted();
  if (durable) s.forget_all();
  // Its unacknowledged messages of shared subscriptions go to another member [MQTT-4.8.2-5].
  std::vector<outgoing_publish> shared = s.take_shared();
  remove_all_subscriptions_locked(s);
  if (durable) store_->session_erased(s.client_id());
  const shared_text client_id = s.shared_client_id();
  if (auto it = sessions_.find(client_id.view()); it != sessions_.end()) sessions_.erase(it);
  for (outgoing_publish& p : shared) {
    auto group = shared_.find(p.share);
    if (group == shared_.end()) continue;
    if (shared_member* m = pick_member_locked(group->second, p.qos)) {
      log_.log(log_level::debug, client_id,
               "session ended: unacknowledged message on '" + std::string(p.msg->topic()) +
                   "' handed to " + std::string(m->s->client_id()) + " of " + p.share);
      std::vector<std::uint32_t> ids;
      if (m->options.identifier != 0) ids.push_back(m->options.identifier);
      deliver_locked(*m->s, p.msg, min_qos(p.qos, m->options.max_qos), p.retain, false,
                     std::move(ids), p.share);
    }
  }
}

bool broker_state::add_subscription_locked(session& s, const mqtt::subscription& sub,
                                           bool restoring) {
  const bool is_new = route_subscription_locked(s, sub);
  s.set_subscription(sub);
  if (!restoring && store_ && s.persisted()) store_->subscription_stored(s.client_id(), sub);
  return is_new;
}

bool broker_state::remove_subscription_locked(session& s, std::string_view filter) {
  if (!s.subscriptions().contains(filter)) return false;
  unroute_subscription_locked(s, filter);
  if (store_ && s.persisted()) store_->subscription_erased(s.client_id(), filter);
  s.erase_subscription(filter);
  return true;
}

void broker_state::remove_all_subscriptions_locked(session& s, bool restoring) {
  for (const auto& [filter, options] : s.subscriptions()) {
    unroute_subscription_locked(s, filter);
    if (!restoring && store_ && s.persisted()) store_->subscription_erased(s.client_id(), filter);
  }
  s.clear_subscriptions();
}

bool broker_state::route_subscription_locked(session& s, const mqtt::subscription& sub) {
  const auto shared = mqtt::split_shared_filter(sub.filter);
  if (!shared) return subscriptions_.subscribe(&s, sub);
  shared_group& group = shared_[sub.filter];
  if (group.filter.empty()) group.filter = std::string(shared->filter);
  for (shared_member& m : group.members) {
    if (m.s == &s) {
      m.options = sub;
      return false;
    }
  }
  group.members.push_back({&s, sub});
  ++shared_count_;
  return true;
}

void broker_state::unroute_subscription_locked(session& s, std::string_view filter) {
  if (!mqtt::is_shared_filter(filter)) {
    subscriptions_.unsubscribe(&s, filter);
    return;
  }
  auto it = shared_.find(filter);
  if (it == shared_.end()) return;
  auto& members = it->second.members;
  for (auto m = members.begin(); m != members.end(); ++m) {
    if (m->s == &s) {
      members.erase(m);
      --shared_count_;
      break;
    }
  }
  if (members.empty()) shared_.erase(it);
}

broker_state::shared_member* broker_state::pick_member_locked(shared_group& g, mqtt::qos q) {
  const std::size_t n = g.members.size();
  if (n == 0) return nullptr;
  // In turn, and online members first; an offline one (a session that outlives its
  // connection) only when no member is online, and only for QoS 1/2, which it keeps.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = (g.next + i) % n;
      shared_member& m = g.members[k];
      const bool online = m.s->owner != nullptr;
      if (pass == 0 ? !online : q == mqtt::qos::at_most_once) continue;
      g.next = k + 1;
      return &m;
    }
  }
  return nullptr;
}

std::size_t broker_state::publish(message_ptr msg, const connection_state* from) {
  std::shared_lock lock(mutex_);
  return route_locked(msg, from ? from->attached : nullptr);
}

void broker_state::reserve_bridge_client_ids(std::vector<std::string> ids) {
  std::lock_guard lock(mutex_);
  bridge_client_ids_ = std::move(ids);
  for (const std::string& id : bridge_client_ids_) {
    if (auto it = sessions_.find(std::string_view(id)); it != sessions_.end()) {
      (*it)->set_bridge(true);
    }
  }
}

bool broker_state::is_bridge_client_id(std::string_view client_id) const {
  std::shared_lock lock(mutex_);
  return std::find(bridge_client_ids_.begin(), bridge_client_ids_.end(), client_id) !=
         bridge_client_ids_.end();
}

std::size_t broker_state::route_locked(const message_ptr& msg, const session* from) {
  if (monitoring_.load(std::memory_order_relaxed)) {
    std::lock_guard monitor(monitor_mutex_);
    monitor_.record(msg, std::chrono::system_clock::now());
  }
  if (msg->retain()) {
    // $SYS statistics describe this run only: kept in memory, never written (an idle broker
    // would otherwise write to the SD card every 10 s, and restore stale figures).
    const bool statistics = msg->topic().starts_with("$SYS/");
    const bool durable = store_ && !statistics;
    // Held while telling the store too, so the store gets a topic's changes in their order.
    std::lock_guard retained(retained_mutex_);
    if (msg->payload().empty()) {
      retained_.erase(msg->topic());
      if (durable) store_->retained_erased(msg->topic());
    } else if (statistics) {
      // The broker's own few, which no client can write: never refused by the budget.
      retained_.store(msg);
    } else if (retained_.store_within(msg, config_.max_retained_bytes)) {
      if (durable) store_->retained_stored(msg);
    } else {
      // Still delivered below; only not kept.
      note_refusal(counters_.limits.retained_refused, episodes_.retained_refused,
                   from ? from->client_id() : std::string_view(), "retained",
                   "retained message to '" + std::string(msg->topic()) +
                       "' not kept: retained messages hold " + std::to_string(retained_.bytes()) +
                       " bytes (max_retained_bytes " + std::to_string(config_.max_retained_bytes) +
                       ")");
    }
  }
  // Overlapping filters of one session deliver the message once, at the highest QoS they
  // grant [MQTT-3.3.5-1], with the identifiers of all of them [MQTT-3.3.4-3].
  struct target {
    session* s;
    mqtt::qos q;
    bool retain;
    std::uint32_t sub_id;
  };
  thread_local std::vector<target> targets;
  targets.clear();
  subscriptions_.match(msg->topic(), [&](session* s, const mqtt::subscription& sub) {
    // No Local: not back to the connection that published it [MQTT-3.8.3-3]. A bridge never
    // gets its own messages back, whatever the protocol (Mosquitto: "don't send back to the
    // bridge it came from").
    if (s == from && (sub.no_local || s->bridge())) return;
    // Forwarded live, RETAIN is cleared unless Retain As Published [MQTT-3.3.1-12]
    // [MQTT-3.3.1-13]; a bridge always gets it as published, so the remote keeps what we keep
    // (Mosquitto does the same for bridges).
    targets.push_back({s, min_qos(msg->qos(), sub.max_qos),
                       (sub.retain_as_published || s->bridge()) && msg->retain(), sub.identifier});
  });
  if (targets.size() > 1) {
    std::stable_sort(targets.begin(), targets.end(),
                     [](const target& a, const target& b) { return a.s < b.s; });
  }
  std::size_t delivered = 0;
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < targets.size();) {
    session* s = targets[i].s;
    mqtt::qos q = targets[i].q;
    bool retain = targets[i].retain;
    ids.clear();
    std::size_t j = i;
    for (; j < targets.size() && targets[j].s == s; ++j) {
      if (targets[j].q > q) q = targets[j].q;
      retain = retain || targets[j].retain;
      if (targets[j].sub_id != 0) ids.push_back(targets[j].sub_id);
    }
    i = j;
    ++delivered;
    deliver_locked(*s, msg, q, retain, false, ids);
  }
  // Each shared subscription group matching the topic: one member, in turn [MQTT-4.8.2].
  for (auto& [key, group] : shared_) {
    if (!mqtt::topic_matches(group.filter, msg->topic())) continue;
    shared_member picked;
    {
      std::lock_guard turn(shared_pick_mutex_);
      shared_member* m = pick_member_locked(group, msg->qos());
      if (!m) continue;
      picked = *m;
    }
    std::vector<std::uint32_t> ids;
    if (picked.options.identifier != 0) ids.push_back(picked.options.identifier);
    ++delivered;
    deliver_locked(*picked.s, msg, min_qos(msg->qos(), picked.options.max_qos),
                   picked.options.retain_as_published && msg->retain(), false, std::move(ids), key);
  }
  return delivered;
}

void broker_state::deliver_locked(session& s, const message_ptr& msg, mqtt::qos q, bool retain,
                                  bool on_subscribe, std::vector<std::uint32_t> sub_ids,
                                  std::string_view share) {
  // QoS 0 is not kept for an offline client; QoS 1 and 2 are [MQTT-3.1.2-5].
  if (!s.owner && q == mqtt::qos::at_most_once) return;
  if (acl_ && !s.bridge() && !acl_->can_receive(identity_of(s), msg->topic())) return;
  enqueue_result result;
  bool first_drop = false;
  {
    std::lock_guard delivery(delivery_mutex(s));
    // Retained messages answering a SUBSCRIBE: each once, outside the budgets (session.hpp).
    const std::size_t exempt_up_to = on_subscribe ? retained_.size() : 0;
    result = s.enqueue(msg, q, retain, exempt_up_to, std::move(sub_ids), share);
    if (result != enqueue_result::queued && result != enqueue_result::over_budget) {
      first_drop = s.take_first_drop_notice();
    }
  }
  if (result == enqueue_result::over_budget) {
    limit_counters::add(counters_.limits.disconnected_for_budget);
    s.owner->over_budget.store(true, std::memory_order_relaxed);
  } else if (result != enqueue_result::queued) {
    count_drop(s, result, first_drop);
  }
  if (s.owner && s.owner->link) s.owner->link->wake();
}

void broker_state::count_drop(const session& s, enqueue_result why, bool first) {
  counters_.publish_dropped.fetch_add(1, std::memory_order_relaxed);
  std::string what;
  switch (why) {
    case enqueue_result::dropped_client_budget:
      limit_counters::add(counters_.limits.dropped_client_budget);
      what = "its buffer is full (" + std::to_string(config_.max_client_buffer_bytes) +
             " bytes wait for it): QoS 0 messages are dropped for this client, which does not "
             "read fast enough";
      break;
    case enqueue_result::dropped_total_budget:
      limit_counters::add(counters_.limits.dropped_total_budget);
      if (episodes_.total_budget.begins(std::chrono::steady_clock::now())) {
        log_.log(log_level::info,
                 "every client's buffers together are full (" + std::to_string(pool_.limit) +
                     " bytes): dropping messages for the clients with the most queued. Further "
                     "drops are counted in $SYS/broker/limits/messages/dropped/total_budget");
      }
      what = "every client's buffers together are full: messages are dropped for this client";
      break;
    default:
      limit_counters::add(counters_.limits.dropped_offline);
      what = "its offline queue is full (" + std::to_string(config_.max_queued_messages) +
             " messages or " + std::to_string(config_.max_queued_bytes) +
             " bytes): messages are dropped for this session";
      break;
  }
  if (first) {
    events_.add(event_kind::limit, s.client_id(), what);
    log_.log(log_level::info, s.client_id(),
             what + ". Further drops are counted in $SYS/broker/publish/messages/dropped");
  }
}

const char* broker_state::subscription_bound_locked(const session& s,
                                                    std::string_view filter) const {
  // Replacing a subscription adds nothing [MQTT-3.8.4-3].
  if (s.subscriptions().contains(filter)) return nullptr;
  if (s.subscriptions().size() >= config_.max_subscriptions_per_client) {
    return "max_subscriptions_per_client";
  }
  if (subscriptions_.size() + shared_count_ >= config_.max_subscriptions) {
    return "max_subscriptions";
  }
  return nullptr;
}

void broker_state::note_refusal(std::atomic<std::uint64_t>& counter, episode_gate& gate,
                                std::string_view client_id, std::string_view counted_in,
                                const std::string& what) {
  limit_counters::add(counter);
  if (!gate.begins(episode_gate::clock::now())) return;
  log_.log(log_level::warning, client_id,
           what + " (further ones are counted in $SYS/broker/limits/" + std::string(counted_in) +
               "/refused)");
}

std::vector<std::uint8_t> broker_state::subscribe(connection_state& conn,
                                                  const std::vector<mqtt::subscription>& subs) {
  std::vector<std::uint8_t> codes;
  codes.reserve(subs.size());
  const bool v5 = conn.version == mqtt::protocol_version::v5;
  const auto now = message::wall_clock::now();
  std::lock_guard lock(mutex_);
  session* s = conn.attached;
  for (const auto& sub : subs) {
    if (!s) {
      codes.push_back(mqtt::reason::unspecified_error);
      continue;
    }
    // A shared subscription is judged by its filter, without the "$share/<group>/" prefix.
    const auto shared = mqtt::split_shared_filter(sub.filter);
    const std::string_view judged = shared ? shared->filter : std::string_view(sub.filter);
    if (acl_ && !acl_->can_subscribe(identity_of(*s), judged)) {
      // Refused: SUBACK failure, the connection stays [MQTT-3.9.3-2]; 5.0 says why.
      codes.push_back(v5 ? mqtt::reason::not_authorized : mqtt::reason::unspecified_error);
      continue;
    }
    if (const char* bound = subscription_bound_locked(*s, sub.filter)) {
      note_refusal(counters_.limits.subscriptions_refused, episodes_.subscriptions_refused,
                   s->client_id(), "subscriptions",
                   "subscription to '" + sub.filter + "' refused: " + bound + " reached");
      codes.push_back(v5 ? mqtt::reason::quota_exceeded : mqtt::reason::unspecified_error);
      continue;
    }
    const mqtt::qos granted = min_qos(sub.max_qos, mqtt::qos::exactly_once);
    mqtt::subscription stored = sub;
    stored.max_qos = granted;
    const bool is_new = add_subscription_locked(*s, stored);
    codes.push_back(static_cast<std::uint8_t>(granted));
    // Retained messages go out on SUBSCRIBE, with RETAIN set [MQTT-3.3.1-8] [MQTT-3.8.4-3], at
    // the lower of their QoS and the granted QoS; Retain Handling 1 only for a new subscription,
    // 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
    // A shared subscription gets no retained messages (MQTT 5.0 section 4.8.2): they would go to
    // every member at once.
    if (shared) continue;
    if (sub.retain_handling == 2 || (sub.retain_handling == 1 && !is_new)) continue;
    std::vector<std::string> expired;
    std::lock_guard retained(retained_mutex_);
    retained_.match(sub.filter, [&](const message_ptr& msg) {
      if (msg->expired(now)) {
        expired.emplace_back(msg->topic());
        return;
      }
      std::vector<std::uint32_t> ids;
      if (sub.identifier != 0) ids.push_back(sub.identifier);
      deliver_locked(*s, msg, min_qos(msg->qos(), granted), true, true, std::move(ids));
    });
    // A retained message whose expiry passed is gone [MQTT-3.3.2-5].
    for (const auto& topic : expired) {
      retained_.erase(topic);
      if (store_) store_->retained_erased(topic);
    }
  }
  return codes;
}

std::vector<std::uint8_t> broker_state::unsubscribe(connection_state& conn,
                                                    const std::vector<std::string>& filters) {
  std::vector<std::uint8_t> codes;
  std::lock_guard lock(mutex_);
  session* s = conn.attached;
  for (const auto& filter : filters) {
    std::uint8_t code = mqtt::reason::no_subscription_existed;
    if (s) {
      if (remove_subscription_locked(*s, filter)) code = mqtt::reason::success;
    }
    codes.push_back(code);
  }
  return codes;
}

bool broker_state::on_ack(connection_state& conn, mqtt::packet_type type, std::uint16_t id,
                          std::uint8_t reason_code) {
  std::shared_lock lock(mutex_);
  session* s = conn.attached;
  if (!s) return false;
  std::unique_lock delivery(delivery_mutex(*s));
  bool matched = false;
  switch (type) {
    case mqtt::packet_type::puback:
      matched = s->on_puback(id);
      break;
    case mqtt::packet_type::pubrec:
      matched = s->on_pubrec(id, reason_code);
      break;
    case mqtt::packet_type::pubcomp:
      matched = s->on_pubcomp(id);
      break;
    default:
      break;
  }
  // A freed slot in the in-flight window may let queued messages go.
  const bool wake = matched && s->has_sendable();
  delivery.unlock();
  if (wake && conn.link) conn.link->wake();
  return matched;
}

template <typename Fn>
auto broker_state::with_delivery(connection_state& conn, Fn&& fn) -> decltype(fn(nullptr)) {
  std::shared_lock lock(mutex_);
  session* s = conn.attached;
  if (!s) return fn(nullptr);
  std::lock_guard delivery(delivery_mutex(*s));
  return fn(s);
}

bool broker_state::has_incoming_qos2(connection_state& conn, std::uint16_t id) {
  return with_delivery(conn, [&](session* s) { return s && s->has_incoming_qos2(id); });
}

std::size_t broker_state::incoming_qos2_count(connection_state& conn) {
  return with_delivery(conn,
                       [&](session* s) -> std::size_t { return s ? s->incoming_qos2_count() : 0; });
}

bool broker_state::remember_incoming_qos2(connection_state& conn, std::uint16_t id) {
  return with_delivery(conn, [&](session* s) { return s && s->remember_incoming_qos2(id); });
}

void broker_state::release_incoming_qos2(connection_state& conn, std::uint16_t id) {
  with_delivery(conn, [&](session* s) {
    if (s) s->release_incoming_qos2(id);
  });
}

output_status broker_state::take_output(connection_state& conn, std::vector<outgoing_publish>& out,
                                        std::size_t byte_budget) {
  std::shared_lock lock(mutex_);
  if (conn.taken_over.load(std::memory_order_relaxed)) return output_status::taken_over;
  if (conn.over_budget.load(std::memory_order_relaxed)) return output_status::over_budget;
  if (session* s = conn.attached) {
    std::lock_guard delivery(delivery_mutex(*s));
    s->take_sendable(out, byte_budget);
  }
  return output_status::open;
}

void broker_state::post_to(const std::shared_ptr<connection_state>& conn,
                           std::function<void()> fn) {
  std::shared_lock lock(mutex_);
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
  std::lock_guard lock(retained_mutex_);
  retained_.store(std::move(msg));
}

void broker_state::restore_session(const std::string& client_id, const std::string& username,
                                   const std::vector<mqtt::subscription>& subs,
                                   const std::vector<stored_delivery>& deliveries,
                                   const std::vector<std::uint16_t>& incoming_qos2,
                                   std::uint32_t expiry_interval,
                                   std::optional<std::chrono::system_clock::time_point> ended_at) {
  std::lock_guard lock(mutex_);
  if (auto old = sessions_.find(std::string_view(client_id)); old != sessions_.end()) {
    // Stored twice: the later record wins.
    remove_all_subscriptions_locked(**old, true);
    sessions_.erase(old);
  }
  auto created = std::make_unique<session>(client_id, expiry_interval, session_context_);
  session& s = *created;
  sessions_.insert(std::move(created));
  s.mark_persisted();
  s.set_username(shared_text(username));
  s.set_bridge(std::find(bridge_client_ids_.begin(), bridge_client_ids_.end(), client_id) !=
               bridge_client_ids_.end());
  if (expiry_interval != session::never_expires) {
    // A session that was connected when the broker stopped ended with that stop: count from
    // now. Otherwise its expiry keeps counting from when its connection ended.
    const auto wall_now = std::chrono::system_clock::now();
    const auto ended = ended_at.value_or(wall_now);
    const auto left = ended + std::chrono::seconds(expiry_interval) - wall_now;
    s.ends_at = steady::now() + std::chrono::duration_cast<steady::duration>(left);
  }
  for (const auto& sub : subs) add_subscription_locked(s, sub, true);
  for (const auto& d : deliveries) s.restore_delivery(d);
  for (std::uint16_t id : incoming_qos2) s.restore_incoming_qos2(id);
}

std::string broker_state::assign_client_id() {
  std::lock_guard lock(random_mutex_);
  char id[40];
  std::snprintf(id, sizeof id, "auto-%016llx", static_cast<unsigned long long>(random_()));
  return id;
}

std::vector<std::string> broker_state::subscription_filters(std::string_view client_id) const {
  std::vector<std::string> out;
  std::shared_lock lock(mutex_);
  if (auto it = sessions_.find(client_id); it != sessions_.end()) {
    for (const auto& [filter, options] : (*it)->subscriptions()) out.push_back(filter);
  }
  return out;
}

std::vector<client_info> broker_state::clients(std::size_t limit) const {
  std::vector<client_info> out;
  std::lock_guard lock(mutex_);
  out.reserve(std::min(limit, sessions_.size()));
  for (const auto& s : sessions_) {
    if (out.size() >= limit) break;
    client_info c;
    c.client_id = s->client_id();
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
      c.transport = conn->transport();
      c.keep_alive = conn->keep_alive;
      c.since = conn->since.connected_at;
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
  for (const auto& s : sessions_) {
    t.queued += s->queued();
    t.inflight += s->inflight();
    if (const connection_state* conn = s->owner) {
      ++t.connections[{conn->transport(), protocol_name(conn->version)}];
    } else {
      ++t.offline_sessions;
    }
  }
  return t;
}

topic_query_result broker_state::topics(const topic_query& q) const {
  std::lock_guard monitor(monitor_mutex_);
  return monitor_.query(q);
}

std::uint64_t broker_state::topics_version() const {
  std::lock_guard monitor(monitor_mutex_);
  return monitor_.seq();
}

void broker_state::watch(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::lock_guard monitor(monitor_mutex_);
  last_watched_ = now;
  if (monitoring_.load()) return;
  monitoring_.store(true);
  // The tree starts with every retained message; live ones join as they are routed.
  const auto wall = std::chrono::system_clock::now();
  std::lock_guard retained(retained_mutex_);
  retained_.for_each([&](const message_ptr& msg) { monitor_.restore(msg, wall); });
}

void broker_state::unwatch_if_idle(std::chrono::steady_clock::time_point now) {
  std::lock_guard monitor(monitor_mutex_);
  if (!monitoring_.load() || now - last_watched_ < config_.ui_watch_linger) return;
  monitoring_.store(false);
  monitor_.clear();
}

topic_monitor_figures broker_state::monitor_figures() const {
  std::lock_guard monitor(monitor_mutex_);
  return monitor_.figures();
}

std::optional<topic_entry> broker_state::topic(std::string_view name) const {
  std::unique_lock monitor(monitor_mutex_);
  const topic_entry* e = monitor_.find(name);
  if (!e) {
    monitor.unlock();
    // Over the monitor's cap, a retained message is still found in the retained store.
    message_ptr retained;
    {
      std::lock_guard lock(retained_mutex_);
      retained = retained_.find(name);
    }
    if (!retained) return std::nullopt;
    topic_entry r;
    r.topic = retained->topic();
    r.large_payload = shared_payload(retained);
    r.payload_kept = true;
    r.payload_size = retained->payload().size();
    r.qos = retained->qos();
    r.retained = true;
    return r;
  }
  return *e;
}

bool broker_state::request_disconnect(std::string_view client_id) {
  std::shared_lock lock(mutex_);
  auto it = sessions_.find(client_id);
  if (it == sessions_.end() || !(*it)->owner) return false;
  connection_state& conn = *(*it)->owner;
  conn.disconnect_requested.store(true, std::memory_order_relaxed);
  if (conn.link) conn.link->wake();
  return true;
}

std::size_t broker_state::retained_count() const {
  std::lock_guard lock(retained_mutex_);
  return retained_.size();
}

std::size_t broker_state::subscription_count() const {
  std::shared_lock lock(mutex_);
  return subscriptions_.size() + shared_count_;
}

std::size_t broker_state::buffered_bytes() const {
  return pool_.used.load();
}

std::size_t broker_state::session_count() const {
  std::shared_lock lock(mutex_);
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
  const limit_counters& l = counters_.limits;
  const std::pair<const char*, std::string> limits[] = {
      {"$SYS/broker/limits/messages/dropped/client_budget", value(l.dropped_client_budget.load())},
      {"$SYS/broker/limits/messages/dropped/total_budget", value(l.dropped_total_budget.load())},
      {"$SYS/broker/limits/messages/dropped/offline", value(l.dropped_offline.load())},
      {"$SYS/broker/limits/clients/disconnected", value(l.disconnected_for_budget.load())},
      {"$SYS/broker/limits/connections/refused", value(l.connections_refused.load())},
      {"$SYS/broker/limits/connections/open", value(l.connections_open.load())},
      {"$SYS/broker/limits/connections/connect_timeout", value(l.connect_timeouts.load())},
      {"$SYS/broker/limits/logins/throttled", value(l.logins_throttled.load())},
      {"$SYS/broker/limits/subscriptions/refused", value(l.subscriptions_refused.load())},
      {"$SYS/broker/limits/sessions/refused", value(l.sessions_refused.load())},
      {"$SYS/broker/limits/retained/refused", value(l.retained_refused.load())},
      {"$SYS/broker/limits/connections/input_budget", value(l.input_budget_closed.load())},
  };
  std::lock_guard lock(mutex_);
  const std::pair<const char*, std::string> counts[] = {
      {"$SYS/broker/retained messages/count", value(retained_count())},
      {"$SYS/broker/subscriptions/count", value(subscriptions_.size() + shared_count_)},
      {"$SYS/broker/clients/total", value(sessions_.size())},
      {"$SYS/broker/limits/buffered/bytes", value(pool_.used.load())},
  };
  using entry = std::pair<const char*, std::string>;
  for (std::span<const entry> list :
       {std::span<const entry>(entries), std::span<const entry>(limits),
        std::span<const entry>(counts)}) {
    for (const auto& [topic, text] : list) {
      route_locked(message::make(topic, text, mqtt::qos::at_most_once, true));
    }
  }
}

}  // namespace broker
