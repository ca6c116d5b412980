// Group commit, flush(), when_durable() and back-pressure.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <numeric>
#include <random>
#include <thread>

#include "storage/log_store.hpp"
#include "store_test_support.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Holds the writer thread inside a when_durable callback until release() (at most 5 s): a
// writer stuck on a slow disk, without a test hook in the store.
class writer_stall {
 public:
  explicit writer_stall(log_store& store) : gate_(std::make_shared<gate>()) {
    auto entered = gate_->entered.get_future();
    store.when_durable(0, [g = gate_] {
      g->entered.set_value();
      g->released.wait_for(5s);
    });
    EXPECT_EQ(entered.wait_for(5s), std::future_status::ready);
  }
  ~writer_stall() { release(); }

  void release() {
    if (!released_) gate_->release.set_value();
    released_ = true;
  }

 private:
  struct gate {
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
  };
  std::shared_ptr<gate> gate_;
  bool released_ = false;
};

// A disk that refuses to grow files past `bytes` (RLIMIT_FSIZE: writes fail with EFBIG), until
// lift() or destruction restores the limit.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  }
  ~file_size_limit() { lift(); }
  void lift() {
    if (lifted_) return;
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
    lifted_ = true;
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_ = SIG_DFL;
  bool lifted_ = false;
};

TEST(log_store_durability, write_error_keeps_changes_queued_and_retries_on_a_new_log) {
  temp_dir dir;
  log_store_options options;
  options.retry_interval = 20ms;
  log_capture log;
  contents model{{"before", "1"}};
  {
    auto s = open_store(dir.path(), options, log.fn());
    s.store->put("before", "1");
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    file_size_limit limit(200);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(s.store->put("k" + std::to_string(i), std::string(50, 'x')).ok());
      model["k" + std::to_string(i)] = std::string(50, 'x');
    }
    EXPECT_EQ(s.store->flush(in(200ms)), flush_status::timeout);
    EXPECT_EQ(s.store->durable_sequence(), 1u);
    EXPECT_GE(s.store->stats().write_errors, 1u);
    limit.lift();
    EXPECT_EQ(s.store->flush(in(5s)), flush_status::ok);
    EXPECT_EQ(s.store->stats().records_written, 21u);
  }
  EXPECT_TRUE(log.contains("cannot write to the log")) << log.joined();
  EXPECT_TRUE(log.contains("works again")) << log.joined();
  // The logs cut short by the failed writes are damaged files now: kept aside, and nothing lost.
  EXPECT_EQ(read_store(dir.path()), model);
}

TEST(log_store_durability, close_gives_up_on_a_failing_disk_at_its_deadline) {
  temp_dir dir;
  log_store_options options;
  options.retry_interval = 20ms;
  log_capture log;
  auto s = open_store(dir.path(), options, log.fn());
  file_size_limit limit(100);
  for (int i = 0; i < 20; ++i) s.store->put("k" + std::to_string(i), std::string(50, 'x'));
  const auto start = clock::now();
  EXPECT_FALSE(s.store->close(start + 100ms));
  EXPECT_GE(clock::now() - start, 100ms);
  EXPECT_LT(clock::now() - start, 2s);
  EXPECT_EQ(s.store->stats().unwritten_records_at_close, 20u);
  EXPECT_TRUE(log.contains("closing with 20 changes not written")) << log.joined();
}

TEST(log_store_durability, group_commit_writes_many_changes_per_fsync) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = 50ms;
  auto s = open_store(dir.path(), options);
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(s.store->put("k" + std::to_string(i), "v").ok());
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  const store_stats st = s.store->stats();
  EXPECT_EQ(st.records_written, 5000u);
  EXPECT_GE(st.commits, 1u);
  EXPECT_LE(st.commits, 5u);
}

TEST(log_store_durability, zero_interval_still_groups_changes_from_many_threads) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = 0ms;
  auto s = open_store(dir.path(), options);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i)
        s.store->put("t" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  const store_stats st = s.store->stats();
  EXPECT_EQ(st.records_written, 8000u);
  EXPECT_LT(st.commits * 10, st.records_written) << st.commits << " commits";
}

TEST(log_store_durability, change_reaches_disk_within_the_commit_interval_without_flush) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = 200ms;
  auto s = open_store(dir.path(), options);
  const auto start = clock::now();
  const std::uint64_t seq = s.store->put("r/a", "1").seq;
  EXPECT_EQ(s.store->durable_sequence(), 0u);  // waiting for more changes to group
  while (s.store->durable_sequence() < seq && clock::now() < start + 3s) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(s.store->durable_sequence(), seq);
  EXPECT_GE(clock::now() - start, 150ms);
  EXPECT_LT(clock::now() - start, 2s);
}

TEST(log_store_durability, flush_commits_at_once_whatever_the_interval) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = std::chrono::hours(1);
  auto s = open_store(dir.path(), options);
  s.store->put("a", "1");
  s.store->put("b", "2");
  const auto start = clock::now();
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  EXPECT_LT(clock::now() - start, 2s);
  EXPECT_EQ(s.store->durable_sequence(), 2u);
  EXPECT_EQ(s.store->stats().commits, 1u);
}

TEST(log_store_durability, flush_gives_up_at_its_deadline_when_the_writer_is_stuck) {
  temp_dir dir;
  auto s = open_store(dir.path());
  writer_stall stall(*s.store);
  s.store->put("a", "1");
  const auto start = clock::now();
  EXPECT_EQ(s.store->flush(start + 50ms), flush_status::timeout);
  EXPECT_GE(clock::now() - start, 50ms);
  EXPECT_LT(clock::now() - start, 2s);
  stall.release();
  EXPECT_EQ(s.store->flush(in(5s)), flush_status::ok);
}

TEST(log_store_durability, callbacks_run_in_sequence_order_on_the_writer_thread) {
  temp_dir dir;
  auto s = open_store(dir.path());
  writer_stall stall(*s.store);
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 50; ++i) seqs.push_back(s.store->put("k" + std::to_string(i), "v").seq);
  std::shuffle(seqs.begin(), seqs.end(), std::mt19937(7));
  std::mutex mutex;
  std::vector<std::uint64_t> fired;
  bool on_test_thread = false;
  std::promise<void> all_fired;
  const auto test_thread = std::this_thread::get_id();
  for (std::uint64_t seq : seqs) {
    ASSERT_TRUE(s.store->when_durable(seq, [&, seq] {
      std::lock_guard lock(mutex);
      fired.push_back(seq);
      on_test_thread = on_test_thread || std::this_thread::get_id() == test_thread;
      if (fired.size() == 50) all_fired.set_value();
    }));
  }
  stall.release();
  ASSERT_EQ(all_fired.get_future().wait_for(5s), std::future_status::ready);
  std::lock_guard lock(mutex);
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  EXPECT_FALSE(on_test_thread);
  EXPECT_GE(s.store->durable_sequence(), 50u);
}

TEST(log_store_durability, callback_for_a_sequence_already_durable_runs_too) {
  temp_dir dir;
  auto s = open_store(dir.path());
  const std::uint64_t seq = s.store->put("a", "1").seq;
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(s.store->when_durable(seq, [&] { ran.set_value(std::this_thread::get_id()); }));
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(log_store_durability, registering_a_callback_commits_without_waiting_for_the_interval) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = std::chrono::hours(1);
  auto s = open_store(dir.path(), options);
  std::promise<void> durable;
  ASSERT_TRUE(s.store->when_durable(s.store->put("a", "1").seq, [&] { durable.set_value(); }));
  EXPECT_EQ(durable.get_future().wait_for(5s), std::future_status::ready);
}

TEST(log_store_durability, flush_inside_a_callback_is_refused_not_deadlocked) {
  temp_dir dir;
  auto s = open_store(dir.path());
  std::promise<flush_status> result;
  s.store->when_durable(0, [&] { result.set_value(s.store->flush(in(5s))); });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), flush_status::writer_thread);
}

TEST(log_store_durability, callbacks_past_their_limit_are_refused_and_counted) {
  temp_dir dir;
  log_store_options options;
  options.max_durable_callbacks = 2;
  auto s = open_store(dir.path(), options);
  writer_stall stall(*s.store);  // its own callback has left the queue to run
  EXPECT_TRUE(s.store->when_durable(100, [] {}));
  EXPECT_TRUE(s.store->when_durable(100, [] {}));
  EXPECT_FALSE(s.store->when_durable(100, [] {}));
  EXPECT_EQ(s.store->stats().callbacks_rejected, 1u);
}

TEST(log_store_durability, full_queue_reports_backpressure_and_loses_nothing_accepted) {
  temp_dir dir;
  log_store_options options;
  options.max_queued_bytes = 4096;
  std::vector<std::string> accepted;
  {
    auto s = open_store(dir.path(), options);
    writer_stall stall(*s.store);
    write_result refused;
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "k" + std::to_string(i);
      const write_result r = s.store->put(key, std::string(100, 'v'));
      if (!r.ok()) {
        refused = r;
        break;
      }
      accepted.push_back(key);
    }
    ASSERT_EQ(refused.status, write_status::backpressure);
    EXPECT_EQ(refused.seq, accepted.size());  // the last accepted sequence
    EXPECT_LE(s.store->stats().queued_bytes, options.max_queued_bytes);
    EXPECT_EQ(s.store->stats().backpressure_rejections, 1u);
    std::promise<void> room;
    ASSERT_TRUE(s.store->when_durable(refused.seq, [&] { room.set_value(); }));
    stall.release();
    ASSERT_EQ(room.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(s.store->put("after", "room again").ok());
  }
  const contents stored = read_store(dir.path());
  EXPECT_EQ(stored.size(), accepted.size() + 1);
  for (const auto& key : accepted) EXPECT_EQ(stored.count(key), 1u) << key;
  EXPECT_EQ(stored.at("after"), "room again");
}

TEST(log_store_durability, put_waits_for_room_until_its_deadline) {
  temp_dir dir;
  log_store_options options;
  options.max_queued_bytes = 1024;
  auto s = open_store(dir.path(), options);
  writer_stall stall(*s.store);
  for (int i = 0; i < 100 && s.store->put("k", std::string(100, 'v')).ok(); ++i) {
  }
  auto start = clock::now();
  EXPECT_EQ(s.store->put("late", std::string(100, 'v'), start + 50ms).status,
            write_status::backpressure);
  EXPECT_GE(clock::now() - start, 50ms);

  std::thread releaser([&] {
    std::this_thread::sleep_for(30ms);
    stall.release();
  });
  EXPECT_TRUE(s.store->put("late", std::string(100, 'v'), in(5s)).ok());
  releaser.join();
}

TEST(log_store_durability, close_writes_every_pending_change) {
  temp_dir dir;
  log_store_options options;
  options.commit_interval = std::chrono::hours(1);
  {
    auto s = open_store(dir.path(), options);
    for (int i = 0; i < 100; ++i) s.store->put("k" + std::to_string(i), "v");
    EXPECT_EQ(s.store->durable_sequence(), 0u);
    EXPECT_TRUE(s.store->close(in(5s)));
    EXPECT_EQ(s.store->durable_sequence(), 100u);
  }
  EXPECT_EQ(read_store(dir.path()).size(), 100u);
}

TEST(log_store_durability, callbacks_for_sequences_never_reached_are_dropped_at_close) {
  temp_dir dir;
  auto s = open_store(dir.path());
  const std::uint64_t seq = s.store->put("a", "1").seq;
  std::atomic<int> reached{0}, unreached{0};
  s.store->when_durable(seq, [&] { ++reached; });
  s.store->when_durable(seq + 5, [&] { ++unreached; });
  EXPECT_TRUE(s.store->close(in(5s)));
  EXPECT_EQ(reached.load(), 1);
  EXPECT_EQ(unreached.load(), 0);
}

}  // namespace
}  // namespace storage::test
