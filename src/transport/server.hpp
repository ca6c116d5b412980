#pragma once
// The network side of the broker, as main() sees it: the I/O threads, the listeners, the
// sessions, the periodic tick and the shutdown signals. Keeps Asio out of the app.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_core.hpp"
#include "broker/logger.hpp"
#include "transport/http_service.hpp"
#include "transport/tls_context_source.hpp"

namespace transport {

struct listener_config {
  // "mqtt" (TCP), "ws" (WebSocket), "mqtts" (TLS), "wss" (WebSocket over TLS),
  // "ingress" (HTTP: the web UI and /metrics, served by `http`)
  std::string kind;
  std::uint16_t port = 0;
};

struct server_config {
  std::string bind_address;  // empty: every IPv4 and IPv6 address
  std::vector<listener_config> listeners;
  std::optional<tls_files> tls;      // required when a TLS listener is configured
  std::optional<http_service> http;  // required when an http listener is configured
  // A TLS or WebSocket client must finish its handshake within this, or is dropped.
  std::chrono::milliseconds handshake_timeout{10000};
  // How often, at most, a new TLS connection makes the server look whether the certificate
  // files changed on disk (a renewal) and switch new connections to them.
  std::chrono::milliseconds tls_reload_check{2000};
  std::size_t threads = 1;
  std::chrono::milliseconds tick_interval{1000};
  // How long shutdown waits for the sessions to close before abandoning them.
  std::chrono::milliseconds shutdown_limit{5000};
};

class server {
 public:
  using tick_function = std::function<void(std::chrono::steady_clock::time_point)>;

  // Installs the SIGINT/SIGTERM handlers right away. `core` and `log` must outlive the server.
  server(server_config config, broker::broker_core& core, broker::logger& log);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Loads the TLS certificate files (when a TLS listener is configured) and binds every listener.
  // A one-line error naming the file or the port (unreadable, in use, not permitted) on failure.
  std::optional<std::string> listen();

  // Serves until SIGINT/SIGTERM or stop(), calling `on_tick` every tick_interval on an I/O
  // thread; then stops accepting, closes every session and joins the threads.
  void run(tick_function on_tick);

  // Thread-safe; may come before run().
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace transport
