#include "storage_scenarios.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace bench {
namespace {

bool parse_count(const std::string& text, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && out >= lo && out <= hi;
}

bool parse_number(const std::string& text, double hi, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && out >= 0 && out <= hi;
}

// Takes this file's own flags out of `args`; everything else goes to parse_load_options.
bool take_own_flags(std::vector<std::string>& args, storage_options& o, std::string& error) {
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    bool own = flag == "--topics" || flag == "--rate" || flag == "--idle" || flag == "--offline";
    if (!own) {
      rest.push_back(flag);
      continue;
    }
    if (i + 1 >= args.size()) {
      error = "flag " + flag + " needs a value";
      return false;
    }
    const std::string& v = args[++i];
    std::uint64_t n = 0;
    bool ok = false;
    if (flag == "--topics") {
      ok = parse_count(v, 1, 100000000, o.topics);
    } else if (flag == "--rate") {
      ok = parse_number(v, 1e9, o.rate);
    } else if (flag == "--idle") {
      ok = parse_number(v, 3600, o.idle_s) && o.idle_s > 0;
    } else {
      ok = parse_count(v, 0, 100000, n);
      o.offline = static_cast<int>(n);
    }
    if (!ok) {
      error = "bad value '" + v + "' for " + flag + " (see --help)";
      return false;
    }
  }
  args = std::move(rest);
  return true;
}

}  // namespace

bool is_storage_scenario(const std::string& word) {
  return word == "retained" || word == "retained-read" || word == "retained-new-sub" ||
         word == "persistent";
}

const char* storage_usage() {
  return "storage scenarios:\n"
         "  retained       --count N (100000) --topics T (N) --rate R (0: unpaced)\n"
         "                 N retained updates of --payload bytes (100) over T topics, QoS 0,\n"
         "                 then a QoS 1 barrier\n"
         "  retained-read  --count N --topics T --idle S (5)\n"
         "                 subscribes to <prefix>/r/# and checks every topic's latest value\n"
         "  retained-new-sub --count N (100000) --topics T (N) --broker-pid PID\n"
         "                 retained (--payload 64), then the broker's VmRSS growth per\n"
         "                 topic, then retained-read by a new subscriber: one RESULT line\n"
         "  persistent     --pairs N (10) --offline M (0)\n"
         "                 QoS 1 pairs whose subscribers keep their session (clean session 0);\n"
         "                 then M messages per pair queued while the subscribers are away\n"
         "  retained and retained-read need the same --topic-prefix, --count and --topics\n";
}

int run_storage_scenario(const std::vector<std::string>& args) {
  storage_options o;
  o.scenario = args.at(0);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string error;
  if (!take_own_flags(rest, o, error)) {
    std::fprintf(stderr, "mqtt-load: %s\n", error.c_str());
    return 2;
  }
  // Defaults of these scenarios; the caller's flags come later and win.
  std::vector<std::string> common = {"pubsub", "--payload", "100"};
  if (o.scenario == "persistent") common = {"pubsub", "--pairs", "10"};
  if (o.scenario == "retained-new-sub") common = {"pubsub", "--payload", "64"};
  common.insert(common.end(), rest.begin(), rest.end());
  parse_outcome parsed = parse_load_options(common);
  if (parsed.help) {
    std::fputs(storage_usage(), stdout);
    std::fputs(load_usage(), stdout);
    return 0;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "mqtt-load: %s\n", parsed.error.c_str());
    return 2;
  }
  o.base = *parsed.options;
  if (o.scenario == "persistent") {
    o.base.qos = 1;
  } else if (!o.base.count) {
    o.base.count = 100000;
  }
  if (o.topics == 0 && o.base.count) o.topics = *o.base.count;
  o.prefix =
      o.base.topic_prefix.empty() ? "bench/" + std::to_string(getpid()) : o.base.topic_prefix;
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto found = resolver.resolve(o.base.host, std::to_string(o.base.port), ec);
    if (ec || found.empty()) {
      std::fprintf(stderr, "mqtt-load: cannot resolve %s: %s\n", o.base.host.c_str(),
                   ec.message().c_str());
      return 1;
    }
    auto broker = found.begin()->endpoint();
    if (o.scenario == "retained") return run_retained_publish(o, broker);
    if (o.scenario == "retained-read") return run_retained_read(o, broker);
    if (o.scenario == "retained-new-sub") return run_retained_new_sub(o, broker);
    return run_persistent(o, broker);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqtt-load: %s\n", e.what());
    return 1;
  }
}

}  // namespace bench
