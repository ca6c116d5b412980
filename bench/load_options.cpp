#include "load_options.hpp"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>

namespace bench {
namespace {

// Payload bytes 0..3 carry the publisher index and 4..7 the sequence number.
constexpr std::size_t min_payload_size = 8;
// The paced latency scenario adds its send time in bytes 8..15.
constexpr std::size_t min_paced_payload_size = 16;

bool parse_int(const std::string& text, long long lo, long long hi, long long& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && out >= lo && out <= hi;
}

bool parse_seconds(const std::string& text, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && out >= 0 && out <= 3600;
}

std::optional<scenario_kind> parse_kind(const std::string& word) {
  static const std::map<std::string, scenario_kind> kinds = {
      {"pubsub", scenario_kind::pubsub}, {"fanout", scenario_kind::fanout},
      {"fanin", scenario_kind::fanin},   {"latency", scenario_kind::latency},
      {"idle", scenario_kind::idle},
  };
  auto it = kinds.find(word);
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

}  // namespace

const char* load_usage() {
  return "usage: mqtt-load SCENARIO [flags]\n"
         "scenarios:\n"
         "  pubsub   --pairs N        N publishers, each to its own topic, N subscribers\n"
         "  fanout   --subscribers N  1 publisher, N subscribers on one topic\n"
         "  fanin    --publishers N   N publishers, 1 subscriber on a wildcard filter\n"
         "  latency                   sequential round trips publisher -> broker -> subscriber\n"
         "           --rate R         instead: R messages/s on a timer (open loop), each one's\n"
         "                            time from send to receipt (--count measured, default\n"
         "                            10000, after --warmup seconds' worth; payload >= 16)\n"
         "  idle     --connections N  N connected idle clients (keep-alive 60)\n"
         "flags:\n"
         "  --host H (127.0.0.1)  --port P (1883)  --username U (bench)  --password P (bench)\n"
         "  --sub-port P (subscribers on another broker of the same host: a bridge's far end)\n"
         "  --qos 0|1 (0)  --payload BYTES (64, at least 8)\n"
         "  --duration S (5)  --warmup S (1)  --count N (messages per publisher; latency: 10000)\n"
         "  --threads N (2)  --window N (1000 unreceived messages per subscriber)\n"
         "  --inflight N (64 unacknowledged QoS 1 publishes per publisher)\n"
         "  --concurrency N (64 connects at once)  --hold S (idle: 1)  --broker-pid PID (idle)\n"
         "  --stuck N (0: subscribers of the first topic that never read; with --broker-pid,\n"
         "            the broker's peak VmRSS is reported)\n"
         "  --name NAME (of the RESULT line)  --topic-prefix T\n"
         "  --transport tcp|ws|tls|wss (tcp)  --ws-path PATH (/mqtt)\n"
         "  --protocol 3.1.1|5 (3.1.1): the MQTT version of every client\n"
         "output: one line 'RESULT <name> key=value ...' per run\n";
}

std::string result_name(const load_options& o) {
  if (!o.name.empty()) return o.name;
  std::string name;
  switch (o.kind) {
    case scenario_kind::pubsub:
      name = "pubsub_" + std::to_string(o.pairs);
      break;
    case scenario_kind::fanout:
      name = "fanout_" + std::to_string(o.subscribers);
      break;
    case scenario_kind::fanin:
      name = "fanin_" + std::to_string(o.publishers);
      break;
    case scenario_kind::latency:
      name = "latency";
      if (o.rate > 0) name += "_at_" + std::to_string(static_cast<long long>(o.rate));
      break;
    case scenario_kind::idle:
      name = "idle_" + std::to_string(o.connections);
      break;
  }
  if (o.qos != 0 && o.kind != scenario_kind::idle) name += "_qos" + std::to_string(o.qos);
  if (o.stuck > 0 && o.kind != scenario_kind::idle && o.kind != scenario_kind::latency) {
    name += "_stuck" + std::to_string(o.stuck);
  }
  return name;
}

parse_outcome parse_load_options(const std::vector<std::string>& args) {
  parse_outcome out;
  if (args.empty()) {
    out.error = "no scenario given (pubsub, fanout, fanin, latency or idle)";
    return out;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    out.help = true;
    return out;
  }
  load_options o;
  auto kind = parse_kind(args[0]);
  if (!kind) {
    out.error = "unknown scenario '" + args[0] + "' (pubsub, fanout, fanin, latency or idle)";
    return out;
  }
  o.kind = *kind;

  auto int_flag = [&](long long lo, long long hi, auto& field) {
    return [&field, lo, hi](const std::string& v) {
      long long n = 0;
      if (!parse_int(v, lo, hi, n)) return false;
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
      return true;
    };
  };
  std::uint64_t count = 0;
  int pid = 0;
  long long payload = 0;
  std::map<std::string, std::function<bool(const std::string&)>> flags = {
      {"--host",
       [&](const std::string& v) {
         o.host = v;
         return !v.empty();
       }},
      {"--port", int_flag(1, 65535, o.port)},
      {"--sub-port", int_flag(1, 65535, o.sub_port)},
      {"--username",
       [&](const std::string& v) {
         o.username = v;
         return true;
       }},
      {"--password",
       [&](const std::string& v) {
         o.password = v;
         return true;
       }},
      {"--qos", int_flag(0, 1, o.qos)},
      {"--payload", int_flag(static_cast<long long>(min_payload_size), 1 << 20, payload)},
      {"--duration", [&](const std::string& v) { return parse_seconds(v, o.duration_s); }},
      {"--warmup", [&](const std::string& v) { return parse_seconds(v, o.warmup_s); }},
      {"--count", int_flag(1, 1LL << 40, count)},
      {"--pairs", int_flag(1, 10000, o.pairs)},
      {"--subscribers", int_flag(1, 10000, o.subscribers)},
      {"--publishers", int_flag(1, 10000, o.publishers)},
      {"--connections", int_flag(1, 1000000, o.connections)},
      {"--threads", int_flag(1, 64, o.threads)},
      {"--window", int_flag(1, 1000000, o.window)},
      {"--inflight", int_flag(1, 65535, o.inflight)},
      {"--concurrency", int_flag(1, 100000, o.connect_concurrency)},
      {"--hold", [&](const std::string& v) { return parse_seconds(v, o.hold_s); }},
      {"--rate",
       [&](const std::string& v) {
         char* end = nullptr;
         o.rate = std::strtod(v.c_str(), &end);
         return !v.empty() && end == v.c_str() + v.size() && o.rate >= 1 && o.rate <= 1e6;
       }},
      {"--broker-pid", int_flag(1, 1 << 30, pid)},
      {"--stuck", int_flag(0, 1000, o.stuck)},
      {"--name",
       [&](const std::string& v) {
         o.name = v;
         return !v.empty();
       }},
      {"--topic-prefix",
       [&](const std::string& v) {
         o.topic_prefix = v;
         return !v.empty();
       }},
      {"--transport",
       [&](const std::string& v) {
         const std::optional<transport_kind> kind = parse_transport(v);
         if (kind) o.transport = *kind;
         return kind.has_value();
       }},
      {"--protocol",
       [&](const std::string& v) {
         if (v == "3.1.1") o.version = mqtt::protocol_version::v3_1_1;
         if (v == "5") o.version = mqtt::protocol_version::v5;
         return v == "3.1.1" || v == "5";
       }},
      {"--ws-path",
       [&](const std::string& v) {
         o.ws_path = v;
         return v.starts_with("/");
       }},
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      out.help = true;
      return out;
    }
    auto it = flags.find(args[i]);
    if (it == flags.end()) {
      out.error = "unknown flag '" + args[i] + "' (see --help)";
      return out;
    }
    if (i + 1 >= args.size()) {
      out.error = "flag " + args[i] + " needs a value";
      return out;
    }
    const std::string& value = args[++i];
    if (!it->second(value)) {
      out.error = "bad value '" + value + "' for " + args[i - 1] + " (see --help)";
      return out;
    }
    if (args[i - 1] == "--count") o.count = count;
    if (args[i - 1] == "--broker-pid") o.broker_pid = pid;
    if (args[i - 1] == "--payload") o.payload_size = static_cast<std::size_t>(payload);
  }
  if (o.duration_s <= 0) {
    out.error = "--duration must be above 0";
    return out;
  }
  if (o.rate > 0 && o.kind != scenario_kind::latency) {
    out.error = "--rate paces the latency scenario only";
    return out;
  }
  if (o.rate > 0 && o.payload_size < min_paced_payload_size) {
    out.error = "latency --rate needs --payload 16 or more (sequence number and send time)";
    return out;
  }
  out.options = o;
  return out;
}

}  // namespace bench
