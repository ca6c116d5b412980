#include "transport/deadline_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

namespace {

using transport::deadline_queue;
using clock_type = deadline_queue::clock;
using std::chrono::seconds;

const clock_type::time_point t0 = clock_type::time_point{} + std::chrono::hours(1);

struct owner final : deadline_queue::entry, std::enable_shared_from_this<owner> {
  explicit owner(int id) : id(id) {}
  std::shared_ptr<entry> claim() override {
    if (dying) return nullptr;
    return shared_from_this();
  }
  void expired() override { ++expiries; }
  int id;
  bool dying = false;  // as if its destructor ran on another thread
  int expiries = 0;
};

struct recording_driver : deadline_queue::driver {
  void wake_at(clock_type::time_point t) override { wakes.push_back(t); }
  void stand_down() override { ++stand_downs; }
  std::vector<clock_type::time_point> wakes;
  int stand_downs = 0;
};

std::vector<int> ids(const std::vector<std::shared_ptr<deadline_queue::entry>>& due) {
  std::vector<int> out;
  for (const auto& e : due) out.push_back(static_cast<owner&>(*e).id);
  return out;
}

TEST(DeadlineQueue, ExpiresInDueOrderAndOnlyWhatIsDue) {
  deadline_queue q;
  std::vector<std::shared_ptr<owner>> owners;
  for (int i = 0; i < 5; ++i) owners.push_back(std::make_shared<owner>(i));
  q.schedule(*owners[3], t0 + seconds(3));
  q.schedule(*owners[0], t0 + seconds(5));
  q.schedule(*owners[4], t0 + seconds(1));
  q.schedule(*owners[1], t0 + seconds(4));
  q.schedule(*owners[2], t0 + seconds(2));
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.earliest(), t0 + seconds(1));

  std::vector<std::shared_ptr<deadline_queue::entry>> due;
  EXPECT_EQ(q.expire(t0 + seconds(3), due), t0 + seconds(4));
  EXPECT_EQ(ids(due), (std::vector<int>{4, 2, 3}));
  EXPECT_FALSE(owners[4]->scheduled());
  EXPECT_TRUE(owners[1]->scheduled());
  due.clear();
  EXPECT_EQ(q.expire(t0 + seconds(10), due), clock_type::time_point::max());
  EXPECT_EQ(ids(due), (std::vector<int>{1, 0}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueue, MovingAnEntryEarlierOrLaterReordersIt) {
  deadline_queue q;
  auto a = std::make_shared<owner>(1);
  auto b = std::make_shared<owner>(2);
  auto c = std::make_shared<owner>(3);
  q.schedule(*a, t0 + seconds(1));
  q.schedule(*b, t0 + seconds(2));
  q.schedule(*c, t0 + seconds(3));
  q.schedule(*a, t0 + seconds(9));  // later
  q.schedule(*c, t0);               // earlier
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(a->due(), t0 + seconds(9));
  std::vector<std::shared_ptr<deadline_queue::entry>> due;
  q.expire(t0 + seconds(9), due);
  EXPECT_EQ(ids(due), (std::vector<int>{3, 2, 1}));
}

TEST(DeadlineQueue, CancelledEntriesNeverExpire) {
  deadline_queue q;
  auto a = std::make_shared<owner>(1);
  auto b = std::make_shared<owner>(2);
  q.cancel(*a);  // not scheduled: nothing
  q.schedule(*a, t0 + seconds(1));
  q.schedule(*b, t0 + seconds(2));
  q.cancel(*a);
  EXPECT_FALSE(a->scheduled());
  EXPECT_EQ(q.earliest(), t0 + seconds(2));
  std::vector<std::shared_ptr<deadline_queue::entry>> due;
  q.expire(t0 + seconds(5), due);
  EXPECT_EQ(ids(due), (std::vector<int>{2}));
}

TEST(DeadlineQueue, TellsItsDriverOnlyOfAnEarlierFirstDeadlineAndOfEmptiness) {
  recording_driver d;
  deadline_queue q;
  q.set_driver(&d);
  auto a = std::make_shared<owner>(1);
  auto b = std::make_shared<owner>(2);
  q.schedule(*a, t0 + seconds(5));  // the first: a wake
  q.schedule(*b, t0 + seconds(7));  // not the earliest: none
  q.schedule(*b, t0 + seconds(2));  // now the earliest: a wake
  EXPECT_EQ(d.wakes, (std::vector<clock_type::time_point>{t0 + seconds(5), t0 + seconds(2)}));
  q.cancel(*b);
  EXPECT_EQ(d.stand_downs, 0);
  q.cancel(*a);
  EXPECT_EQ(d.stand_downs, 1);
  q.set_driver(nullptr);
}

TEST(DeadlineQueue, AnOwnerThatCannotBeClaimedStaysForItsDestructorToCancel) {
  deadline_queue q;
  auto a = std::make_shared<owner>(1);
  auto b = std::make_shared<owner>(2);
  q.schedule(*a, t0 + seconds(1));
  q.schedule(*b, t0 + seconds(2));
  a->dying = true;
  std::vector<std::shared_ptr<deadline_queue::entry>> due;
  q.expire(t0 + seconds(3), due);
  EXPECT_EQ(ids(due), (std::vector<int>{2}));
  EXPECT_TRUE(a->scheduled());
  EXPECT_EQ(q.size(), 1u);
  q.cancel(*a);  // what its destructor does
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueue, DestroyedWithEntriesLetsThemGo) {
  auto a = std::make_shared<owner>(1);
  {
    deadline_queue q;
    q.schedule(*a, t0);
  }
  EXPECT_FALSE(a->scheduled());
}

// Against a sorted model: random schedules, moves, cancels and expiries keep the heap's order.
TEST(DeadlineQueue, RandomOperationsMatchASortedModel) {
  // Declared first: the queue, destroyed before them, lets go of those still scheduled.
  std::vector<std::shared_ptr<owner>> owners;
  for (int i = 0; i < 200; ++i) owners.push_back(std::make_shared<owner>(i));
  deadline_queue q;
  std::mt19937 rng(7);
  std::vector<std::shared_ptr<deadline_queue::entry>> due;
  clock_type::time_point now = t0;
  for (int step = 0; step < 20000; ++step) {
    owner& o = *owners[rng() % owners.size()];
    switch (rng() % 4) {
      case 0:
      case 1:
        q.schedule(o, now + std::chrono::milliseconds(rng() % 5000));
        break;
      case 2:
        q.cancel(o);
        break;
      case 3: {
        now += std::chrono::milliseconds(rng() % 200);
        std::vector<std::pair<clock_type::time_point, int>> expected;
        for (const auto& x : owners) {
          if (x->scheduled() && x->due() <= now) expected.emplace_back(x->due(), x->id);
        }
        std::sort(expected.begin(), expected.end());
        due.clear();
        q.expire(now, due);
        // In due order, and exactly the entries due (ties in any order).
        std::vector<std::pair<clock_type::time_point, int>> got;
        for (const auto& e : due) {
          const auto& x = static_cast<owner&>(*e);
          if (!got.empty()) {
            EXPECT_LE(got.back().first, x.due());
          }
          got.emplace_back(x.due(), x.id);
        }
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected);
        break;
      }
    }
    std::size_t scheduled = 0;
    clock_type::time_point earliest = clock_type::time_point::max();
    for (const auto& x : owners) {
      if (x->scheduled()) {
        ++scheduled;
        earliest = std::min(earliest, x->due());
      }
    }
    ASSERT_EQ(q.size(), scheduled);
    ASSERT_EQ(q.earliest(), earliest);
  }
}

}  // namespace
