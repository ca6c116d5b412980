#pragma once
// One bridge as a Mosquitto bridge file describes it (`connection` up to the next `connection`),
// with Mosquitto's defaults. Plain values: the parser (addon/bridge_conf.hpp) fills them, the
// engine and the network side read them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mqtt/packet.hpp"

namespace bridge {

enum class direction { out, in, both };

// `topic <pattern> [out|in|both [<qos> [<local-prefix> <remote-prefix>]]]`: the local topic is
// local-prefix + pattern, the remote one remote-prefix + pattern.
struct topic_mapping {
  std::string pattern;
  direction dir = direction::out;
  mqtt::qos qos = mqtt::qos::at_most_once;
  std::string local_prefix;
  std::string remote_prefix;
  std::string origin;  // "<file>:<line>", for messages

  std::string local_filter() const { return local_prefix + pattern; }
  std::string remote_filter() const { return remote_prefix + pattern; }
  bool sends_out() const { return dir != direction::in; }
  bool brings_in() const { return dir != direction::out; }
};

struct remote_address {
  std::string host;
  std::uint16_t port = 1883;

  std::string text() const {  // host:port, [v6]:port
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

struct tls_settings {
  std::string cafile;  // bridge_cafile; TLS is on when this or capath is set (as in Mosquitto)
  std::string capath;
  std::string certfile;  // client certificate, with keyfile
  std::string keyfile;
  bool insecure = false;    // bridge_insecure: no certificate or host name check
  std::string tls_version;  // "tlsv1.3", "tlsv1.2" or empty (the library's range)
  std::string alpn;         // bridge_alpn

  bool enabled() const { return !cafile.empty() || !capath.empty(); }
};

enum class start_type { automatic, once };

struct bridge_settings {
  std::string name;    // `connection <name>`
  std::string origin;  // "<file>:<line>" of the `connection` line
  std::vector<remote_address> addresses;
  bool round_robin = false;
  std::vector<topic_mapping> topics;
  std::optional<std::string> remote_username;
  std::optional<std::string> remote_password;
  std::string remote_clientid;  // default "<hostname>.<name>"
  std::string local_clientid;   // default "local.<remote_clientid>"
  mqtt::protocol_version version = mqtt::protocol_version::v3_1_1;
  bool cleansession = false;
  std::optional<bool> local_cleansession;  // unset: as cleansession
  bool try_private = true;
  bool notifications = true;
  bool notifications_local_only = false;
  std::string notification_topic;  // default "$SYS/broker/connection/<remote_clientid>/state"
  std::uint16_t keepalive = 60;
  // restart_timeout <base> [<cap>]: with a cap the wait doubles from base up to cap, with some
  // jitter (Mosquitto's backoff); with one value it is constant.
  std::chrono::seconds restart_base{5};
  std::optional<std::chrono::seconds> restart_cap = std::chrono::seconds{30};
  start_type start = start_type::automatic;
  tls_settings tls;

  bool local_clean() const { return local_cleansession.value_or(cleansession); }
};

}  // namespace bridge
