#pragma once
// One bridge without I/O: an MQTT client towards the remote broker (bytes in, bytes out, a
// deadline) joined to an internal connection into the local broker core, which takes the bridge
// for a client with the id `local_clientid` (transport_link::internal()).
//
// The engine relays rather than stores. Each direction keeps the packet identifiers of the side
// that chose them: a remote PUBLISH with id N enters the local core as PUBLISH N, and the local
// core's PUBACK N (or PUBREC N) goes back to the remote only then — so nothing is acknowledged to
// the remote before the local core has taken it; the local session's deliveries to the bridge
// keep their ids on the way out, and the remote's acknowledgement completes them locally. What
// waits for a remote that is down therefore waits in the bridge's local session: bounded,
// counted and on disk like any persistent session, and sent again on the next connection.
//
// The local connection lives as long as the remote one: it connects after the remote CONNACK
// (so the local session resends what was in flight) and ends when the remote connection ends.
//
// Everything runs on the one executor of the bridge (the transport's); the local core calls
// back only through transport_link::wake()/post(), which the transport turns into
// on_local_wake() calls there.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>

#include "bridge/bridge_settings.hpp"
#include "broker/broker_core.hpp"
#include "broker/connection.hpp"
#include "broker/transport_link.hpp"
#include "mqtt/packet_reader.hpp"

namespace bridge {

struct bridge_counters {
  std::uint64_t received = 0;   // messages from the remote into the local core
  std::uint64_t sent = 0;       // messages from the local core to the remote
  std::uint64_t unmapped = 0;   // messages that matched no topic line (dropped, acknowledged)
  std::uint64_t too_large = 0;  // past a 5.0 remote's Maximum Packet Size (dropped, acknowledged)
};

class bridge_engine {
 public:
  using clock = std::chrono::steady_clock;

  enum class phase { idle, awaiting_connack, connected, closing };

  // `local_link` carries the local connection's wake-ups (its internal() must be true).
  bridge_engine(const bridge_settings& settings, broker::broker_core& core,
                broker::transport_link& local_link);
  ~bridge_engine();
  bridge_engine(const bridge_engine&) = delete;
  bridge_engine& operator=(const bridge_engine&) = delete;

  // Before the first connection attempt: the local notification says 0, as Mosquitto's does once
  // per start, so a retained 1 left by a crash does not claim a connection that is not there.
  void start();
  // The transport reached the remote broker: queues CONNECT (with try_private when `try_private`).
  void on_remote_open(clock::time_point now, bool try_private);
  void on_remote_bytes(std::span<const std::uint8_t> bytes, clock::time_point now);
  // The remote connection is gone (after should_close(), an error or EOF): ends the local side.
  void on_remote_closed();
  // Appends what must be written to the remote.
  void take_remote_output(std::string& out);
  bool has_remote_output() const { return !remote_out_.empty(); }
  // Flush what take_remote_output() gave, then close the remote connection.
  bool should_close() const { return phase_ == phase::closing; }
  // Why the engine ended the connection, or empty.
  const std::string& close_reason() const { return close_reason_; }
  // When on_timer() must run: the CONNACK deadline, the next PINGREQ, the PINGRESP deadline.
  clock::time_point deadline() const;
  void on_timer(clock::time_point now);
  // The local core has output for the bridge (after transport_link::wake()), or a remote write
  // finished and there is room again.
  void on_local_wake();
  // Clean stop: the notification says 0, DISCONNECT goes out, then should_close().
  void shut_down();

  phase current_phase() const { return phase_; }
  // The remote refused the protocol level (try_private is not understood everywhere).
  bool refused_protocol() const { return refused_protocol_; }
  const bridge_counters& counters() const { return counters_; }
  const bridge_settings& settings() const { return settings_; }
  // What owns the local connection, for local_link's transport_link::lifetime(); empty while
  // there is none.
  std::shared_ptr<void> local_lifetime() const { return local_; }

 private:
  void handle_remote(mqtt::packet& p);
  void handle_connack(const mqtt::connack_packet& c);
  void handle_remote_publish(mqtt::publish_packet& p);
  void handle_local(mqtt::packet& p);
  void handle_local_publish(mqtt::publish_packet& p);
  // The local connection, for as long as the remote one: connect_local() opens it (CONNECT,
  // SUBSCRIBE to the lines sent out) and says 1; close_local() says 0 and ends it.
  void connect_local();
  void open_local();
  void close_local();
  void end_local();
  void feed_local();
  void pull_local();
  // A local message for the remote, within what the remote's CONNACK allows.
  void forward_to_remote(mqtt::publish_packet p);
  // Sends messages that waited for room under the remote's Receive Maximum.
  void release_waiting();
  // Completes a local delivery here, for a message that does not go to the remote as it is.
  void ack_locally(mqtt::qos q, std::uint16_t packet_id);
  void send_remote(const mqtt::packet& p);
  void send_local(const mqtt::packet& p);
  void close_remote(std::string reason);
  void log(broker::log_level level, const std::string& text);

  const bridge_settings& settings_;
  broker::broker_core& core_;
  broker::transport_link& local_link_;
  phase phase_ = phase::idle;
  std::string close_reason_;
  bool refused_protocol_ = false;

  mqtt::packet_reader remote_reader_;
  std::string remote_out_;
  clock::time_point connect_started_{};
  clock::time_point last_sent_{};
  clock::time_point ping_sent_{};
  bool ping_outstanding_ = false;
  std::uint16_t next_subscribe_id_ = 0;

  std::shared_ptr<broker::connection> local_;
  std::unique_ptr<mqtt::packet_reader> local_reader_;
  std::string local_in_;  // packets for the local core, encoded, fed in one go
  // Remote QoS 2 publishes relayed into the local core and not yet released: when the remote
  // starts a new session they are released locally, so their ids can be used again.
  std::unordered_set<std::uint16_t> in_qos2_;
  // Local QoS 2 deliveries that matched no topic line and were acknowledged here.
  std::unordered_set<std::uint16_t> self_acked_qos2_;

  // What a 5.0 remote's CONNACK allows this client to send; 3.1.1 remotes have no such limits.
  struct remote_limits {
    std::uint16_t receive_maximum = 65535;  // QoS 1/2 publishes unacknowledged [MQTT-3.3.4-7]
    std::uint32_t maximum_packet_size = 0;  // 0: none [MQTT-3.2.2-15]
    mqtt::qos maximum_qos = mqtt::qos::exactly_once;  // [MQTT-3.2.2-11]
    bool retain_available = true;                     // [MQTT-3.2.2-14]
  };
  remote_limits remote_limits_;
  // Ids of QoS 1/2 publishes sent to the remote and not completed yet (PUBACK, PUBCOMP, or a
  // PUBREC with a failure code), counted against receive_maximum.
  std::unordered_set<std::uint16_t> remote_inflight_;
  // Local messages waiting for room under receive_maximum; at most the local session's own
  // in-flight window, since the local core sends no more before they are acknowledged.
  std::deque<mqtt::publish_packet> waiting_for_room_;
  // Local QoS 2 deliveries sent at QoS 1 (the remote's Maximum QoS): the remote's PUBACK
  // becomes the local PUBREC.
  std::unordered_set<std::uint16_t> downgraded_qos2_;
  bool warned_too_large_ = false;
  bridge_counters counters_;
};

}  // namespace bridge
