#pragma once
// The state of one network connection, shared between the connection (its own thread) and the
// broker state (any thread, under its lock). Fields marked [locked] are written only with
// broker_state's lock held exclusively, and read with it held at least shared; the rest belong
// to the connection's own thread, or are atomic.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/authenticator.hpp"
#include "broker/shared_text.hpp"
#include "broker/topic_levels.hpp"
#include "broker/transport_link.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/packet_reader.hpp"

namespace broker {

class broker_state;
class session;

// A CONNECT the login throttle holds back (login_throttle.hpp): waiting to be checked, or
// checked and refused, its refusal waiting. Nothing waits on a thread: the connection's timer
// brings it back at `until`.
struct held_login {
  credentials who;
  std::shared_ptr<mqtt::connect_packet> connect;
  bool assigned_id = false;
  bool keep_alive_cut = false;
  std::optional<auth_result> refusal;  // set: checked and refused, sent at `until`
  std::chrono::steady_clock::time_point until{};
  bool counted = false;  // in $SYS/broker/limits/logins/throttled, once per attempt
};

// The listener kinds (and a bridge's own connection): a connection names its kind by its index
// here, one byte, without a string of its own. Others count as "mqtt".
inline constexpr const char* transport_names[] = {"mqtt", "ws", "mqtts", "wss", "bridge"};
inline std::uint8_t transport_index(std::string_view kind) {
  for (std::uint8_t i = 1; i < std::size(transport_names); ++i) {
    if (kind == transport_names[i]) return i;
  }
  return 0;
}

// What few connections need, in one block made on first use: an idle connection carries one
// pointer for all of it.
struct connection_extras {
  // [locked] published if the connection ends without DISCONNECT [MQTT-3.1.2-8]. Other threads
  // take it (a takeover) under broker_state's lock; the rest of the block is the connection's
  // own.
  std::unique_ptr<mqtt::will_message> will;
  std::unique_ptr<held_login> held;  // while the login throttle holds the CONNECT
  // 5.0 topic aliases, each table built on first use: the one the client may fill holds Topic
  // Alias Maximum + 1 strings. The client's: topic alias -> topic name.
  std::unique_ptr<std::vector<std::string>> aliases_in;
  // Ours, towards the client.
  std::unique_ptr<std::unordered_map<std::string, std::uint16_t, level_hash, std::equal_to<>>>
      aliases_out;
  // Why the broker ended the connection, for the log; set only then.
  std::unique_ptr<std::string> close_reason;
  // What this connection's unfinished packet adds to limit_counters::input_bytes.
  std::size_t input_counted = 0;
};

struct connection_state {
  using clock = std::chrono::steady_clock;

  connection_state(broker_state& b, transport_link& l, std::string address,
                   std::size_t max_packet_size, std::string_view kind = "mqtt")
      : broker(b),
        link(&l),
        remote_address(std::move(address)),
        reader(max_packet_size),
        transport_kind(transport_index(kind)),
        internal(l.internal()) {}

  // The fields are ordered by size, the small ones together at the end, so that no padding
  // sits between them: every idle connection carries one of these.

  broker_state& broker;

  // [locked] null once the transport is gone: nothing may wake or post to it after that.
  transport_link* link;
  // [locked] the session this connection serves, null before CONNACK and after a takeover.
  session* attached = nullptr;
  // PUBLISH packets in from the client and out to it; read from other threads for the web UI.
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};

  std::string remote_address;
  // Shared with the session (shared_text.hpp): one heap copy of a long client id, not two.
  shared_text client_id;
  shared_text username;  // has_value(): the client gave one
  mqtt::packet_reader reader;
  std::string control_out;  // acknowledgements and other replies, already encoded
  // One field for two times, neither read in the other's time. Until CONNACK: when the
  // connection opened (the CONNECT deadline counts from it). From then on, [locked]: when
  // CONNACK accepted it (the web UI shows it); broker_state::attach() sets it with the session's
  // owner, and the web UI reads it only for a session's owner.
  union since_time {
    clock::time_point opened;
    std::chrono::system_clock::time_point connected_at;
  } since{clock::now()};
  clock::time_point last_received = clock::now();

  // The extras block (connection_extras), made on first use by the connection's own thread.
  // Atomic: another thread may look for a will in it (under broker_state's lock) meanwhile.
  connection_extras* extras() const { return extras_.load(std::memory_order_acquire); }
  connection_extras& more() {
    connection_extras* e = extras();
    if (!e) {
      e = new connection_extras();
      extras_.store(e, std::memory_order_release);
    }
    return *e;
  }
  held_login* held() const {
    const connection_extras* e = extras();
    return e ? e->held.get() : nullptr;
  }
  // [locked] The will, taken out of the connection; null when there is none.
  std::unique_ptr<mqtt::will_message> take_will() {
    connection_extras* e = extras();
    return e ? std::move(e->will) : nullptr;
  }
  // The listener's kind, or "bridge".
  const char* transport() const { return transport_names[transport_kind]; }

  ~connection_state() { delete extras(); }
  connection_state(const connection_state&) = delete;
  connection_state& operator=(const connection_state&) = delete;

  // A shared_ptr to this state that shares the ownership of what holds the connection
  // (transport_link::lifetime()): weak references to it need no control block of its own. Only
  // on the connection's own thread while the transport is there (link is set).
  std::shared_ptr<connection_state> shared() { return {link->lifetime(), this}; }

  // 5.0 (left at these values for 3.1 / 3.1.1):
  std::uint32_t session_expiry = 0;     // as the CONNECT (or a later DISCONNECT) set it
  std::uint32_t client_max_packet = 0;  // the client's Maximum Packet Size; 0 = none
  std::uint16_t client_alias_max = 0;   // the client's Topic Alias Maximum
  std::uint16_t incoming_unacked = 0;   // QoS 1/2 received and not yet acknowledged
  std::uint16_t keep_alive = 0;

  enum class phase : std::uint8_t { awaiting_connect, authenticating, connected, closing, closed };
  phase stage = phase::awaiting_connect;
  mqtt::protocol_version version = mqtt::protocol_version::v3_1_1;
  const std::uint8_t transport_kind;  // an index of transport_names
  // A bridge's connection inside the process (transport_link::internal()).
  const bool internal;
  // Another connection took the client id over [MQTT-3.1.4-2]: close. Set under the broker
  // state's exclusive lock; atomic so that a connection whose write is stuck notices it
  // without the lock (notice_close_requests()).
  std::atomic<bool> taken_over{false};
  // Set from any thread (the web UI's "disconnect"): the connection closes on its own thread at
  // its next output, as if its network connection had dropped (the will is published).
  std::atomic<bool> disconnect_requested{false};
  // QoS 1/2 messages past the client's output budget: disconnect it. Set by publishers on any
  // thread.
  std::atomic<bool> over_budget{false};
  std::uint8_t disconnect_code = 0;  // the reason of a server DISCONNECT, 0 for none
  // One byte for the three, which only the connection's own thread touches (a bit-field shares
  // its memory location with its neighbours: nothing another thread reads may be among them).
  bool connack_sent : 1 = false;  // 5.0: a server DISCONNECT is only sent after CONNACK
  bool disconnect_received : 1 = false;
  bool announced : 1 = false;  // the "connected" line was logged, so a "disconnected" one follows

 private:
  std::atomic<connection_extras*> extras_{nullptr};
};

}  // namespace broker
