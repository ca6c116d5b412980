// Compaction: the snapshot holds exactly the live set, the files shrink, nothing is lost when
// changes keep arriving while it runs or when it is interrupted.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "storage/log_store.hpp"
#include "store_test_support.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

// Waits (at most 5 s) until the store has finished `n` compactions.
bool wait_for_compactions(log_store& store, std::uint64_t n) {
  const auto deadline = in(5s);
  while (store.stats().compactions < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Many versions of few keys, some erased: the log is mostly dead records.
contents churn(log_store& store, int keys, int versions, std::uint32_t seed) {
  std::mt19937 rng(seed);
  contents model;
  for (int v = 0; v < versions; ++v) {
    for (int k = 0; k < keys; ++k) {
      const std::string key = "r/device/" + std::to_string(k);
      if (rng() % 7 == 0) {
        store.erase(key);
        model.erase(key);
      } else {
        const std::string value(50 + rng() % 100, static_cast<char>('a' + v % 26));
        store.put(key, value);
        model[key] = value;
      }
    }
  }
  return model;
}

TEST(log_store_compaction, keeps_exactly_the_live_set_and_shrinks_the_files) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;  // only when asked
  contents model;
  std::uint64_t before = 0;
  {
    auto s = open_store(dir.path(), options);
    model = churn(*s.store, 200, 20, 1);
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    before = total_size(dir.path());
    s.store->request_compaction();
    ASSERT_TRUE(wait_for_compactions(*s.store, 1));
    const store_stats st = s.store->stats();
    EXPECT_EQ(st.live_records, model.size());
    EXPECT_GT(st.snapshot_bytes_written, 0u);
  }
  const std::uint64_t after = total_size(dir.path());
  EXPECT_LT(after * 5, before) << before << " -> " << after;
  EXPECT_EQ(files_starting_with(dir.path(), "snapshot-").size(), 1u);
  EXPECT_EQ(files_starting_with(dir.path(), "log-").size(), 1u);
  EXPECT_EQ(read_store(dir.path()), model);
}

// A value shared the way the broker shares a retained message: the string is the object.
shared_value share(const std::string& text) {
  return {std::make_shared<const std::string>(text), [](const void* object, std::string& out) {
            out += *static_cast<const std::string*>(object);
          }};
}

TEST(log_store_compaction, writes_shared_values_from_their_objects_and_shares_them_again_at_open) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;  // only when asked
  contents model;
  std::vector<shared_value> kept;  // what the broker would hold
  {
    auto s = open_store(dir.path(), options);
    for (int k = 0; k < 50; ++k) {
      const std::string key = "r/device/" + std::to_string(k);
      const std::string value = "payload " + std::to_string(k * 7);
      if (k % 3 == 0) {
        ASSERT_TRUE(s.store->put(key, value).ok());
      } else {
        kept.push_back(share(value));
        ASSERT_TRUE(s.store->put(key, kept.back()).ok());
      }
      model[key] = value;
    }
    s.store->erase("r/device/1");  // a shared value replaced by nothing
    model.erase("r/device/1");
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    // The index holds the objects themselves (the erased one is let go).
    for (std::size_t i = 0; i < kept.size(); ++i) {
      EXPECT_EQ(kept[i].object.use_count(), i == 0 ? 1 : 2) << i;
    }
    s.store->request_compaction();
    ASSERT_TRUE(wait_for_compactions(*s.store, 1));
  }
  EXPECT_EQ(read_store(dir.path()), model);

  // Reopened: the visitor hands back objects for the loaded values; a compaction writes them.
  std::vector<shared_value> loaded;
  {
    auto opened =
        log_store::open(dir.path(), options, {}, [&](std::string_view, std::string_view value) {
          loaded.push_back(share(std::string(value)));
          return loaded.back();
        });
    ASSERT_NE(opened.store, nullptr) << opened.error;
    ASSERT_EQ(loaded.size(), model.size());
    for (const auto& v : loaded) EXPECT_EQ(v.object.use_count(), 2);
    opened.store->put("r/device/2", "new");
    model["r/device/2"] = "new";
    ASSERT_EQ(opened.store->flush(in(5s)), flush_status::ok);
    opened.store->request_compaction();
    ASSERT_TRUE(wait_for_compactions(*opened.store, 1));
  }
  EXPECT_EQ(read_store(dir.path()), model);
}

TEST(log_store_compaction, starts_by_itself_when_the_log_outgrows_the_live_set) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 64 * 1024;
  options.commit_interval = 1ms;
  contents model;
  {
    auto s = open_store(dir.path(), options);
    for (int round = 0; round < 10; ++round) {
      model = churn(*s.store, 100, 10, round);  // the same 100 keys every round
      ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    }
    // Compaction runs behind the writes; once idle, the writer catches up.
    const auto dead = [](const store_stats& st) {
      return st.snapshot_bytes + st.log_bytes - st.live_bytes;
    };
    const auto deadline = in(5s);
    store_stats st = s.store->stats();
    while (dead(st) > std::max<std::uint64_t>(64 * 1024, st.live_bytes) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(2ms);
      st = s.store->stats();
    }
    // Written: 10 rounds x ~1,000 records x ~125 bytes = ~1.2 MB; the files stay near 64 KiB
    // (+ the live set, ~12 KB).
    EXPECT_GT(st.log_bytes_written, 1'000'000u);
    EXPECT_GE(st.compactions, 2u);
    EXPECT_LE(dead(st), 64u * 1024);
    EXPECT_LT(total_size(dir.path()), 64u * 1024 + 2 * st.live_bytes + 1024);
  }
  EXPECT_EQ(read_store(dir.path()), model);
}

TEST(log_store_compaction, a_store_of_only_live_records_is_not_rewritten) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 4 * 1024;
  auto s = open_store(dir.path(), options);
  for (int i = 0; i < 2000; ++i) s.store->put("r/" + std::to_string(i), std::string(50, 'v'));
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(s.store->stats().compactions, 0u);  // ~140 KB of log, all of it live
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < 2000; ++i) s.store->put("r/" + std::to_string(i), std::string(50, 'w'));
  }
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  EXPECT_TRUE(wait_for_compactions(*s.store, 1));  // now two thirds of it are dead
}

TEST(log_store_compaction, changes_made_while_it_runs_are_kept) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;
  options.commit_interval = 0ms;
  contents model;
  {
    auto s = open_store(dir.path(), options);
    // A live set large enough (~6 MB) that writing its snapshot takes a while.
    const std::string value(100, 'x');
    for (int i = 0; i < 50000; ++i) {
      const std::string key = "r/" + std::to_string(i);
      s.store->put(key, value);
      model[key] = value;
    }
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    s.store->request_compaction();
    for (int i = 0; i < 5000; ++i) {
      const std::string key = "r/" + std::to_string(i * 10);
      if (i % 2 == 0) {
        s.store->erase(key);
        model.erase(key);
      } else {
        s.store->put(key, "new");
        model[key] = "new";
      }
      s.store->put("late/" + std::to_string(i), "y");
      model["late/" + std::to_string(i)] = "y";
    }
    ASSERT_TRUE(wait_for_compactions(*s.store, 1));
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    EXPECT_EQ(s.store->stats().live_records, model.size());
  }
  EXPECT_EQ(read_store(dir.path()), model);
}

TEST(log_store_compaction, a_crash_before_old_files_are_deleted_loses_nothing) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;
  contents model;
  std::string old_log;
  {
    auto s = open_store(dir.path(), options);
    model = churn(*s.store, 50, 5, 3);
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    old_log = read_file(dir.file("log-00000000000000000001"));
    s.store->request_compaction();
    ASSERT_TRUE(wait_for_compactions(*s.store, 1));
    s.store->put("after", "compaction");
    model["after"] = "compaction";
  }
  // As if the process died between the snapshot's rename and the deletions; plus an unfinished
  // snapshot of a later compaction.
  write_file(dir.file("log-00000000000000000001"), old_log);
  write_file(dir.file("snapshot-00000000000000000009.tmp"), "partial");
  log_capture log;
  EXPECT_EQ(read_store(dir.path(), log.fn()), model);
  EXPECT_TRUE(files_starting_with(dir.path(), "log-00000000000000000001").empty());
  EXPECT_TRUE(files_starting_with(dir.path(), "snapshot-00000000000000000009").empty());
  EXPECT_TRUE(log.contains("interrupted compaction")) << log.joined();
  EXPECT_FALSE(log.contains("damaged")) << log.joined();
}

TEST(log_store_compaction, close_during_a_compaction_keeps_everything) {
  temp_dir dir;
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;
  contents model;
  {
    auto s = open_store(dir.path(), options);
    const std::string value(100, 'z');
    for (int i = 0; i < 30000; ++i) {
      s.store->put("k" + std::to_string(i), value);
      model["k" + std::to_string(i)] = value;
    }
    ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
    s.store->request_compaction();
    s.store->put("last", "1");
    model["last"] = "1";
    EXPECT_TRUE(s.store->close(in(5s)));
  }
  EXPECT_EQ(read_store(dir.path()), model);
}

}  // namespace
}  // namespace storage::test
