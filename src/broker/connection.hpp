#pragma once
// The Sans-I/O MQTT connection: bytes in, output and a close decision out. No sockets, no Asio.
// Every member but the constructor is called on the connection's own executor (one thread at a
// time); other connections reach it only through the broker core and transport_link::wake().
//
// Transport loop:
//   read -> on_bytes() -> take_output() -> write (gathered) -> ... ; wake() -> take_output() ->
//   write after a write completes, take_output() again (more may have queued meanwhile); once
//   should_close() and the output is flushed, close the socket, then on_closed(). Arm a timer for
//   deadline(); when it fires call on_timer(now).

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "broker/connection_state.hpp"
#include "broker/output_batch.hpp"
#include "broker/transport_link.hpp"

namespace broker {

class broker_core;

class connection {
 public:
  using clock = std::chrono::steady_clock;

  // `link` must answer lifetime() with what owns this connection (transport_link.hpp).
  // `transport`: the listener's kind (mqtt, ws, mqtts, wss), shown in the web UI and metrics.
  connection(broker_core& core, transport_link& link, std::string remote_address,
             std::string transport = "mqtt");
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void on_bytes(std::span<const std::uint8_t> bytes);
  // Appends everything waiting for the client to `out`. Call after on_bytes(), on wake(), and
  // after each write completes.
  void take_output(output_batch& out);
  // True once the connection must end: after flushing what take_output() gave, close the socket.
  bool should_close() const;
  // While a write is in flight and take_output() is not called (a client that stopped reading
  // may never let it finish): applies what ends the connection from outside (the web UI's
  // disconnect, a takeover, QoS 1/2 past its budget), so should_close() becomes true.
  void notice_close_requests();
  // Whether one of those waits; callable from any thread.
  bool close_requested() const;
  // The broker stops: a 5.0 client is told so with DISCONNECT 0x8B [MQTT-4.13.2-1]; then the
  // connection closes like after should_close().
  void shut_down();
  // The socket is gone (EOF, error, or closed after should_close()). Publishes the will unless
  // the client sent DISCONNECT. Idempotent.
  void on_closed();

  // When on_timer() must run next: the CONNECT deadline, then 1.5x the keep-alive
  // [MQTT-3.1.2-24]. clock::time_point::max() when there is none.
  clock::time_point deadline() const;
  void on_timer(clock::time_point now);

  std::string_view client_id() const;
  const std::string& remote_address() const;

 private:
  // In place: the transport's object that holds this connection owns it, and weak references to
  // it go through transport_link::lifetime(), so an idle connection costs no allocation and no
  // control block of its own.
  connection_state state_;
};

}  // namespace broker
