#pragma once
// The broker's shared state: sessions, subscriptions, retained messages, statistics. Free of I/O.
// Thread-safe: connections on any I/O thread call into it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/authenticator.hpp"
#include "broker/authorizer.hpp"
#include "broker/broker_config.hpp"
#include "broker/client_info.hpp"
#include "broker/episode_gate.hpp"
#include "broker/event_log.hpp"
#include "broker/limit_counters.hpp"
#include "broker/logger.hpp"
#include "broker/persistence.hpp"
#include "broker/topic_monitor.hpp"

namespace broker {

struct broker_stats {
  std::uint64_t clients_connected = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t publish_dropped = 0;  // every message dropped for a client, by any limit
  std::uint64_t retained_messages = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t sessions = 0;
  limit_stats limits;  // which limit dropped or refused what
};

class broker_state;

class broker_core {
 public:
  // `acl` may be null: then every authenticated client may use every topic.
  // `store` may be null: then nothing survives a restart.
  broker_core(broker_config config, authenticator& auth, logger& log,
              const authorizer* acl = nullptr, persistence* store = nullptr);
  ~broker_core();
  broker_core(const broker_core&) = delete;
  broker_core& operator=(const broker_core&) = delete;

  // Call about once a second from any thread: ends expired sessions, sends delayed wills,
  // publishes $SYS/broker/... every sys_interval, and stops the topic monitor once nobody
  // watched it for ui_watch_linger.
  void tick(std::chrono::steady_clock::time_point now);

  // The local client ids of the configured bridges (see broker_state); call before clients
  // connect, best before the store is restored.
  void reserve_bridge_client_ids(std::vector<std::string> ids);
  // Start-up, before any connection: state read back from durable storage (storage::
  // state_loader calls these). Nothing is written back. `expiry_interval` and `ended_at` as
  // persistence::session_expiry_stored() wrote them (never_expires and nullopt for sessions
  // stored without them).
  void restore_retained(message_ptr msg);
  void restore_session(const std::string& client_id, const std::string& username,
                       const std::vector<mqtt::subscription>& subs,
                       const std::vector<stored_delivery>& deliveries,
                       const std::vector<std::uint16_t>& incoming_qos2,
                       std::uint32_t expiry_interval = never_expires,
                       std::optional<std::chrono::system_clock::time_point> ended_at = {});
  static constexpr std::uint32_t never_expires = 0xFFFFFFFF;  // session::never_expires

  // The filters of the session of `client_id` (none when it has no session): a bridge finds
  // what its persistent local session still holds from an earlier configuration.
  std::vector<std::string> subscription_filters(std::string_view client_id) const;

  // A retained $SYS entry from outside the core (a bridge's state). Like every $SYS entry it is
  // kept in memory only.
  void publish_sys_entry(std::string topic, std::string payload);
  // A bridge's connection notification (Mosquitto's "notifications"): retained, QoS 1, to a
  // topic the bridge's settings name ($SYS included), without access checks. A $SYS one stays
  // in memory like every $SYS entry; another is stored like any retained message.
  void publish_notification(std::string topic, std::string payload);

  broker_stats stats() const;
  const broker_config& config() const;
  logger& log();

  // What the web UI shows and does. Safe from any thread.
  // Clients with a session, connected or offline (persistent), at most `limit`.
  std::vector<client_info> clients(std::size_t limit) const;
  connection_totals totals() const;
  // Grows whenever a client connects or goes.
  std::uint64_t clients_version() const;
  topic_query_result topics(const topic_query& q) const;
  // The topic monitor's change number: grows with every message routed.
  std::uint64_t topics_version() const;
  // How full the topic monitor is (for /metrics).
  topic_monitor_figures monitor_figures() const;
  // Someone looks at the topic tree: the monitor starts (with every retained message) if it was
  // off, and records every routed message until config().ui_watch_linger passes without another
  // call; then tick() stops it and frees what it held.
  void watch();
  std::optional<topic_entry> topic(std::string_view name) const;
  event_log& events();
  // Closes the client's connection as if the network had dropped it (its will is published).
  // false when no client with that id is connected.
  bool disconnect(std::string_view client_id);
  // Publishes as the broker itself (no access control: whoever reaches the UI is the admin).
  // An empty string, or what is wrong with the topic, payload or QoS.
  std::string publish(std::string topic, std::string payload, int qos, bool retain);
  // Deletes the topic's retained message the way a client does: an empty retained message
  // [MQTT-3.3.1-10], which subscribers receive too. false when there was none.
  bool delete_retained(std::string_view topic);
  // The transport counts and refuses connections past max_connections here.
  limit_counters& limits();
  limit_episodes& episodes();

  // Used by connection; not for the transport.
  broker_state& state() { return *state_; }

 private:
  std::unique_ptr<broker_state> state_;
  std::mutex tick_mutex_;
  std::optional<std::chrono::steady_clock::time_point> last_sys_;
};

}  // namespace broker
