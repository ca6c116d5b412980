// The bridges' samples on /metrics.
#include "bridge/bridge_metrics.hpp"

#include <gtest/gtest.h>

namespace bridge {
namespace {

TEST(bridge_metrics, one_labelled_sample_per_bridge_and_family) {
  bridge_status up;
  up.name = "cloud";
  up.state = bridge_state::connected;
  up.connections = 2;
  up.messages_received = 5;
  up.messages_sent = 7;
  up.messages_unmapped = 1;
  bridge_status down;
  down.name = "site\"2";
  down.state = bridge_state::waiting;
  broker::prometheus_text out;
  write_bridge_metrics({up, down}, out);
  const std::string& text = out.text();
  EXPECT_NE(text.find("# TYPE mqtt_broker_bridge_up gauge"), std::string::npos) << text;
  EXPECT_NE(text.find("mqtt_broker_bridge_up{bridge=\"cloud\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mqtt_broker_bridge_up{bridge=\"site\\\"2\"} 0\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("mqtt_broker_bridge_connections_total{bridge=\"cloud\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("mqtt_broker_bridge_messages_received_total{bridge=\"cloud\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("mqtt_broker_bridge_messages_sent_total{bridge=\"cloud\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("mqtt_broker_bridge_messages_unmapped_total{bridge=\"cloud\"} 1\n"),
            std::string::npos);
}

TEST(bridge_metrics, nothing_without_bridges) {
  broker::prometheus_text out;
  write_bridge_metrics({}, out);
  EXPECT_TRUE(out.text().empty());
}

}  // namespace
}  // namespace bridge
