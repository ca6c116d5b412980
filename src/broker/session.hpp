#pragma once
// One client's session [MQTT-4.1]: its subscriptions, the messages waiting for it, the QoS 1/2
// messages in flight in both directions. Lives on while the client is offline when it asked for
// a persistent session. Not thread-safe. broker_state.hpp says what guards what: its messages and
// packet ids are guarded by broker_state::delivery_mutex(session), everything else by the broker
// state's lock.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "broker/broker_config.hpp"
#include "broker/message.hpp"
#include "broker/persistence.hpp"
#include "broker/shared_text.hpp"
#include "broker/striped_counter.hpp"
#include "mqtt/packet.hpp"

namespace broker {

struct connection_state;

// A PUBLISH (or, for QoS 2 after PUBREC, a PUBREL) the session's connection should write now.
struct outgoing_publish {
  message_ptr msg;
  mqtt::qos qos = mqtt::qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  bool pubrel = false;    // write PUBREL(packet_id) instead of the PUBLISH
  std::uint64_t seq = 0;  // the session's own order of messages, kept by durable storage
  // 5.0: the identifiers of every subscription of this session the message matched
  // [MQTT-3.3.4-3] [MQTT-3.3.4-5]; empty for most messages.
  std::vector<std::uint32_t> sub_ids;
  // The shared subscription it came through ("$share/<group>/<filter>"), empty for most.
  std::string share;
  // A retained message answering a SUBSCRIBE: charged to no budget (see session::enqueue).
  bool exempt = false;
};

// What one queued message costs a budget: its payload and topic, and the bookkeeping around them,
// so a flood of empty messages is bounded too.
std::size_t queue_cost(const message& m);

// The bytes queued in every session together, against max_total_buffer_bytes. Sessions on
// several threads charge it at once: the figures are atomic, and a check against them may be
// off by what other threads charge meanwhile (a few messages), which the limit's margin covers.
struct buffer_pool {
  // Charged by every publisher's thread, for every message queued: striped.
  striped_counter used;
  std::size_t limit = static_cast<std::size_t>(-1);  // set before any session exists
  // Sessions holding more than session.cpp's small_queue: the budget's fair share is the limit
  // divided among them.
  std::atomic<std::size_t> heavy{0};
};

// What every session of a broker shares, held by pointer (one instead of three in every
// session); it must outlive them.
struct session_context {
  const broker_config& limits;
  persistence* store = nullptr;  // durable storage; null for none
  buffer_pool* pool = nullptr;   // charged for what the sessions queue; null for none
};

enum class enqueue_result {
  queued,
  dropped_client_budget,  // QoS 0 for a connected client whose buffer is full
  dropped_total_budget,   // every session's buffers together are full
  dropped_offline,        // an offline session past max_queued_messages or max_queued_bytes
  // QoS 1/2 for a connected client past its budget: queued (it is never silently dropped for a
  // live client), and the client must be disconnected; its session keeps what fits offline.
  over_budget,
};

// What a session's connection allows the broker to send (5.0 CONNECT properties; 3.1.1 clients
// allow everything the broker's own limits allow).
struct send_limits {
  std::uint16_t receive_maximum = 65535;  // outgoing QoS 1/2 in flight [MQTT-3.3.4-9]
  std::uint32_t maximum_packet_size = 0;  // 0: no limit but the protocol's [MQTT-3.1.2-24]
  bool v5 = false;                        // PUBLISH carries properties
  bool topic_aliases = false;             // a PUBLISH may carry a topic alias property
};

// The size on the wire of a PUBLISH for `p` with its full topic name, properties included: an
// upper bound of what the connection sends (a topic alias only makes it smaller).
std::size_t publish_wire_size(const outgoing_publish& p, const send_limits& limits);

class session {
 public:
  // Session Expiry Interval [MQTT-3.1.2.11.2]: 0 ends the session with its connection,
  // 0xFFFFFFFF never ends it; a 3.1.1 persistent session (clean session 0) never expires.
  static constexpr std::uint32_t never_expires = 0xFFFFFFFF;

  // A session that outlives its connection (expiry > 0) reports every change of its QoS 1/2
  // state to the context's store once mark_persisted() was called.
  // `client_id` is shared with the connection that made the session: one copy of it for both.
  session(shared_text client_id, std::uint32_t expiry_interval, const session_context& context);
  session(std::string_view client_id, std::uint32_t expiry_interval, const session_context& context)
      : session(shared_text(client_id), expiry_interval, context) {}
  // The context is kept by pointer: a temporary one would be gone before the session.
  session(shared_text, std::uint32_t, session_context&&) = delete;
  session(std::string_view, std::uint32_t, session_context&&) = delete;
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  std::string_view client_id() const { return client_id_; }
  const shared_text& shared_client_id() const { return client_id_; }
  // Ends with its network connection.
  bool clean() const { return expiry_interval_ == 0; }
  std::uint32_t expiry_interval() const { return expiry_interval_; }
  void set_expiry_interval(std::uint32_t seconds) { expiry_interval_ = seconds; }
  // Durable storage holds this session: changes go there until it ends.
  bool persisted() const { return persisted_; }
  void mark_persisted() { persisted_ = true; }
  // While offline: when a finite session expiry ends it; no_end otherwise (online, or a
  // session that never expires). A sentinel, not an optional: 8 bytes less for every session.
  static constexpr std::chrono::steady_clock::time_point no_end =
      std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point ends_at = no_end;

  void set_send_limits(const send_limits& l) { send_limits_ = l; }
  const send_limits& limits_of_client() const { return send_limits_; }
  // The user the session's current (or last) connection logged in as; access control uses it.
  // Empty when the client gave none.
  std::string_view username() const { return username_; }
  void set_username(shared_text name) { username_ = std::move(name); }
  // The session of a bridge's internal connection (see transport_link::internal()).
  bool bridge() const { return bridge_; }
  void set_bridge(bool bridge) { bridge_ = bridge; }

  using subscription_map = std::map<std::string, mqtt::subscription, std::less<>>;
  // By filter; empty until the first SUBSCRIBE (the map is made then: many clients never
  // subscribe, and an empty std::map is 48 bytes).
  const subscription_map& subscriptions() const {
    static const subscription_map none;
    return subscriptions_ ? *subscriptions_ : none;
  }
  // Adds the subscription, or replaces the one with its filter.
  void set_subscription(const mqtt::subscription& sub) {
    if (!subscriptions_) subscriptions_ = std::make_unique<subscription_map>();
    (*subscriptions_)[sub.filter] = sub;
  }
  void erase_subscription(std::string_view filter) {
    if (!subscriptions_) return;
    if (auto it = subscriptions_->find(filter); it != subscriptions_->end()) {
      subscriptions_->erase(it);
    }
  }
  void clear_subscriptions() { subscriptions_.reset(); }

  // Connected (live) sessions are bounded by max_client_buffer_bytes; offline ones by
  // max_queued_messages and max_queued_bytes. Going offline trims the queue to the offline
  // limits and returns how many messages that dropped.
  void set_live() {
    live_ = true;
    over_budget_ = false;
    drop_noticed_ = false;  // a new connection, a new episode worth one log line
    // A client that comes back to a session with a backlog (max_queued_bytes may exceed its
    // budget) gets room for it on top of its budget: the backlog stays charged while in flight,
    // and the next QoS 1 message would otherwise disconnect it again.
    live_limit_ = context_->limits.max_client_buffer_bytes + queued_bytes_;
  }
  std::size_t go_offline();
  bool live() const { return live_; }

  // Queues a message for delivery; see enqueue_result. Offline, past the limits the oldest
  // queued QoS 0 message makes room, else the new message is dropped.
  // `exempt_up_to`: for retained messages answering a SUBSCRIBE, which must all be sent
  // [MQTT-3.8.4-3], the retained store's size. They are shared with the store and charged to no
  // budget while fewer than that many exempt ones wait: every retained message once. Copies
  // beyond (a client repeating SUBSCRIBE without reading) are charged like any message.
  enqueue_result enqueue(message_ptr msg, mqtt::qos q, bool retain, std::size_t exempt_up_to = 0,
                         std::vector<std::uint32_t> sub_ids = {}, std::string_view share = {});
  // The session ends: removes and returns its QoS 1/2 messages of shared subscriptions not yet
  // acknowledged (PUBREC counts as acknowledged), for another member to get [MQTT-4.8.2-5].
  std::vector<outgoing_publish> take_shared();
  // Removes the queued and in-flight messages `may_read(message)` refuses, and returns how many:
  // a session resumed under another user keeps only what that user may read. A QoS 2 message
  // already released (PUBREC received) stays: only its PUBREL is left to send. One sent but not
  // released is not sent again, but goes on as released: the client may hold its packet id
  // until a PUBREL, and the id is reused only after PUBCOMP [MQTT-4.3.3].
  template <typename MayRead>
  std::size_t drop_unreadable(MayRead&& may_read);
  // Whether anything is ready for take_sendable().
  bool has_sendable() const;
  // Moves what may be written now into `out`: retransmissions first, then queued messages while
  // the in-flight window has room; stops after about `byte_budget` payload bytes.
  void take_sendable(std::vector<outgoing_publish>& out, std::size_t byte_budget);

  // A new connection resumed this session: everything in flight is sent again, PUBLISH with DUP
  // set, PUBREL as it was [MQTT-4.4.0-1].
  void prepare_resend();

  // Acknowledgements from the client for outgoing messages. false: no such message in flight.
  bool on_puback(std::uint16_t id);
  // A 5.0 PUBREC with a reason code of 0x80 or more ends the exchange and frees the message.
  bool on_pubrec(std::uint16_t id, std::uint8_t reason_code = 0);
  bool on_pubcomp(std::uint16_t id);

  // Incoming QoS 2: packet ids received (PUBREC sent) and not yet released by PUBREL.
  // Returns false when the id was already there: a duplicate that must not be delivered again.
  bool remember_incoming_qos2(std::uint16_t id);
  void release_incoming_qos2(std::uint16_t id);

  // Tells durable storage to forget every message and packet id of this session.
  void forget_all();
  // Puts back a delivery read from durable storage; call in `seq` order, before any traffic.
  void restore_delivery(const stored_delivery& d);
  void restore_incoming_qos2(std::uint16_t id) { incoming().insert(id); }
  bool has_incoming_qos2(std::uint16_t id) const {
    return incoming_qos2_ && incoming_qos2_->count(id) != 0;
  }
  std::size_t incoming_qos2_count() const { return incoming_qos2_ ? incoming_qos2_->size() : 0; }

  std::size_t queued() const { return queue_ ? queue_->size() : 0; }
  // What the queue and the messages in flight cost their budgets (queue_cost() of each but
  // exempt ones).
  std::size_t queued_bytes() const { return queued_bytes_; }
  std::size_t inflight() const { return inflight_ ? inflight_->size() : 0; }
  std::uint64_t dropped() const { return dropped_; }
  // True once per session, the first time something is dropped: log then, not every time.
  bool take_first_drop_notice();

  // The live connection, or null while offline. Guarded by the broker state's lock.
  connection_state* owner = nullptr;

 private:
  struct inflight_entry {
    outgoing_publish publish;
    bool released = false;  // PUBREC received, PUBREL sent: waiting for PUBCOMP
    bool pending = true;    // to be written (first time, or again after a reconnect)
  };
  std::uint16_t next_packet_id();
  bool durable() const { return context_->store && persisted_; }
  std::size_t window() const;
  // No room in flight for a QoS 1/2 message costing `next_cost` (queue_cost()).
  bool window_full(std::size_t next_cost) const;
  // What the messages in flight weigh (payload, topic, properties) stops at this, past the first.
  static constexpr std::size_t inflight_byte_limit = 1024 * 1024;
  void store(const outgoing_publish& p, bool released);
  void forget(const outgoing_publish& p);
  inflight_entry* find_inflight(std::uint16_t id);
  void erase_inflight(std::uint16_t id);

  // The small fields sit together, so that no padding sits between them: every session, of
  // every idle client, carries one of these.
  shared_text client_id_;
  std::uint32_t expiry_interval_;
  std::uint16_t last_packet_id_ = 0;
  bool persisted_ = false;
  bool bridge_ = false;
  bool live_ = false;
  bool over_budget_ = false;  // disconnect pending: offline limits apply already
  bool drop_noticed_ = false;
  // What the messages in flight weigh (queue_cost(), exempt ones too), below 1 MiB + one
  // message: each is at most a few times max_packet_size, so 32 bits hold it.
  std::uint32_t inflight_bytes_ = 0;
  send_limits send_limits_;
  // What the charged messages in flight cost: the part of queued_bytes_ the offline limits
  // leave out. At most inflight_bytes_.
  std::uint32_t inflight_cost_ = 0;
  shared_text username_;
  const session_context* context_;
  std::uint64_t next_seq_ = 1;
  std::unique_ptr<subscription_map> subscriptions_;
  // Built on first use: libstdc++ allocates a deque's first block eagerly, and most sessions
  // (idle sensors) never queue anything.
  std::deque<outgoing_publish>& queue();
  void push(outgoing_publish p);
  void charge(const outgoing_publish& p);
  void refund(const outgoing_publish& p);
  // An in-flight message leaves: what it cost its budgets is given back.
  void uncharge_inflight(const outgoing_publish& p);
  // Tells the pool the queue went from `before` to `after` bytes.
  void settle(std::size_t before, std::size_t after);
  bool offline_full(std::size_t cost) const;
  enqueue_result enqueue_offline(outgoing_publish p);
  std::unique_ptr<std::deque<outgoing_publish>> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t live_limit_ = 0;
  // In the order first sent [MQTT-4.6.0-1]. A deque: the oldest leaves first, without moving
  // the rest; built on first use, like the queue.
  std::deque<inflight_entry>& inflight_list();
  std::unique_ptr<std::deque<inflight_entry>> inflight_;
  // Bounded by the in-flight window (at most 65535 packet ids), and the exempt ones by the
  // retained store's size (exempt_up_to), far below 2^32: 32 bits each, side by side.
  std::uint32_t pending_inflight_ = 0;
  std::uint32_t exempt_queued_ = 0;  // queued retained messages charged to no budget
  // Built on first use too: only QoS 2 publishers ever need it.
  std::unordered_set<std::uint16_t>& incoming();
  std::unique_ptr<std::unordered_set<std::uint16_t>> incoming_qos2_;
  std::uint64_t dropped_ = 0;
};

template <typename MayRead>
std::size_t session::drop_unreadable(MayRead&& may_read) {
  std::size_t dropped = 0;
  if (inflight_) {
    for (auto it = inflight_->begin(); it != inflight_->end();) {
      if (it->released || may_read(*it->publish.msg)) {
        ++it;
        continue;
      }
      ++dropped;
      if (it->publish.qos == mqtt::qos::exactly_once) {
        it->released = true;  // PUBREL, then PUBCOMP, free the id; the message is not resent
        store(it->publish, true);
        ++it;
        continue;
      }
      if (it->pending) --pending_inflight_;
      forget(it->publish);
      uncharge_inflight(it->publish);
      it = inflight_->erase(it);
    }
  }
  if (queue_) {
    for (auto it = queue_->begin(); it != queue_->end();) {
      if (may_read(*it->msg)) {
        ++it;
        continue;
      }
      refund(*it);
      forget(*it);
      it = queue_->erase(it);
      ++dropped;
    }
  }
  dropped_ += dropped;
  return dropped;
}

}  // namespace broker
