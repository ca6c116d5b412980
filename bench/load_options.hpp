#pragma once
// The command line of mqtt-load: one subcommand per scenario, flags shared by all of them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client_stream.hpp"
#include "mqtt/packet.hpp"

namespace bench {

enum class scenario_kind { pubsub, fanout, fanin, latency, idle };

struct load_options {
  scenario_kind kind = scenario_kind::pubsub;
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  // pubsub, fanout, fanin: the subscribers' broker port when it is another broker (the far end
  // of a bridge); 0: the same as the publishers'.
  std::uint16_t sub_port = 0;
  std::string username = "bench";
  std::string password = "bench";
  int qos = 0;
  std::size_t payload_size = 64;
  double duration_s = 5.0;  // measured interval of the throughput scenarios
  double warmup_s = 1.0;    // traffic before the measured interval, not counted
  // Throughput scenarios: messages per publisher instead of a duration. Latency: round trips,
  // or with --rate the measured messages (after --warmup seconds' worth).
  std::optional<std::uint64_t> count;
  // latency: messages per second sent on a timer whatever the replies do (open loop); 0: one
  // message at a time, the next once the previous one arrived (closed loop).
  double rate = 0;
  int pairs = 1;            // pubsub
  int subscribers = 100;    // fanout
  int publishers = 100;     // fanin
  int connections = 10000;  // idle
  int threads = 2;          // io_context threads of the generator
  // Messages published but not yet received, per subscriber, before publishers pause.
  int window = 1000;
  int inflight = 64;              // QoS 1: PUBACKs outstanding per publisher
  int connect_concurrency = 64;   // connects in progress at once
  double hold_s = 1.0;            // idle: how long to hold the connections once measured
  std::optional<int> broker_pid;  // idle: whose VmRSS to read before and after; pubsub: peak
  std::string name;               // RESULT name; derived from the scenario when empty
  std::string topic_prefix;       // derived from the process id when empty, so runs never mix
  // pubsub, fanout, fanin: subscribers of the first topic that never read (stuck_subscribers).
  int stuck = 0;
  transport_kind transport = transport_kind::tcp;  // how every client reaches the broker
  std::string ws_path = "/mqtt";                   // ws and wss: the request target
  mqtt::protocol_version version = mqtt::protocol_version::v3_1_1;  // --protocol 3.1.1|5
};

struct parse_outcome {
  std::optional<load_options> options;
  std::string error;  // set when the command line is wrong: one line saying what and why
  bool help = false;  // --help: print usage and exit 0
};

parse_outcome parse_load_options(const std::vector<std::string>& args);

const char* load_usage();

// The name a RESULT line carries: "pubsub_10_qos1", "fanout_100", "latency", ...
std::string result_name(const load_options& o);

}  // namespace bench
