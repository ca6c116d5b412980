#pragma once
// Everything connections share: sessions by client id, the subscription tree, retained messages,
// counters. Held only for in-memory work, never across I/O; a connection is woken through
// transport_link::wake(), which only posts.
//
// Locking, so that I/O threads publishing at once do not wait for each other:
// - mutex_ (rw_lock.hpp), taken shared by the hot paths (publish, acknowledgements, output) and
//   exclusively by whatever changes the structure: the session map, the subscription tree and
//   shared groups, which connection owns which session, wills, session expiry. Under the
//   exclusive lock everything below is free to touch without its own lock.
// - delivery_mutex(session), for a session's queue and in-flight messages (session.hpp): a
//   publisher's thread and the session's own connection change them at once. One of a fixed set
//   of stripes, so an idle session carries no mutex of its own; never two held at a time, so two
//   sessions sharing a stripe only ever wait for each other briefly.
// - retained_mutex_ and monitor_mutex_: the retained store and the web UI's topic monitor, always
//   (they are read without mutex_ too).
// - shared_pick_mutex_ and random_mutex_: the shared groups' turns and the client id generator.
// Order: mutex_, then retained_mutex_, then one delivery_mutex(session); the others are taken
// last and alone. Functions named *_locked need mutex_ held, shared at least; the ones that need
// it exclusively say so.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/authenticator.hpp"
#include "broker/authorizer.hpp"
#include "broker/broker_config.hpp"
#include "broker/client_info.hpp"
#include "broker/connection_state.hpp"
#include "broker/episode_gate.hpp"
#include "broker/event_log.hpp"
#include "broker/limit_counters.hpp"
#include "broker/logger.hpp"
#include "broker/message.hpp"
#include "broker/persistence.hpp"
#include "broker/retained_store.hpp"
#include "broker/rw_lock.hpp"
#include "broker/session.hpp"
#include "broker/striped_counter.hpp"
#include "broker/subscription_tree.hpp"
#include "broker/topic_monitor.hpp"

namespace broker {

struct broker_counters {
  // Changed for every message, by every I/O thread: striped.
  striped_counter messages_received;
  striped_counter messages_sent;
  striped_counter bytes_received;
  striped_counter bytes_sent;
  std::atomic<std::uint64_t> publish_dropped{0};
  std::atomic<std::uint64_t> clients_connected{0};
  limit_counters limits;
};

// What take_output() tells the connection.
enum class output_status {
  open,
  taken_over,   // another connection took the client id over [MQTT-3.1.4-2]: close
  over_budget,  // QoS 1/2 past the client's budget: disconnect, the session keeps them
};

// A seed for a broker's generator of client ids: the operating system is asked once per process
// (opening it costs more than a whole fuzz input), later brokers get distinct steps from there.
std::uint64_t fresh_seed();

class broker_state {
 public:
  broker_state(broker_config config, authenticator& auth, logger& log, const authorizer* acl,
               persistence* store);
  ~broker_state();

  const broker_config& config() const { return config_; }
  authenticator& auth() { return auth_; }
  logger& log() { return log_; }
  broker_counters& counters() { return counters_; }
  event_log& events() { return events_; }
  limit_episodes& episodes() { return episodes_; }
  login_throttle& throttle() { return throttle_; }

  // An authenticated CONNECT: takes over a connection with the same client id [MQTT-3.1.4-2],
  // resumes or starts the session [MQTT-3.1.2-4] [MQTT-3.1.2-6], and keeps the will.
  // Returns whether a session was resumed (CONNACK session present [MQTT-3.2.2-2]), or nullopt
  // when a new session would pass max_sessions: then nothing is attached and the connection is
  // to be refused. The session's expiry is conn.session_expiry; what the client allows the
  // broker to send (Receive Maximum, Maximum Packet Size, topic aliases) comes from `limits`.
  std::optional<bool> attach(connection_state& conn, bool clean_start,
                             std::optional<mqtt::will_message> will, const send_limits& limits);
  // The connection is gone: publishes its will unless it said DISCONNECT, ends a clean session,
  // and forgets the transport.
  void detach(connection_state& conn);
  // The client sent DISCONNECT: its will is discarded [MQTT-3.14.4-3].
  void discard_will(connection_state& conn);
  // 5.0 DISCONNECT with a Session Expiry Interval [MQTT-3.14.2.2.2].
  void set_session_expiry(connection_state& conn, std::uint32_t seconds);

  // Routes a message to every matching subscription and keeps it if it is retained. `from` is
  // the publishing connection (for No Local), or null. Returns how many sessions it went to.
  std::size_t publish(message_ptr msg, const connection_state* from = nullptr);

  // The local client ids of the configured bridges: only a bridge's internal connection may use
  // them, and their sessions (also one restored from disk before the bridge connects) are
  // bridge sessions. Call at start-up.
  void reserve_bridge_client_ids(std::vector<std::string> ids);
  bool is_bridge_client_id(std::string_view client_id) const;
  // Whether this connection's user may publish to `topic`: access control, and $SYS is the
  // broker's own.
  bool may_publish(const connection_state& conn, std::string_view topic) const;

  // Returns the SUBACK return (reason) codes; queues matching retained messages
  // [MQTT-3.8.4-3] as the subscription's Retain Handling says.
  std::vector<std::uint8_t> subscribe(connection_state& conn,
                                      const std::vector<mqtt::subscription>& subs);
  // Returns the 5.0 UNSUBACK reason code of each filter: success or no subscription existed.
  std::vector<std::uint8_t> unsubscribe(connection_state& conn,
                                        const std::vector<std::string>& filters);

  // Outgoing QoS acknowledgements from the client; false when nothing matched. `reason_code`:
  // the 5.0 reason code of the acknowledgement (0 for 3.1.1).
  bool on_ack(connection_state& conn, mqtt::packet_type type, std::uint16_t id,
              std::uint8_t reason_code = 0);
  // Incoming QoS 2: false when `id` is already awaiting PUBREL (a duplicate, not delivered again).
  bool remember_incoming_qos2(connection_state& conn, std::uint16_t id);
  void release_incoming_qos2(connection_state& conn, std::uint16_t id);
  // Whether `id` awaits PUBREL, and how many do.
  bool has_incoming_qos2(connection_state& conn, std::uint16_t id);
  std::size_t incoming_qos2_count(connection_state& conn);

  // Ends offline sessions whose expiry passed and publishes delayed wills that are due. Call
  // about once a second.
  void expire(std::chrono::steady_clock::time_point now);

  // What the connection should write now, and whether it must close.
  output_status take_output(connection_state& conn, std::vector<outgoing_publish>& out,
                            std::size_t byte_budget);

  // Runs `fn` on the connection's own thread, unless its transport is already gone.
  void post_to(const std::shared_ptr<connection_state>& conn, std::function<void()> fn);

  std::string assign_client_id();

  // Strict durability: runs `fn` on the connection's thread once every change so far is on
  // disk; without persistence, at once.
  void after_durable(const std::shared_ptr<connection_state>& conn, std::function<void()> fn);

  // Start-up: state read back from durable storage, before any connection exists. These do not
  // write it back.
  void restore_retained(message_ptr msg);
  // `expiry_interval` and `ended_at` as session_expiry_stored() wrote them (never_expires and
  // nullopt for sessions stored without them).
  void restore_session(const std::string& client_id, const std::string& username,
                       const std::vector<mqtt::subscription>& subs,
                       const std::vector<stored_delivery>& deliveries,
                       const std::vector<std::uint16_t>& incoming_qos2,
                       std::uint32_t expiry_interval = session::never_expires,
                       std::optional<std::chrono::system_clock::time_point> ended_at = {});

  // $SYS/broker/... statistics, retained, like Mosquitto's.
  void publish_sys(std::chrono::steady_clock::time_point now);

  // The web UI's views and actions (broker_core.hpp describes them).
  std::vector<client_info> clients(std::size_t limit) const;
  std::vector<std::string> subscription_filters(std::string_view client_id) const;
  connection_totals totals() const;
  std::uint64_t clients_version() const { return clients_version_.load(); }
  topic_query_result topics(const topic_query& q) const;
  std::uint64_t topics_version() const;
  topic_monitor_figures monitor_figures() const;
  void watch(std::chrono::steady_clock::time_point now);
  void unwatch_if_idle(std::chrono::steady_clock::time_point now);
  std::optional<topic_entry> topic(std::string_view name) const;
  bool request_disconnect(std::string_view client_id);

  std::size_t retained_count() const;
  std::size_t subscription_count() const;
  std::size_t session_count() const;
  // Bytes queued in every session together (buffer_pool::used).
  std::size_t buffered_bytes() const;

 private:
  std::size_t route_locked(const message_ptr& msg, const session* from = nullptr);
  // The stripe guarding the delivery state of `s`.
  std::mutex& delivery_mutex(const session& s) const {
    const auto at = reinterpret_cast<std::uintptr_t>(&s) / alignof(std::max_align_t);
    return delivery_stripes_[at % delivery_stripes_.size()].mutex;
  }
  // Calls fn(session*) with mutex_ shared and the session's delivery mutex held; with null when
  // the connection serves no session.
  template <typename Fn>
  auto with_delivery(connection_state& conn, Fn&& fn) -> decltype(fn(nullptr));
  // `on_subscribe`: a retained message answering a SUBSCRIBE (RETAIN set, not limited by the
  // queue, see session::enqueue).
  // `share`: the shared subscription ("$share/<group>/<filter>") it came through, if any.
  void deliver_locked(session& s, const message_ptr& msg, mqtt::qos q, bool retain,
                      bool on_subscribe, std::vector<std::uint32_t> sub_ids = {},
                      std::string_view share = {});
  // Shared subscriptions [MQTT-4.8.2]: each message of a group goes to one member, in turn.
  struct shared_member {
    session* s;
    mqtt::subscription options;
  };
  struct shared_group {
    std::string filter;  // without the "$share/<group>/" prefix
    std::vector<shared_member> members;
    std::size_t next = 0;
  };
  // A session's subscriptions live in three places, kept together by these three functions only:
  // the routing (tree or shared group), the session's own map, and durable storage for a
  // persisted session (not written back while `restoring` from it). Exclusive.
  // Returns whether the routing is new (Retain Handling 1 [MQTT-3.3.1-10]).
  bool add_subscription_locked(session& s, const mqtt::subscription& sub, bool restoring = false);
  // Returns whether the session had it.
  bool remove_subscription_locked(session& s, std::string_view filter);
  void remove_all_subscriptions_locked(session& s, bool restoring = false);
  // The bound a new subscription of `s` to `filter` would pass (its name, for the log), or null
  // when it fits or replaces one the session has. Shared or exclusive.
  const char* subscription_bound_locked(const session& s, std::string_view filter) const;
  // Counts a refusal by one of the bounds on what clients make the broker keep, and logs the
  // first of an episode; `counted_in`: the $SYS/broker/limits/<counted_in>/refused topic.
  void note_refusal(std::atomic<std::uint64_t>& counter, episode_gate& gate,
                    std::string_view client_id, std::string_view counted_in,
                    const std::string& what);
  // The routing alone: into the subscription tree, or into its shared group; whether it is new.
  bool route_subscription_locked(session& s, const mqtt::subscription& sub);
  void unroute_subscription_locked(session& s, std::string_view filter);
  // The member that gets the next message of `q`, or null when none can take it. Exclusive, or
  // shared with shared_pick_mutex_.
  shared_member* pick_member_locked(shared_group& g, mqtt::qos q);
  // `first`: the session's first drop (session::take_first_drop_notice), worth a log line.
  void count_drop(const session& s, enqueue_result why, bool first);
  // Exclusive, like the other changes of the structure below.
  void end_session_locked(session& s);
  void store_expiry_locked(const session& s,
                           std::optional<std::chrono::system_clock::time_point> ended_at);
  // A will whose Will Delay Interval has not passed [MQTT-3.1.3-9].
  struct delayed_will {
    std::chrono::steady_clock::time_point due;
    shared_text username;
    mqtt::will_message will;
  };
  void publish_or_delay_will_locked(const connection_state& conn, mqtt::will_message will,
                                    const session* survivor);
  bool may_publish(std::string_view client_id, std::string_view username,
                   std::string_view topic) const;
  void publish_will_locked(std::string_view client_id, std::string_view username,
                           mqtt::will_message will);

  broker_config config_;
  authenticator& auth_;
  const authorizer* acl_;
  persistence* store_;
  logger& log_;
  broker_counters counters_;
  event_log events_;
  // Bumped whenever a client connects or goes: the UI fetches the list again then.
  std::atomic<std::uint64_t> clients_version_{0};
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  mutable rw_lock mutex_;
  mutable std::mutex retained_mutex_;
  mutable std::mutex monitor_mutex_;
  struct alignas(64) delivery_stripe {  // one cache line each: stripes held by different
    std::mutex mutex;                   // threads do not share a line
  };
  mutable std::array<delivery_stripe, 61> delivery_stripes_;  // prime: addresses spread evenly
  std::mutex shared_pick_mutex_;
  std::mutex random_mutex_;
  buffer_pool pool_;  // before sessions_: they give their bytes back to it when destroyed
  // What every session points to (after config_, store_ and pool_, before sessions_).
  const session_context session_context_{config_, store_, &pool_};
  // By the session's own client id, found with a string_view: the id is not kept a second time,
  // and a node holds the pointer alone (a 32-byte malloc chunk; a map keyed by a view of the id
  // took 48 for every session).
  struct session_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
    std::size_t operator()(const std::unique_ptr<session>& s) const {
      return (*this)(s->client_id());
    }
  };
  struct session_equal {
    using is_transparent = void;
    static std::string_view id(std::string_view id) { return id; }
    static std::string_view id(const std::unique_ptr<session>& s) { return s->client_id(); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return id(a) == id(b);
    }
  };
  std::unordered_set<std::unique_ptr<session>, session_hash, session_equal> sessions_;
  std::unordered_map<std::string, delayed_will, level_hash, std::equal_to<>> delayed_wills_;
  std::map<std::string, shared_group, std::less<>> shared_;  // by "$share/<group>/<filter>"
  std::size_t shared_count_ = 0;                             // members of all groups
  std::vector<std::string> bridge_client_ids_;               // few: a linear search is fine
  subscription_tree subscriptions_;
  retained_store retained_;
  topic_monitor monitor_;
  // The monitor records only while someone watches (the web UI asked within ui_watch_linger):
  // a broker nobody looks at pays nothing per message for it.
  std::atomic<bool> monitoring_{false};
  std::chrono::steady_clock::time_point last_watched_{};
  std::mt19937_64 random_{fresh_seed()};
  limit_episodes episodes_;
  login_throttle throttle_{config_.login_throttle};
};

}  // namespace broker
