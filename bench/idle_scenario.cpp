// Many idle connections: what one connected client costs the broker in memory. The broker's
// resident set (VmRSS) is read before the first connect and again once every client has its
// CONNACK and the broker had a moment to settle.

#include <unistd.h>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "connect_ramp.hpp"
#include "io_pool.hpp"
#include "scenarios.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// VmRSS of a process in KiB, or -1 when it cannot be read.
long long read_rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int run_idle(const load_options& o, const asio::ip::tcp::endpoint& broker) {
  io_pool pool(o.threads);
  connect_ramp ramp(static_cast<std::size_t>(o.connect_concurrency));
  std::atomic<int> closed{0};
  std::atomic<int> dropped{0};
  std::atomic<bool> closing{false};
  std::vector<std::shared_ptr<load_client>> clients;
  std::string tag = "mqtt-load-" + std::to_string(getpid()) + "-i";
  client_handlers h;
  h.on_connected = [&](const std::string& e) { ramp.answered(e); };
  h.on_closed = [&](const std::string& r, bool was_connected) {
    closed.fetch_add(1);
    if (!was_connected) ramp.answered(r);
    if (was_connected && !closing.load()) dropped.fetch_add(1);
  };
  for (int i = 0; i < o.connections; ++i) {
    auto cfg = make_client_config(o, broker, tag + std::to_string(i));
    cfg.keep_alive_s = 60;
    cfg.read_buffer_size = 512;  // idle clients only ever read CONNACK and PINGRESP
    cfg.connect_timeout = milliseconds(30000);
    clients.push_back(std::make_shared<load_client>(pool.at(static_cast<std::size_t>(i)), cfg, h));
  }

  long long before = o.broker_pid ? read_rss_kib(*o.broker_pid) : -1;
  auto limit = milliseconds(30000) + milliseconds(5) * o.connections;
  auto r = ramp.run(clients, limit);
  std::printf("READY connections=%zu failed=%zu seconds=%.2f\n", r.connected, r.failed, r.seconds);
  std::fflush(stdout);
  if (r.failed > 0 || r.connected != clients.size()) {
    std::fprintf(stderr, "mqtt-load: %zu of %zu clients did not connect, first: %s\n",
                 clients.size() - r.connected, clients.size(), r.first_error.c_str());
  }

  std::string name = result_name(o);
  if (o.broker_pid) {
    // Let the broker finish whatever it does after CONNACK (session set-up, log lines).
    std::this_thread::sleep_for(milliseconds(1000));
    long long after = read_rss_kib(*o.broker_pid);
    double per = r.connected > 0 ? double(after - before) / double(r.connected) : 0;
    std::printf(
        "RESULT %s connections=%zu failed=%zu connect_s=%.2f rss_before_kib=%lld "
        "rss_after_kib=%lld kib_per_conn=%.2f dropped=%d\n",
        name.c_str(), r.connected, r.failed, r.seconds, before, after, per, dropped.load());
  } else {
    std::printf("RESULT %s connections=%zu failed=%zu connect_s=%.2f dropped=%d\n", name.c_str(),
                r.connected, r.failed, r.seconds, dropped.load());
  }
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_s));
  if (dropped.load() > 0) {
    std::fprintf(stderr, "mqtt-load: %d idle connections were dropped by the broker\n",
                 dropped.load());
  }

  closing.store(true);
  for (auto& c : clients) asio::post(c->executor(), [c] { c->disconnect(); });
  int all = static_cast<int>(clients.size());
  wait_for([&] { return closed.load() == all; }, milliseconds(20000));
  pool.finish(milliseconds(5000));
  return r.connected == clients.size() ? 0 : 1;
}

}  // namespace bench
