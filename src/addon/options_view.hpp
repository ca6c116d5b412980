#pragma once
// The options in force, as the web UI shows them: every option with its effective value
// (defaults included), passwords replaced by "********", plus the listeners' ports.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "addon/options.hpp"

namespace addon {

struct listener_port {
  std::string kind;        // mqtt, ws, mqtts, wss, ingress
  std::uint16_t port = 0;  // 0: off
};

// JSON text: {"options": {...}, "listeners": [{"kind": ..., "port": ...}], "standalone": bool}.
std::string options_view_json(const options& o, const std::vector<listener_port>& listeners,
                              bool standalone);

}  // namespace addon
