#include "addon/background_worker.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <vector>

namespace addon {
namespace {

using namespace std::chrono_literals;

TEST(background_worker, runs_jobs_in_order_on_its_own_thread) {
  background_worker worker(8);
  std::mutex mutex;
  std::vector<int> order;
  std::promise<std::thread::id> last;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(worker.post([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
    }));
  }
  ASSERT_TRUE(worker.post([&] { last.set_value(std::this_thread::get_id()); }));
  auto id = last.get_future();
  ASSERT_EQ(id.wait_for(5s), std::future_status::ready);
  EXPECT_NE(id.get(), std::this_thread::get_id());
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(background_worker, refuses_jobs_beyond_its_queue) {
  background_worker worker(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(worker.post([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(worker.post([] {}));   // queued behind the running one
  EXPECT_FALSE(worker.post([] {}));  // beyond the limit of 1
  release.set_value();
  worker.stop();
  EXPECT_FALSE(worker.post([] {}));  // stopped
}

TEST(background_worker, stop_drops_what_is_queued) {
  background_worker worker(8);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  bool dropped_ran = false;
  worker.post([&] {
    started.set_value();
    released.wait();
  });
  started.get_future().wait();
  worker.post([&] { dropped_ran = true; });
  std::thread stopper([&] { worker.stop(); });
  std::this_thread::sleep_for(20ms);
  release.set_value();
  stopper.join();
  EXPECT_FALSE(dropped_ran);
}

}  // namespace
}  // namespace addon
