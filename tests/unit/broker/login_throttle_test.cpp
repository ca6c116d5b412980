// The login throttle: guessing one name or from one address slows down, nobody else does.

#include "broker/login_throttle.hpp"

#include <gtest/gtest.h>

namespace broker {
namespace {

using clock = login_throttle::clock;
using std::chrono::milliseconds;

// One attempt in sequence: checked when the throttle lets it, answered. Returns when it was
// checked.
clock::time_point attempt(login_throttle& t, std::string_view user, std::string_view host,
                          bool failed, clock::time_point now) {
  while (auto wait = t.before_check(user, host, now)) now = *wait;
  t.after_check(user, host, failed, now);
  return now;
}

TEST(login_throttle, a_few_failures_cost_nothing) {
  login_throttle t;
  const clock::time_point start = clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(attempt(t, "victim", "10.0.0.1", true, start), start);
}

TEST(login_throttle, guessing_one_name_is_spaced_by_a_doubling_delay) {
  login_throttle_config config;
  config.address_free_failures = 1000;  // this test is about the name
  login_throttle t(config);
  const clock::time_point start = clock::now();
  clock::time_point now = start;
  std::vector<clock::time_point> checked;
  for (int i = 0; i < 9; ++i) checked.push_back(now = attempt(t, "victim", "10.0.0.1", true, now));
  // Five free, the sixth at once (it sets the spacing), then 0.5 s, 1 s, 2 s.
  EXPECT_EQ(checked[5], start);
  EXPECT_EQ(checked[6] - checked[5], milliseconds(500));
  EXPECT_EQ(checked[7] - checked[6], milliseconds(1000));
  EXPECT_EQ(checked[8] - checked[7], milliseconds(2000));
}

TEST(login_throttle, the_spacing_stops_doubling_at_its_cap) {
  login_throttle_config config;
  config.address_free_failures = 1000;
  login_throttle t(config);
  clock::time_point now = clock::now();
  clock::time_point previous = now;
  for (int i = 0; i < 20; ++i) {
    now = attempt(t, "victim", "10.0.0.1", true, now);
    EXPECT_LE(now - previous, config.max_delay);
    previous = now;
  }
}

TEST(login_throttle, another_user_from_the_same_address_is_checked_at_once) {
  login_throttle t;
  clock::time_point now = clock::now();
  for (int i = 0; i < 8; ++i) now = attempt(t, "victim", "10.0.0.1", true, now);
  EXPECT_TRUE(t.before_check("victim", "10.0.0.1", now).has_value());
  EXPECT_FALSE(t.before_check("alice", "10.0.0.1", now).has_value());
  t.after_check("alice", "10.0.0.1", false, now);
}

TEST(login_throttle, a_guessed_name_is_slowed_from_every_address) {
  login_throttle t;
  clock::time_point now = clock::now();
  for (int i = 0; i < 8; ++i) {
    now = attempt(t, "victim", "10.0.0." + std::to_string(i), true, now);
  }
  EXPECT_TRUE(t.before_check("victim", "10.0.9.9", now).has_value());
}

TEST(login_throttle, a_parallel_burst_for_one_name_is_spaced_too) {
  login_throttle t;
  const clock::time_point now = clock::now();
  int let_through = 0;
  for (int i = 0; i < 50; ++i) {
    if (!t.before_check("victim", "10.0.0." + std::to_string(i), now)) ++let_through;
  }
  EXPECT_EQ(let_through, 6);  // the free ones, and the first spaced one
}

TEST(login_throttle, refusals_to_a_guessing_address_are_held_back_growing) {
  login_throttle t;
  clock::time_point now = clock::now();
  std::vector<clock::duration> holds;
  for (int i = 0; i < 14; ++i) {
    const std::string user = "user" + std::to_string(i);  // a spray: every name new
    ASSERT_FALSE(t.before_check(user, "10.0.0.1", now));
    const login_throttle::verdict v = t.after_check(user, "10.0.0.1", true, now);
    holds.push_back(v.hold);
    if (i == 10) {
      EXPECT_TRUE(v.address_now_throttled);
    }
    now += v.hold;
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(holds[i], clock::duration::zero());
  EXPECT_EQ(holds[10], milliseconds(250));
  EXPECT_EQ(holds[11], milliseconds(500));
  EXPECT_EQ(holds[13], milliseconds(2000));
}

TEST(login_throttle, many_held_refusals_make_new_attempts_from_that_address_wait) {
  login_throttle t;
  const clock::time_point now = clock::now();
  for (int i = 0; i < 14; ++i) {
    const std::string user = "user" + std::to_string(i);
    ASSERT_FALSE(t.before_check(user, "10.0.0.1", now));
    t.after_check(user, "10.0.0.1", true, now);
  }
  // Four refusals held: a fifth attempt waits for the first of them.
  const auto wait = t.before_check("someone", "10.0.0.1", now);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, now + milliseconds(250));                 // when the first held one goes
  EXPECT_FALSE(t.before_check("someone", "10.0.0.2", now));  // another address: at once
}

TEST(login_throttle, the_right_password_starts_the_name_over) {
  login_throttle t;
  clock::time_point now = clock::now();
  for (int i = 0; i < 7; ++i) now = attempt(t, "alice", "10.0.0.1", true, now);
  now = attempt(t, "alice", "10.0.0.1", false, now);
  EXPECT_FALSE(t.before_check("alice", "10.0.0.1", now).has_value());
}

// Someone guessing the hub's password from elsewhere does not keep the hub out: the address
// that logged in with the right password before is checked at once, and its logins do not give
// the guesser free attempts again.
TEST(login_throttle, a_guessed_name_does_not_hold_back_its_known_address) {
  login_throttle t;
  const clock::time_point start = clock::now();
  EXPECT_EQ(attempt(t, "homeassistant", "172.30.32.1", false, start), start);
  clock::time_point now = start;
  for (int i = 0; i < 10; ++i) now = attempt(t, "homeassistant", "10.0.0.66", true, now);
  ASSERT_TRUE(t.before_check("homeassistant", "10.0.0.77", now).has_value());  // spaced
  EXPECT_FALSE(t.before_check("homeassistant", "172.30.32.1", now).has_value());
  t.after_check("homeassistant", "172.30.32.1", false, now);
  // The hub's login did not start the name over for the guesser.
  EXPECT_TRUE(t.before_check("homeassistant", "10.0.0.66", now).has_value());
  // A wrong password from the known address (the password changed, say) ends its trust.
  t.after_check("homeassistant", "172.30.32.1", true, now);
  EXPECT_TRUE(t.before_check("homeassistant", "172.30.32.1", now).has_value());
}

TEST(login_throttle, quiet_names_and_addresses_are_forgotten) {
  login_throttle t;
  clock::time_point now = clock::now();
  for (int i = 0; i < 8; ++i) now = attempt(t, "victim", "10.0.0.1", true, now);
  EXPECT_EQ(t.tracked(), 2u);
  now += std::chrono::minutes(11);
  t.forget_idle(now);
  EXPECT_EQ(t.tracked(), 0u);
  EXPECT_FALSE(t.before_check("victim", "10.0.0.1", now).has_value());
}

TEST(login_throttle, the_tables_are_bounded) {
  login_throttle_config config;
  config.max_tracked = 3;
  login_throttle t(config);
  const clock::time_point now = clock::now();
  for (int i = 0; i < 10; ++i) {
    const std::string name = std::to_string(i);
    EXPECT_FALSE(t.before_check(name, name, now));
    t.after_check(name, name, true, now);
  }
  EXPECT_EQ(t.tracked(), 6u);
}

TEST(login_throttle, host_of_strips_the_port) {
  EXPECT_EQ(host_of("10.1.2.3:1883"), "10.1.2.3");
  EXPECT_EQ(host_of("[::1]:1883"), "::1");
  EXPECT_EQ(host_of("[fe80::1%eth0]:51000"), "fe80::1%eth0");
}

}  // namespace
}  // namespace broker
