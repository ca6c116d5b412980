#include "transport/session_registry.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace {

using transport::session_base;
using transport::session_registry;

struct counting_session final : session_base {
  void request_close() override { ++requests; }
  void close_now() override { ++closes; }
  int requests = 0;
  int closes = 0;
};

TEST(SessionRegistry, IdsAreNonZeroDistinctAndReusedAfterRemoval) {
  session_registry r;
  auto a = std::make_shared<counting_session>();
  auto b = std::make_shared<counting_session>();
  const auto ia = r.add(a);
  const auto ib = r.add(b);
  EXPECT_NE(ia, 0u);
  EXPECT_NE(ib, 0u);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(r.size(), 2u);
  r.remove(ia);
  EXPECT_EQ(r.size(), 1u);
  auto c = std::make_shared<counting_session>();
  EXPECT_EQ(r.add(c), ia);  // the freed slot, not a new one
  EXPECT_EQ(r.size(), 2u);
  r.remove(0);  // never given: ignored
  r.remove(99);
  EXPECT_EQ(r.size(), 2u);
}

TEST(SessionRegistry, CloseAllAsksEveryLiveSessionOnceAndRefusesNewOnes) {
  session_registry r;
  std::vector<std::shared_ptr<counting_session>> live;
  for (int i = 0; i < 5; ++i) {
    live.push_back(std::make_shared<counting_session>());
    r.add(live.back());
  }
  r.remove(2);  // the second: closed already
  auto gone = std::make_shared<counting_session>();
  r.add(gone);   // takes slot 2 again
  gone.reset();  // destroyed without removing itself: skipped
  r.close_all();
  EXPECT_EQ(live[0]->requests, 1);
  EXPECT_EQ(live[1]->requests, 0);
  for (int i = 2; i < 5; ++i) EXPECT_EQ(live[i]->requests, 1);
  EXPECT_EQ(r.add(std::make_shared<counting_session>()), 0u);
  r.close_all_now();
  EXPECT_EQ(live[0]->closes, 1);
  EXPECT_EQ(live[1]->closes, 0);
}

}  // namespace
