#include "addon/hub_authenticator.hpp"

#include <gtest/gtest.h>
#include <json/json.h>

#include <optional>
#include <sstream>

#include "fake_supervisor_transport.hpp"

namespace addon {
namespace {

using broker::auth_result;

class hub_authenticator_test : public ::testing::Test {
 protected:
  hub_authenticator_test() : log_(broker::log_level::info, out_), hub_(transport_, log_) {}

  // Starts a login; the result lands in the returned slot once the fake answers.
  std::shared_ptr<std::optional<auth_result>> login(std::string user, std::string password) {
    auto slot = std::make_shared<std::optional<auth_result>>();
    hub_.authenticate(broker::credentials{"client", user, password, "1.2.3.4:5"},
                      [slot](auth_result r) { *slot = r; });
    return slot;
  }

  std::ostringstream out_;
  broker::logger log_;
  fake_supervisor_transport transport_;
  hub_authenticator hub_;
};

TEST_F(hub_authenticator_test, asks_the_supervisor_auth_with_a_json_body) {
  auto result = login("dave", "pa\"ss");
  ASSERT_EQ(transport_.requests.size(), 1u);
  const supervisor_request& r = transport_.requests[0].request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/auth");
  EXPECT_LE(r.deadline.count(), 9000);  // answers before the 10 s connect timeout
  Json::Value body;
  std::istringstream(r.body) >> body;
  EXPECT_EQ(body["username"].asString(), "dave");
  EXPECT_EQ(body["password"].asString(), "pa\"ss");
  EXPECT_FALSE(*result);  // not decided before the answer
  transport_.answer(0, 200);
  EXPECT_EQ(*result, auth_result::accepted);
}

TEST_F(hub_authenticator_test, maps_every_answer_to_a_connack) {
  const std::pair<int, auth_result> cases[] = {
      {200, auth_result::accepted},        {401, auth_result::bad_credentials},
      {403, auth_result::bad_credentials}, {500, auth_result::unavailable},
      {404, auth_result::unavailable},     {204, auth_result::unavailable},
      {0, auth_result::unavailable},  // no answer (timeout, refused)
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    auto result = login(std::string("user") + std::to_string(i), "pw");
    transport_.answer(i, cases[i].first, "", "no answer within 5000 ms");
    EXPECT_EQ(*result, cases[i].second) << cases[i].first;
  }
}

TEST_F(hub_authenticator_test, an_accepted_pair_is_cached_and_a_refused_one_is_not) {
  auto first = login("dave", "right");
  transport_.answer(0, 200);
  ASSERT_EQ(*first, auth_result::accepted);
  auto again = login("dave", "right");
  EXPECT_EQ(*again, auth_result::accepted);  // at once, without a request
  EXPECT_EQ(transport_.requests.size(), 1u);

  auto wrong = login("dave", "wrong");  // another password is another pair
  ASSERT_EQ(transport_.requests.size(), 2u);
  transport_.answer(1, 401);
  EXPECT_EQ(*wrong, auth_result::bad_credentials);
  login("dave", "wrong");
  EXPECT_EQ(transport_.requests.size(), 3u);  // refusals are asked again
  EXPECT_EQ(hub_.cached(), 1u);
}

TEST_F(hub_authenticator_test, unavailable_is_not_cached) {
  auto first = login("dave", "pw");
  transport_.answer(0, 502);
  EXPECT_EQ(*first, auth_result::unavailable);
  login("dave", "pw");
  EXPECT_EQ(transport_.requests.size(), 2u);
}

TEST_F(hub_authenticator_test, identical_logins_in_flight_share_one_request) {
  auto a = login("dave", "pw");
  auto b = login("dave", "pw");
  auto c = login("erin", "pw");
  ASSERT_EQ(transport_.requests.size(), 2u);
  transport_.answer(0, 200);
  EXPECT_EQ(*a, auth_result::accepted);
  EXPECT_EQ(*b, auth_result::accepted);
  EXPECT_FALSE(*c);
  transport_.answer(1, 401);
  EXPECT_EQ(*c, auth_result::bad_credentials);
}

TEST_F(hub_authenticator_test, no_password_or_no_user_is_decided_locally) {
  std::optional<auth_result> result;
  hub_.authenticate(broker::credentials{"c", std::string("dave"), std::nullopt, "x"},
                    [&](auth_result r) { result = r; });
  EXPECT_EQ(result, auth_result::bad_credentials);
  hub_.authenticate(broker::credentials{"c", std::nullopt, std::string("pw"), "x"},
                    [&](auth_result r) { result = r; });
  EXPECT_EQ(result, auth_result::not_authorized);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(hub_authenticator_test, the_hubs_trouble_is_logged_once_per_outage) {
  for (int i = 0; i < 3; ++i) {
    login(std::string("u") + std::to_string(i), "pw");
    transport_.answer(i, 500);
  }
  login("ok", "pw");
  transport_.answer(3, 200);
  const std::string text = out_.str();
  std::size_t count = 0;
  for (std::size_t at = text.find("cannot say"); at != std::string::npos;
       at = text.find("cannot say", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << text;
  EXPECT_NE(text.find("answers again"), std::string::npos) << text;
}

TEST(hub_authenticator_limits, too_many_distinct_logins_waiting_are_unavailable) {
  std::ostringstream out;
  broker::logger log(broker::log_level::info, out);
  fake_supervisor_transport transport;
  hub_auth_settings settings;
  settings.max_pending_logins = 2;
  hub_authenticator hub(transport, log, settings);
  std::optional<auth_result> third;
  hub.authenticate({"c", std::string("a"), std::string("p"), "x"}, [](auth_result) {});
  hub.authenticate({"c", std::string("b"), std::string("p"), "x"}, [](auth_result) {});
  hub.authenticate({"c", std::string("c"), std::string("p"), "x"},
                   [&](auth_result r) { third = r; });
  EXPECT_EQ(third, auth_result::unavailable);
  EXPECT_EQ(transport.requests.size(), 2u);
}

}  // namespace
}  // namespace addon
