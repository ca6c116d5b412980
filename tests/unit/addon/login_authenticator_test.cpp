#include "addon/login_authenticator.hpp"

#include <gtest/gtest.h>

#include <future>
#include <sstream>
#include <thread>

namespace addon {
namespace {

using broker::auth_result;

// hashlib.pbkdf2_hmac('sha512', b'pw', b'\x00\x01\x02\xff', 7, 20), base64-encoded (Python).
constexpr const char* pw_hash = "PBKDF2$sha512$7$AAEC/w==$sszEUJS+6knU0NGosX5grITl2Tg=";

class recording_authenticator : public broker::authenticator {
 public:
  void authenticate(const broker::credentials& who,
                    std::function<void(auth_result)> done) override {
    asked.push_back(*who.username);
    done(auth_result::unavailable);
  }
  std::vector<std::string> asked;
};

class login_authenticator_test : public ::testing::Test {
 protected:
  login_authenticator_test()
      : log_(broker::log_level::info, out_),
        auth_(system_users{"ha-secret", "addons-secret"},
              {login{"alice", "wonder", false}, login{"bob", pw_hash, true}}, log_) {}

  static auth_result decide(broker::authenticator& auth, std::optional<std::string> user,
                            std::optional<std::string> password) {
    std::optional<auth_result> result;
    auth.authenticate(
        broker::credentials{"client", std::move(user), std::move(password), "1.2.3.4:5"},
        [&](auth_result r) { result = r; });
    EXPECT_TRUE(result) << "done must run before authenticate returns";
    return result.value_or(auth_result::accepted);
  }
  auth_result decide(std::optional<std::string> user, std::optional<std::string> password) {
    return decide(auth_, std::move(user), std::move(password));
  }

  std::ostringstream out_;
  broker::logger log_;
  login_authenticator auth_;
};

TEST_F(login_authenticator_test, anonymous_is_refused_as_not_authorized) {
  EXPECT_EQ(decide(std::nullopt, std::nullopt), auth_result::not_authorized);
  EXPECT_EQ(decide(std::nullopt, "wonder"), auth_result::not_authorized);
  EXPECT_EQ(decide("", "wonder"), auth_result::not_authorized);
}

TEST_F(login_authenticator_test, plain_login_accepts_its_password_only) {
  EXPECT_EQ(decide("alice", "wonder"), auth_result::accepted);
  EXPECT_EQ(decide("alice", "wonder!"), auth_result::bad_credentials);
  EXPECT_EQ(decide("alice", ""), auth_result::bad_credentials);
  EXPECT_EQ(decide("alice", std::nullopt), auth_result::bad_credentials);
  EXPECT_EQ(decide("Alice", "wonder"), auth_result::bad_credentials);
}

TEST_F(login_authenticator_test, pre_hashed_login_checks_the_pbkdf2_hash) {
  EXPECT_EQ(decide("bob", "pw"), auth_result::accepted);
  EXPECT_EQ(decide("bob", "px"), auth_result::bad_credentials);
  EXPECT_EQ(decide("bob", pw_hash), auth_result::bad_credentials);  // the hash is not a password
}

TEST_F(login_authenticator_test, system_users_are_decided_locally) {
  EXPECT_EQ(decide("homeassistant", "ha-secret"), auth_result::accepted);
  EXPECT_EQ(decide("addons", "addons-secret"), auth_result::accepted);
  EXPECT_EQ(decide("homeassistant", "addons-secret"), auth_result::bad_credentials);
  EXPECT_EQ(decide("addons", "ha-secret"), auth_result::bad_credentials);
}

TEST_F(login_authenticator_test, unknown_user_without_fallback_is_bad_credentials) {
  EXPECT_EQ(decide("mallory", "wonder"), auth_result::bad_credentials);
}

TEST(login_authenticator, only_unknown_users_reach_the_fallback) {
  std::ostringstream out;
  broker::logger log(broker::log_level::info, out);
  recording_authenticator hub;
  login_authenticator auth(system_users{"ha", "ad"}, {login{"alice", "wonder", false}}, log, &hub);
  auto decide = [&](std::string user, std::string password) {
    std::optional<auth_result> result;
    auth.authenticate(broker::credentials{"c", user, password, "x"},
                      [&](auth_result r) { result = r; });
    return result;
  };
  EXPECT_EQ(decide("mallory", "x"), auth_result::unavailable);
  EXPECT_EQ(decide("alice", "wrong"), auth_result::bad_credentials);
  EXPECT_EQ(decide("homeassistant", "wrong"), auth_result::bad_credentials);
  EXPECT_EQ(decide("alice", "wonder"), auth_result::accepted);
  EXPECT_EQ(hub.asked, std::vector<std::string>{"mallory"});
}

class login_authenticator_worker_test : public ::testing::Test {
 protected:
  login_authenticator_worker_test() : log_(broker::log_level::info, out_) {}

  std::ostringstream out_;
  broker::logger log_;
};

TEST_F(login_authenticator_worker_test, pre_hashed_checks_run_on_the_worker_then_are_cached) {
  background_worker worker(16);
  login_authenticator auth(system_users{"ha", "ad"}, {login{"bob", pw_hash, true}}, log_, nullptr,
                           &worker);
  std::promise<std::pair<auth_result, std::thread::id>> first;
  auth.authenticate({"c", std::string("bob"), std::string("pw"), "x"}, [&](auth_result r) {
    first.set_value({r, std::this_thread::get_id()});
  });
  auto answer = first.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto [result, thread] = answer.get();
  EXPECT_EQ(result, auth_result::accepted);
  EXPECT_NE(thread, std::this_thread::get_id());  // not on the caller's (I/O) thread
  EXPECT_EQ(auth.cached(), 1u);

  // Verified a moment ago: decided at once, without the worker.
  std::optional<auth_result> again;
  auth.authenticate({"c", std::string("bob"), std::string("pw"), "x"},
                    [&](auth_result r) { again = r; });
  EXPECT_EQ(again, auth_result::accepted);
  worker.stop();
}

TEST_F(login_authenticator_worker_test, a_wrong_pre_hashed_password_is_not_cached) {
  background_worker worker(16);
  login_authenticator auth(system_users{"ha", "ad"}, {login{"bob", pw_hash, true}}, log_, nullptr,
                           &worker);
  std::promise<auth_result> answered;
  auth.authenticate({"c", std::string("bob"), std::string("px"), "x"},
                    [&](auth_result r) { answered.set_value(r); });
  auto answer = answered.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(answer.get(), auth_result::bad_credentials);
  EXPECT_EQ(auth.cached(), 0u);
  worker.stop();
}

TEST_F(login_authenticator_worker_test, a_full_queue_answers_server_unavailable) {
  background_worker worker(0);  // accepts nothing
  login_authenticator auth(system_users{"ha", "ad"}, {login{"bob", pw_hash, true}}, log_, nullptr,
                           &worker);
  std::optional<auth_result> result;
  auth.authenticate({"c", std::string("bob"), std::string("pw"), "x"},
                    [&](auth_result r) { result = r; });
  EXPECT_EQ(result, auth_result::unavailable);
  // Plain passwords never need the worker.
  login_authenticator plain(system_users{"ha", "ad"}, {login{"alice", "wonder", false}}, log_,
                            nullptr, &worker);
  plain.authenticate({"c", std::string("alice"), std::string("wonder"), "x"},
                     [&](auth_result r) { result = r; });
  EXPECT_EQ(result, auth_result::accepted);
  EXPECT_NE(out_.str().find("queued beyond their limit"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace addon
