#pragma once
// What the HTTP listener (the ingress port: web UI, live updates, /metrics) serves, as plain
// functions and limits: no Beast here, so the app wires it without heavy headers.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace transport {

struct http_request {
  std::string_view method;
  std::string_view target;        // path and query
  std::string_view content_type;  // of the body
  std::string_view body;
  std::string_view ingress_path;  // the X-Ingress-Path header, empty when absent
};

struct http_response {
  int status = 200;
  std::string content_type;
  std::string body;
  bool cacheable = false;  // the same bytes for the binary's lifetime (embedded assets)
};

// The bounds below, as reported when one is hit.
enum class http_limit { connections, websockets, header_size, body_size, deadline };

struct http_service {
  std::function<http_response(const http_request&)> handle;
  // JSON text pushed on the live-update WebSocket (path `websocket_path`) whenever it changes,
  // checked every `live_interval`.
  std::function<std::string()> live_status;
  std::string websocket_path = "/ws";
  std::chrono::milliseconds live_interval{1000};

  // The only peer address allowed, e.g. "172.30.32.2" (the Supervisor's ingress proxy); empty:
  // any address the bind address lets in. `open_paths` (GET only) are served to any peer.
  std::string only_peer;
  std::vector<std::string> open_paths = {"/metrics"};

  // Bounds on what a peer can make the broker hold or wait for.
  std::size_t max_connections = 32;  // HTTP connections and WebSockets together
  std::size_t max_websockets = 8;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 256 * 1024;
  std::chrono::milliseconds request_deadline{10000};  // to read a request, and to write an answer
  std::chrono::milliseconds idle_deadline{30000};     // between requests on a kept-alive connection
  // Called (on any I/O thread) each time a bound refuses or ends something; may be empty.
  std::function<void(http_limit)> on_limit;
};

}  // namespace transport
