#pragma once
// The ingress port's service: the web UI's API (addon::web_api) behind the HTTP server, and who
// may use it.

#include "addon/web_api.hpp"
#include "transport/http_service.hpp"

namespace app {

// The Supervisor's ingress proxy: inside the add-on the only peer the UI answers (what Home
// Assistant add-ons with ingress do); /metrics stays open to the add-on network for Prometheus.
inline constexpr const char* supervisor_ingress_address = "172.30.32.2";

// `in_addon`: a Supervisor token is present. `api` must outlive the server.
transport::http_service ingress_service(addon::web_api& api, bool in_addon);

}  // namespace app
