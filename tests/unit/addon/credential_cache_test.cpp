#include "addon/credential_cache.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

using namespace std::chrono_literals;
using clock_type = credential_cache::clock;

TEST(credential_cache, remembers_a_pair_until_its_time_runs_out) {
  credential_cache cache(60s, 10);
  const clock_type::time_point t0{};
  const std::string key = cache.key_of("alice", "secret");
  EXPECT_FALSE(cache.contains(key, t0));
  cache.remember(key, t0);
  EXPECT_TRUE(cache.contains(key, t0 + 59s));
  EXPECT_FALSE(cache.contains(key, t0 + 60s));
  EXPECT_EQ(cache.size(), 0u);  // the lapsed entry is gone
}

TEST(credential_cache, keys_depend_on_both_user_and_password_and_hide_them) {
  credential_cache cache(60s, 10);
  const std::string key = cache.key_of("alice", "secret");
  EXPECT_EQ(key.size(), 32u);  // an HMAC-SHA256, not the password
  EXPECT_EQ(key.find("secret"), std::string::npos);
  EXPECT_EQ(key, cache.key_of("alice", "secret"));
  EXPECT_NE(key, cache.key_of("alice", "secreT"));
  EXPECT_NE(key, cache.key_of("bob", "secret"));
  EXPECT_NE(cache.key_of("ab", "c"), cache.key_of("a", "bc"));
  // Another cache has another random key: keys cannot be precomputed.
  credential_cache other(60s, 10);
  EXPECT_NE(key, other.key_of("alice", "secret"));
}

TEST(credential_cache, a_wrong_password_is_not_a_hit) {
  credential_cache cache(60s, 10);
  const clock_type::time_point t0{};
  cache.remember(cache.key_of("alice", "secret"), t0);
  EXPECT_FALSE(cache.contains(cache.key_of("alice", "guess"), t0));
  EXPECT_TRUE(cache.contains(cache.key_of("alice", "secret"), t0));
}

TEST(credential_cache, is_bounded_dropping_the_oldest_first) {
  credential_cache cache(60s, 3);
  const clock_type::time_point t0{};
  for (int i = 0; i < 5; ++i) {
    cache.remember(cache.key_of("user" + std::to_string(i), "p"), t0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains(cache.key_of("user0", "p"), t0 + 5s));
  EXPECT_FALSE(cache.contains(cache.key_of("user1", "p"), t0 + 5s));
  EXPECT_TRUE(cache.contains(cache.key_of("user2", "p"), t0 + 5s));
  EXPECT_TRUE(cache.contains(cache.key_of("user4", "p"), t0 + 5s));
}

TEST(credential_cache, remembering_again_extends_the_time) {
  credential_cache cache(60s, 3);
  const clock_type::time_point t0{};
  const std::string key = cache.key_of("alice", "secret");
  cache.remember(key, t0);
  cache.remember(key, t0 + 30s);
  EXPECT_TRUE(cache.contains(key, t0 + 80s));
  // The superseded entry is dropped from the order without removing the newer one.
  cache.remember(cache.key_of("x", "1"), t0 + 61s);
  EXPECT_TRUE(cache.contains(key, t0 + 80s));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(credential_cache, capacity_zero_caches_nothing) {
  credential_cache cache(60s, 0);
  const std::string key = cache.key_of("a", "b");
  cache.remember(key, {});
  EXPECT_FALSE(cache.contains(key, {}));
}

}  // namespace
}  // namespace addon
