#pragma once
// What a bridge is doing, as the log, $SYS and the web UI show it. A plain snapshot: the bridge
// runner (src/transport/bridge_runner.hpp) hands out copies.

#include <chrono>
#include <cstdint>
#include <string>

namespace bridge {

enum class bridge_state {
  connecting,  // resolving, connecting, TLS handshake, or waiting for CONNACK
  connected,   // CONNACK received: messages flow
  waiting,     // the last attempt failed or the connection ended: the next one is due later
  stopped,     // start_type once after its one connection, or the broker is stopping
};

const char* name_of(bridge_state s);

struct bridge_status {
  std::string name;  // `connection <name>`
  bridge_state state = bridge_state::connecting;
  std::string address;     // host:port in use or being tried
  std::string last_error;  // why the last connection failed or ended, empty if none yet
  std::chrono::system_clock::time_point since{};  // when `state` began
  std::chrono::seconds retry_in{0};               // in `waiting`: the wait chosen
  std::uint64_t connections = 0;         // successful connections (CONNACK) since the start
  std::uint64_t messages_received = 0;   // remote -> local
  std::uint64_t messages_sent = 0;       // local -> remote
  std::uint64_t messages_unmapped = 0;   // matched no topic line: acknowledged and dropped
  std::uint64_t messages_too_large = 0;  // past a 5.0 remote's Maximum Packet Size: dropped
};

}  // namespace bridge
