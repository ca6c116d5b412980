#include "bridge/bridge_metrics.hpp"

#include <cstdint>

namespace bridge {

void write_bridge_metrics(const std::vector<bridge_status>& bridges, broker::prometheus_text& out) {
  if (bridges.empty()) return;
  struct family {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t (*value)(const bridge_status&);
  };
  static constexpr family families[] = {
      {"mqtt_broker_bridge_up", "gauge", "1 while the bridge is connected to its remote broker",
       [](const bridge_status& s) -> std::uint64_t {
         return s.state == bridge_state::connected ? 1 : 0;
       }},
      {"mqtt_broker_bridge_connections_total", "counter",
       "Connections the bridge made to its remote broker",
       [](const bridge_status& s) { return s.connections; }},
      {"mqtt_broker_bridge_messages_received_total", "counter",
       "Messages from the remote broker into this one",
       [](const bridge_status& s) { return s.messages_received; }},
      {"mqtt_broker_bridge_messages_sent_total", "counter",
       "Messages from this broker to the remote broker",
       [](const bridge_status& s) { return s.messages_sent; }},
      {"mqtt_broker_bridge_messages_unmapped_total", "counter",
       "Messages that matched no topic line of the bridge (acknowledged and dropped)",
       [](const bridge_status& s) { return s.messages_unmapped; }},
      {"mqtt_broker_bridge_messages_too_large_total", "counter",
       "Messages larger than the remote's Maximum Packet Size (acknowledged and dropped)",
       [](const bridge_status& s) { return s.messages_too_large; }},
  };
  for (const family& f : families) {
    out.family(f.name, f.type, f.help);
    for (const bridge_status& s : bridges) out.sample(f.name, f.value(s), {{"bridge", s.name}});
  }
}

}  // namespace bridge
