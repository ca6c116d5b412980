// The web UI's HTTP side without sockets: routes, the ingress prefix, the JSON API, the masked
// options.

#include "addon/web_api.hpp"

#include <gtest/gtest.h>

#include <json/json.h>

#include <sstream>

#include "addon/options_view.hpp"
#include "broker/broker_core.hpp"

namespace addon {
namespace {

class accept_all : public broker::authenticator {
 public:
  void authenticate(const broker::credentials&,
                    std::function<void(broker::auth_result)> done) override {
    done(broker::auth_result::accepted);
  }
};

Json::Value parse(const std::string& text) {
  Json::Value v;
  std::istringstream in(text);
  in >> v;
  return v;
}

class web_api_test : public ::testing::Test {
 protected:
  std::ostringstream log_text;
  broker::logger log{broker::log_level::debug, log_text};
  accept_all auth;
  broker::broker_core core{broker::broker_config{}, auth, log};
  web_api api{core, "{\"options\":{}}", [](broker::prometheus_text& t) {
                t.gauge("mqtt_broker_store_size_bytes", "Store.", 42);
              }};

  web_response get(std::string target, std::string ingress = "") {
    return api.handle({"GET", target, "", "", ingress});
  }
  web_response post(std::string target, std::string body, std::string type = "application/json") {
    return api.handle({"POST", target, type, body, ""});
  }
};

TEST_F(web_api_test, the_page_takes_the_ingress_path_as_its_base) {
  const web_response page = get("/", "/api/hassio_ingress/XYZ_-abc");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<base href=\"/api/hassio_ingress/XYZ_-abc/\">"), std::string::npos);
  // Alone, the base is the root.
  EXPECT_NE(get("/").body.find("<base href=\"/\">"), std::string::npos);
}

TEST_F(web_api_test, an_ingress_path_that_could_inject_markup_is_ignored) {
  EXPECT_EQ(safe_ingress_path("/api/hassio_ingress/abc/"), "/api/hassio_ingress/abc");
  EXPECT_EQ(safe_ingress_path("/x\"><script>"), "");
  EXPECT_EQ(safe_ingress_path("relative"), "");
  EXPECT_EQ(safe_ingress_path(""), "");
  EXPECT_NE(get("/", "/\"><script>alert(1)</script>").body.find("<base href=\"/\">"),
            std::string::npos);
}

TEST_F(web_api_test, the_assets_are_served_and_unknown_paths_are_404) {
  EXPECT_EQ(get("/app.js").status, 200);
  EXPECT_EQ(get("/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_TRUE(get("/style.css").cacheable);
  EXPECT_EQ(get("/nothing").status, 404);
  EXPECT_EQ(api.handle({"DELETE", "/api/clients", "", "", ""}).status, 405);
}

TEST_F(web_api_test, metrics_include_the_extra_source) {
  const web_response m = get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("mqtt_broker_store_size_bytes 42\n"), std::string::npos);
  EXPECT_NE(m.body.find("mqtt_broker_messages_received_total 0\n"), std::string::npos);
}

TEST_F(web_api_test, publish_then_list_topics_with_a_filter) {
  EXPECT_EQ(
      post("/api/publish", R"({"topic":"a/b","payload":"{\"x\":1}","qos":1,"retain":true})").status,
      200);
  EXPECT_EQ(post("/api/publish", R"({"topic":"c","payload":"z"})").status, 200);
  const Json::Value list = parse(get("/api/topics?filter=a%2F%23").body);
  ASSERT_EQ(list["topics"].size(), 1u);
  EXPECT_EQ(list["topics"][0]["topic"].asString(), "a/b");
  EXPECT_TRUE(list["topics"][0]["retained"].asBool());
  EXPECT_EQ(list["topics"][0]["payload"].asString(), "eyJ4IjoxfQ==");  // base64 of {"x":1}
  EXPECT_EQ(get("/api/topics?filter=a%2F%23%2Fb").status, 400);        // '#' not last
  const Json::Value one = parse(get("/api/topic?name=c").body);
  EXPECT_EQ(one["payload"].asString(), "eg==");
  EXPECT_EQ(get("/api/topic?name=none").status, 404);
}

TEST_F(web_api_test, posts_need_a_json_body) {
  EXPECT_EQ(post("/api/publish", "topic=a", "application/x-www-form-urlencoded").status, 415);
  EXPECT_EQ(post("/api/publish", R"({"topic":"a"})", "text/plain").status, 415);
  EXPECT_EQ(post("/api/publish", R"({"topic":"a"})", "application/json; charset=utf-8").status,
            200);
  EXPECT_EQ(post("/api/publish", "not json").status, 400);
  EXPECT_EQ(post("/api/publish", R"(["a"])").status, 400);
  EXPECT_EQ(post("/api/publish", R"({"topic":1})").status, 400);
  EXPECT_EQ(post("/api/publish", R"({"topic":"a","qos":"1"})").status, 400);
  EXPECT_EQ(post("/api/publish", R"({"topic":"a","retain":1})").status, 400);
}

TEST_F(web_api_test, delete_and_disconnect_say_when_there_is_nothing_to_act_on) {
  EXPECT_EQ(post("/api/delete-retained", R"({"topic":"none"})").status, 404);
  EXPECT_EQ(post("/api/disconnect", R"({"client_id":"nobody"})").status, 404);
  EXPECT_EQ(post("/api/disconnect", R"({})").status, 400);
}

TEST_F(web_api_test, status_and_events_carry_change_numbers) {
  const Json::Value before = parse(api.live_status());
  core.events().add(broker::event_kind::limit, "c", "queue full");
  EXPECT_EQ(post("/api/publish", R"({"topic":"t"})").status, 200);
  const Json::Value after = parse(api.live_status());
  EXPECT_GT(after["events_seq"].asUInt64(), before["events_seq"].asUInt64());
  EXPECT_GT(after["topics_seq"].asUInt64(), before["topics_seq"].asUInt64());
  const Json::Value events = parse(get("/api/events?since=0").body);
  ASSERT_EQ(events["events"].size(), 1u);
  EXPECT_EQ(events["events"][0]["kind"].asString(), "limit");
  EXPECT_EQ(parse(get("/api/events?since=1").body)["events"].size(), 0u);
}

TEST_F(web_api_test, bridges_show_in_the_api_and_the_live_status) {
  EXPECT_EQ(parse(get("/api/bridges").body)["bridges"].size(), 0u);  // none configured
  bridge::bridge_status up;
  up.name = "cloud";
  up.state = bridge::bridge_state::connected;
  up.address = "broker.example:8883";
  up.messages_sent = 7;
  bridge::bridge_status down;
  down.name = "backup";
  down.state = bridge::bridge_state::waiting;
  down.last_error = "connection refused";
  api.set_bridge_source([&] { return std::vector<bridge::bridge_status>{up, down}; });
  const Json::Value list = parse(get("/api/bridges").body)["bridges"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["state"].asString(), "connected");
  EXPECT_EQ(list[1]["last_error"].asString(), "connection refused");
  EXPECT_EQ(parse(api.live_status())["bridges"][1].asString(), "backup:waiting");
}

TEST(url_decode, decodes_escapes_and_plus) {
  EXPECT_EQ(url_decode("a%2Fb+c%23"), "a/b c#");
  EXPECT_EQ(url_decode("%zz"), std::nullopt);
  EXPECT_EQ(url_decode("%2"), std::nullopt);
  EXPECT_EQ(query_value("a=1&filter=x%2F%2B&b=2", "filter"), "x/+");
  EXPECT_EQ(query_value("a=1", "filter"), std::nullopt);
}

TEST(options_view, masks_every_password) {
  options o;
  o.logins.push_back({"alice", "secret-1", false});
  o.logins.push_back({"bob", "PBKDF2$sha512$1000$c2FsdA==$aGFzaA==", true});
  const std::string text = options_view_json(o, {{"mqtt", 1883}, {"ingress", 8099}}, true);
  EXPECT_EQ(text.find("secret-1"), std::string::npos);
  EXPECT_EQ(text.find("PBKDF2"), std::string::npos);
  const Json::Value v = parse(text);
  EXPECT_EQ(v["options"]["logins"][0]["username"].asString(), "alice");
  EXPECT_EQ(v["options"]["logins"][0]["password"].asString(), "********");
  EXPECT_EQ(v["options"]["cafile"].asString(), "fullchain.pem");  // the effective one
  EXPECT_EQ(v["listeners"][1]["port"].asInt(), 8099);
  EXPECT_TRUE(v["standalone"].asBool());
  EXPECT_EQ(v["options"]["max_connections"].asUInt64(), o.max_connections);
  EXPECT_EQ(v["options"]["max_total_buffer_mb"].asString(), "by memory");
}

}  // namespace
}  // namespace addon
