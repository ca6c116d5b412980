#pragma once
// The bridges' state and counters for /metrics, one labelled sample per bridge.

#include <vector>

#include "bridge/bridge_status.hpp"
#include "broker/prometheus_text.hpp"

namespace bridge {

// mqtt_broker_bridge_up, _connections_total, _messages_received_total, _messages_sent_total,
// _messages_unmapped_total, _messages_too_large_total, each labelled bridge="<name>". Nothing when
// there is no bridge.
void write_bridge_metrics(const std::vector<bridge_status>& bridges, broker::prometheus_text& out);

}  // namespace bridge
