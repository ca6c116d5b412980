#pragma once
// The scenarios of mqtt-load that measure what a broker's durable storage costs: retained
// messages written and read back after a restart, and QoS 1 traffic to persistent sessions.
// They share the common flags of load_options (parsed by parse_load_options) and add their own.
// See bench/README.md and bench/storage_compare.sh.

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "load_options.hpp"

namespace bench {

struct storage_options {
  std::string scenario;  // retained, retained-read, retained-new-sub or persistent
  load_options base;     // host, port, credentials, payload size, --count, threads, prefix
  // retained, retained-read: updates are spread round-robin over this many topics (default:
  // --count, one update per topic).
  std::uint64_t topics = 0;
  double rate = 0;     // retained: updates per second, 0 = as fast as the broker takes them
  double idle_s = 5;   // retained-read: give up once nothing arrived for this long
  int offline = 0;     // persistent: messages per pair queued while the subscriber is away
  std::string prefix;  // topic prefix: base.topic_prefix, or one derived from the process id
};

// retained, retained-read, retained-new-sub and persistent are handled here, not by parse_load_options.
bool is_storage_scenario(const std::string& word);
const char* storage_usage();

// Parses `args` (the scenario word first), resolves the broker and runs the scenario. Returns
// the exit status: 0 done, 1 connection or protocol failure, 2 bad command line.
int run_storage_scenario(const std::vector<std::string>& args);

// Publishes --count retained updates, then a QoS 1 barrier whose PUBACK says the broker has
// processed every update before it.
int run_retained_publish(const storage_options& o, const boost::asio::ip::tcp::endpoint& broker);
// Subscribes to <prefix>/r/# and counts the retained messages that arrive, checking that each
// topic came back once with its latest value.
int run_retained_read(const storage_options& o, const boost::asio::ip::tcp::endpoint& broker);
// retained, then (with --broker-pid) the broker's VmRSS growth per retained message, then
// retained-read by a new subscriber: both in one RESULT line.
int run_retained_new_sub(const storage_options& o, const boost::asio::ip::tcp::endpoint& broker);
// QoS 1 pairs whose subscribers keep their session (clean session 0): a measured stream while
// they are connected, then messages queued while they are away and drained when they return.
int run_persistent(const storage_options& o, const boost::asio::ip::tcp::endpoint& broker);

}  // namespace bench
