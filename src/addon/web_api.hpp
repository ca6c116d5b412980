#pragma once
// The web UI's HTTP side, free of I/O: the page and its assets, the JSON API it calls, and
// GET /metrics. The HTTP server (transport/http_server) hands each request here and sends back
// what comes out; the WebSocket pushes live_status() every second.
//
//   GET  /                    the page (with <base href> set to the X-Ingress-Path prefix)
//   GET  /app.js, /style.css  its assets, embedded in the binary
//   GET  /metrics             Prometheus text format
//   GET  /api/status          counters and the change numbers of clients, topics, events
//   GET  /api/clients         clients with a session
//   GET  /api/topics?filter=F&since=N   topics matching F changed after change number N
//   GET  /api/topic?name=T    one topic's last message, whole
//   GET  /api/events?since=N  events after number N
//   GET  /api/options         the options in force, passwords masked
//   GET  /api/bridges         each bridge's state and counters
//   POST /api/publish         {"topic", "payload", "qos", "retain"}
//   POST /api/disconnect      {"client_id"}
//   POST /api/delete-retained {"topic"}
//
// POSTs must say Content-Type: application/json: a browser cannot send that from another site
// without a CORS preflight, which is never granted, so a page elsewhere cannot act here.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bridge/bridge_status.hpp"
#include "broker/broker_core.hpp"
#include "broker/prometheus_text.hpp"

namespace addon {

struct web_request {
  std::string_view method;        // GET, POST, ...
  std::string_view target;        // path and query, below the ingress prefix
  std::string_view content_type;  // of the body
  std::string_view body;
  std::string_view ingress_path;  // X-Ingress-Path, empty when absent
};

struct web_response {
  int status = 200;
  std::string content_type;
  std::string body;
  bool cacheable = false;  // the embedded assets: the same for the binary's lifetime
};

class web_api {
 public:
  using metrics_source = std::function<void(broker::prometheus_text&)>;

  // `options_json` is options_view_json(); `extra_metrics` adds the store's (may be empty).
  web_api(broker::broker_core& core, std::string options_json, metrics_source extra_metrics);

  // Where the bridges' states come from; set once, before the server runs (none: no bridges).
  using bridge_source = std::function<std::vector<bridge::bridge_status>()>;
  void set_bridge_source(bridge_source source) { bridges_ = std::move(source); }

  web_response handle(const web_request& request);
  // A small JSON object for the live-update WebSocket.
  std::string live_status();

  // The HTTP server refused or ended something at one of its bounds; /metrics counts them as
  // mqtt_broker_ui_limit_hits_total{limit=...}. Thread-safe.
  enum class limit { connections, websockets, header_size, body_size, deadline };
  void count_limit(limit l);

  // Limits the JSON answers keep to.
  static constexpr std::size_t max_clients = 2000;
  static constexpr std::size_t max_topics = 2000;
  static constexpr std::size_t max_events = 500;
  static constexpr std::size_t preview_bytes = 1024;           // of each payload in the topic list
  static constexpr std::size_t max_topic_bytes = 1024 * 1024;  // GET /api/topic

 private:
  web_response get(std::string_view path, std::string_view query, std::string_view ingress);
  web_response post(std::string_view path, std::string_view body);

  broker::broker_core& core_;
  std::string options_json_;
  metrics_source extra_metrics_;
  bridge_source bridges_;
  std::array<std::atomic<std::uint64_t>, 5> limit_hits_{};
};

// The X-Ingress-Path value to use as the page's base: "/api/hassio_ingress/abc" as is; empty when
// absent or when it holds anything but [A-Za-z0-9/_.~-] (it lands in the page's HTML).
std::string safe_ingress_path(std::string_view header);

// "a%2Fb+c" -> "a/b c" (application/x-www-form-urlencoded); nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view text);
// The decoded value of `name` in a query string "a=1&b=2", nullopt when absent or malformed.
std::optional<std::string> query_value(std::string_view query, std::string_view name);

}  // namespace addon
