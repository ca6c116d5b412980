#pragma once
// What the web UI and the metrics show about clients: plain copies, taken under the broker's
// lock and read without it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "mqtt/packet.hpp"

namespace broker {

struct client_info {
  std::string client_id;
  std::string username;
  bool connected = false;  // false: a persistent session whose client is offline
  std::string address;     // empty while offline
  std::string protocol;    // "3.1", "3.1.1", "5.0"; empty while offline
  std::string transport;   // mqtt, ws, mqtts, wss; empty while offline
  bool clean_session = true;
  std::uint16_t keep_alive = 0;
  std::chrono::system_clock::time_point since;  // when it connected
  std::size_t subscriptions = 0;
  std::size_t queued = 0;    // messages waiting behind the in-flight window
  std::size_t inflight = 0;  // QoS 1/2 messages sent and not yet acknowledged
  std::uint64_t dropped = 0;
  std::uint64_t messages_in = 0;   // PUBLISH packets from the client on this connection
  std::uint64_t messages_out = 0;  // PUBLISH packets to it on this connection
};

// Broker-wide sums for the metrics.
struct connection_totals {
  // Connected clients by (transport, protocol).
  std::map<std::pair<std::string, std::string>, std::uint64_t> connections;
  std::uint64_t queued = 0;
  std::uint64_t inflight = 0;
  std::uint64_t offline_sessions = 0;
};

// "3.1", "3.1.1", "5.0".
const char* protocol_name(mqtt::protocol_version version);

}  // namespace broker
