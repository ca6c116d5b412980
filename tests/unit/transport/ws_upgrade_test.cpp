// The answer to a WebSocket upgrade request, from its fields alone.
#include "transport/ws_upgrade.hpp"

#include <gtest/gtest.h>

namespace transport {
namespace {

upgrade_request upgrade(std::string_view target, std::string_view subprotocols = "mqtt") {
  return {target, true, subprotocols};
}

TEST(ws_upgrade, root_and_mqtt_paths_are_accepted) {
  EXPECT_EQ(decide_upgrade(upgrade("/")).status, 101);
  EXPECT_EQ(decide_upgrade(upgrade("/mqtt")).status, 101);
}

TEST(ws_upgrade, query_string_is_ignored) {
  EXPECT_EQ(decide_upgrade(upgrade("/mqtt?token=x")).status, 101);
  EXPECT_EQ(decide_upgrade(upgrade("/?a=b")).status, 101);
}

TEST(ws_upgrade, other_paths_get_404) {
  for (std::string_view target : {"/ws", "/mqtt/", "/MQTT", "", "mqtt", "/mqtt/x", "*"}) {
    const upgrade_decision d = decide_upgrade(upgrade(target));
    EXPECT_EQ(d.status, 404) << target;
    EXPECT_FALSE(d.reason.empty());
  }
}

TEST(ws_upgrade, a_request_that_is_not_an_upgrade_gets_426) {
  upgrade_request r = upgrade("/mqtt");
  r.is_websocket_upgrade = false;
  EXPECT_EQ(decide_upgrade(r).status, 426);
}

TEST(ws_upgrade, the_path_is_checked_before_the_upgrade) {
  upgrade_request r = upgrade("/index.html");
  r.is_websocket_upgrade = false;
  EXPECT_EQ(decide_upgrade(r).status, 404);
}

TEST(ws_upgrade, mqtt_is_chosen_when_offered) {
  // [MQTT-6.0.0-4]
  EXPECT_EQ(decide_upgrade(upgrade("/", "mqtt")).subprotocol, "mqtt");
  EXPECT_EQ(decide_upgrade(upgrade("/", "mqttv3.1, mqtt")).subprotocol, "mqtt");
  EXPECT_EQ(decide_upgrade(upgrade("/", "foo,mqtt")).subprotocol, "mqtt");
}

TEST(ws_upgrade, mqttv31_is_chosen_when_mqtt_is_not_offered) {
  EXPECT_EQ(decide_upgrade(upgrade("/", "mqttv3.1")).subprotocol, "mqttv3.1");
  EXPECT_EQ(decide_upgrade(upgrade("/", "foo, mqttv3.1")).subprotocol, "mqttv3.1");
}

TEST(ws_upgrade, no_offer_or_unknown_offers_are_accepted_without_a_subprotocol) {
  for (std::string_view offered : {"", "foo", "MQTT", "mqttv5, bar", " , "}) {
    const upgrade_decision d = decide_upgrade(upgrade("/mqtt", offered));
    EXPECT_EQ(d.status, 101) << offered;
    EXPECT_EQ(d.subprotocol, "") << offered;
  }
}

TEST(ws_upgrade, header_lists_split_on_commas_and_trim_spaces) {
  const std::vector<std::string_view> tokens = split_header_list(" a ,b,\t c\t,, ,d");
  EXPECT_EQ(tokens, (std::vector<std::string_view>{"a", "b", "c", "d"}));
  EXPECT_TRUE(split_header_list("").empty());
  EXPECT_TRUE(split_header_list(" , ,").empty());
}

}  // namespace
}  // namespace transport
