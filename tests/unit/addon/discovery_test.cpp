#include "addon/discovery.hpp"

#include <gtest/gtest.h>
#include <json/json.h>

#include <sstream>
#include <thread>

#include "fake_supervisor_transport.hpp"

namespace addon {
namespace {

using namespace std::chrono_literals;

Json::Value parse(const std::string& text) {
  Json::Value v;
  std::istringstream(text) >> v;
  return v;
}

discovery_settings settings() {
  discovery_settings s;
  s.host = "core-mqtt";
  s.port = 1883;
  return s;
}

constexpr const char* ok_body = R"({"result": "ok", "data": {"uuid": "abc"}})";

class discovery_test : public ::testing::Test {
 protected:
  discovery_test()
      : log_(broker::log_level::info, out_),
        d_(transport_, {"ha-pass", "addons-pass"}, settings(), log_) {}

  std::ostringstream out_;
  broker::logger log_;
  fake_supervisor_transport transport_;
  discovery d_;
};

TEST_F(discovery_test, announces_discovery_then_replaces_the_service) {
  d_.start();
  ASSERT_EQ(transport_.requests.size(), 1u);
  const supervisor_request& first = transport_.requests[0].request;
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.path, "/discovery");
  const Json::Value body = parse(first.body);
  EXPECT_EQ(body["service"].asString(), "mqtt");
  const Json::Value& config = body["config"];
  EXPECT_EQ(config["host"].asString(), "core-mqtt");
  EXPECT_EQ(config["port"].asInt(), 1883);
  EXPECT_TRUE(config["port"].isIntegral());
  EXPECT_TRUE(config["ssl"].isBool());
  EXPECT_FALSE(config["ssl"].asBool());
  EXPECT_EQ(config["protocol"].asString(), "3.1.1");
  EXPECT_EQ(config["username"].asString(), "homeassistant");
  EXPECT_EQ(config["password"].asString(), "ha-pass");
  EXPECT_EQ(config.size(), 6u);

  transport_.answer(0, 200, ok_body);
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[1].request.method, "DELETE");
  EXPECT_EQ(transport_.requests[1].request.path, "/services/mqtt");
  transport_.answer(1, 400, R"({"result": "error", "message": "no such service"})");  // ignored
  ASSERT_EQ(transport_.requests.size(), 3u);
  const supervisor_request& service = transport_.requests[2].request;
  EXPECT_EQ(service.method, "POST");
  EXPECT_EQ(service.path, "/services/mqtt");
  const Json::Value sconfig = parse(service.body);
  EXPECT_EQ(sconfig["username"].asString(), "addons");
  EXPECT_EQ(sconfig["password"].asString(), "addons-pass");
  EXPECT_EQ(sconfig["host"].asString(), "core-mqtt");
  EXPECT_EQ(sconfig["port"].asInt(), 1883);
  EXPECT_FALSE(sconfig["ssl"].asBool());
  EXPECT_EQ(sconfig["protocol"].asString(), "3.1.1");
  EXPECT_FALSE(d_.announced());
  transport_.answer(2, 200, R"({"result": "ok", "data": {}})");
  EXPECT_TRUE(d_.announced());
  EXPECT_TRUE(transport_.timers.empty());
}

TEST_F(discovery_test, retries_with_growing_delays_and_logs_once_per_outage) {
  d_.start();
  transport_.answer(0, 0, "", "cannot connect: Connection refused");
  ASSERT_EQ(transport_.timers.size(), 1u);
  EXPECT_GE(transport_.timers[0].delay, 800ms);
  EXPECT_LE(transport_.timers[0].delay, 1200ms);
  transport_.fire_timer();
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[1].request.path, "/discovery");  // the same step again
  transport_.answer(1, 500, R"({"result": "error", "message": "boom"})");
  ASSERT_EQ(transport_.timers.size(), 1u);
  EXPECT_GE(transport_.timers[0].delay, 1600ms);
  EXPECT_LE(transport_.timers[0].delay, 2400ms);
  transport_.fire_timer();
  transport_.answer(2, 200, R"({"result": "error", "message": "refused"})");  // 200 but error
  ASSERT_EQ(transport_.timers.size(), 1u);
  transport_.fire_timer();
  transport_.answer(3, 200, ok_body);
  transport_.answer(4, 200, ok_body);  // DELETE
  transport_.answer(5, 200, ok_body);  // POST service
  EXPECT_TRUE(d_.announced());
  const std::string text = out_.str();
  std::size_t warnings = 0;
  for (std::size_t at = text.find(" warning "); at != std::string::npos;
       at = text.find(" warning ", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << text;
  EXPECT_NE(text.find("Connection refused"), std::string::npos) << text;
  EXPECT_NE(text.find("answered after 3 failed attempts"), std::string::npos) << text;
}

TEST_F(discovery_test, a_failed_service_registration_retries_only_the_service) {
  d_.start();
  transport_.answer(0, 200, ok_body);
  transport_.answer(1, 200, ok_body);
  transport_.answer(2, 503);
  ASSERT_EQ(transport_.timers.size(), 1u);
  transport_.fire_timer();
  ASSERT_EQ(transport_.requests.size(), 4u);
  EXPECT_EQ(transport_.requests[3].request.method, "DELETE");
  transport_.answer(3, 0, "", "no answer within 10000 ms");  // ignored, as before
  ASSERT_EQ(transport_.requests.size(), 5u);
  EXPECT_EQ(transport_.requests[4].request.method, "POST");
  EXPECT_EQ(transport_.requests[4].request.path, "/services/mqtt");
  transport_.answer(4, 200, ok_body);
  EXPECT_TRUE(d_.announced());
}

TEST_F(discovery_test, withdraw_stops_the_retries) {
  d_.start();
  transport_.answer(0, 500);
  ASSERT_EQ(transport_.timers.size(), 1u);
  EXPECT_FALSE(d_.withdraw(10ms));  // the fake never answers by itself
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[1].request.method, "DELETE");
  EXPECT_EQ(transport_.requests[1].request.path, "/services/mqtt");
  transport_.fire_timer();
  EXPECT_EQ(transport_.requests.size(), 2u);  // no more announcing
}

TEST(discovery_withdraw, sends_delete_and_waits_for_the_answer) {
  std::ostringstream out;
  broker::logger log(broker::log_level::info, out);
  // A transport that answers on its own thread, like supervisor_client.
  class threaded_transport : public supervisor_transport {
   public:
    void send(supervisor_request r, std::function<void(supervisor_response)> done) override {
      seen = r;
      std::thread([done = std::move(done)] {
        std::this_thread::sleep_for(20ms);
        supervisor_response answer;
        answer.status = 200;
        answer.body = R"({"result": "ok", "data": {}})";
        done(answer);
      }).detach();
    }
    void schedule(std::chrono::milliseconds, std::function<void()>) override { ++scheduled; }
    supervisor_request seen;
    int scheduled = 0;
  } transport;
  discovery d(transport, {"a", "b"}, settings(), log);
  EXPECT_TRUE(d.withdraw(3s));
  EXPECT_EQ(transport.seen.method, "DELETE");
  EXPECT_EQ(transport.seen.path, "/services/mqtt");
  EXPECT_EQ(transport.seen.deadline, 3s);
  std::this_thread::sleep_for(50ms);  // let the detached answerer finish before `d` goes
}

TEST(discovery_withdraw, gives_up_after_its_deadline_without_an_answer) {
  std::ostringstream out;
  broker::logger log(broker::log_level::info, out);
  fake_supervisor_transport transport;  // never answers by itself
  discovery d(transport, {"a", "b"}, settings(), log);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(d.withdraw(100ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].request.method, "DELETE");
}

TEST(discovery_retry_delay, doubles_from_one_second_up_to_a_minute) {
  const discovery_settings s = settings();
  EXPECT_EQ(retry_delay(s, 1, 1.0), 1000ms);
  EXPECT_EQ(retry_delay(s, 2, 1.0), 2000ms);
  EXPECT_EQ(retry_delay(s, 3, 1.0), 4000ms);
  EXPECT_EQ(retry_delay(s, 6, 1.0), 32000ms);
  EXPECT_EQ(retry_delay(s, 7, 1.0), 60000ms);
  EXPECT_EQ(retry_delay(s, 1000, 1.0), 60000ms);
  EXPECT_EQ(retry_delay(s, 1, 0.8), 800ms);
  EXPECT_EQ(retry_delay(s, 7, 1.2), 72000ms);
  EXPECT_EQ(retry_delay(s, 1, 5.0), 1200ms);  // jitter is clamped
}

TEST(supervisor_answers, success_is_2xx_without_an_error_result) {
  EXPECT_TRUE(supervisor_accepted({200, R"({"result": "ok"})", ""}));
  EXPECT_TRUE(supervisor_accepted({201, "not json", ""}));
  EXPECT_FALSE(supervisor_accepted({200, R"({"result": "error", "message": "x"})", ""}));
  EXPECT_FALSE(supervisor_accepted({500, R"({"result": "ok"})", ""}));
  EXPECT_FALSE(supervisor_accepted({0, "", "refused"}));
  EXPECT_EQ(describe_failure({500, R"({"result": "error", "message": "boom"})", ""}),
            "HTTP 500: boom");
  EXPECT_EQ(describe_failure({0, "", "no answer within 10000 ms"}), "no answer within 10000 ms");
}

}  // namespace
}  // namespace addon
