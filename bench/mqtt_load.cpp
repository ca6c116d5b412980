// mqtt-load: the load generator behind bench/compare.sh. See bench/README.md.

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "load_options.hpp"
#include "scenarios.hpp"
#include "storage_scenarios.hpp"

namespace {

// The idle scenario holds thousands of sockets; the soft limit is often 1024.
void raise_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && bench::is_storage_scenario(args[0])) {
    return bench::run_storage_scenario(args);
  }
  auto parsed = bench::parse_load_options(args);
  if (parsed.help) {
    std::fputs(bench::load_usage(), stdout);
    std::fputs(bench::storage_usage(), stdout);
    return 0;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "mqtt-load: %s\n", parsed.error.c_str());
    return 2;
  }
  const bench::load_options& o = *parsed.options;
  raise_file_limit();
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto found = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec || found.empty()) {
      std::fprintf(stderr, "mqtt-load: cannot resolve %s: %s\n", o.host.c_str(),
                   ec.message().c_str());
      return 1;
    }
    auto broker = found.begin()->endpoint();
    switch (o.kind) {
      case bench::scenario_kind::latency:
        return o.rate > 0 ? bench::run_paced_latency(o, broker) : bench::run_latency(o, broker);
      case bench::scenario_kind::idle:
        return bench::run_idle(o, broker);
      default:
        return bench::run_throughput(o, broker);
    }
  } catch (const std::exception& e) {
    // Asio reports resource exhaustion (threads, descriptors) by throwing.
    std::fprintf(stderr, "mqtt-load: %s\n", e.what());
    return 1;
  }
}
