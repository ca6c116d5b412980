// The store's basic contract: what is put is there after a reopen, what is erased is not.
#include "storage/log_store.hpp"

#include <gtest/gtest.h>

#include <random>

#include "storage/record_frame.hpp"
#include "store_test_support.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

TEST(log_store, put_survives_a_reopen) {
  temp_dir dir;
  {
    auto s = open_store(dir.path());
    EXPECT_TRUE(s.records.empty());
    EXPECT_TRUE(s.store->put("r/kitchen/temp", "21.5").ok());
    EXPECT_TRUE(s.store->close(in(5s)));
  }
  EXPECT_EQ(read_store(dir.path()), (contents{{"r/kitchen/temp", "21.5"}}));
}

TEST(log_store, erase_survives_a_reopen) {
  temp_dir dir;
  {
    auto s = open_store(dir.path());
    s.store->put("a", "1");
    s.store->put("b", "2");
    s.store->erase("a");
    s.store->erase("never-existed");
  }  // the destructor closes
  EXPECT_EQ(read_store(dir.path()), (contents{{"b", "2"}}));
}

TEST(log_store, last_put_of_a_key_wins_across_reopens) {
  temp_dir dir;
  for (int round = 0; round < 3; ++round) {
    auto s = open_store(dir.path());
    if (round > 0) {
      EXPECT_EQ(s.records.at("k"), "v" + std::to_string(round - 1));
    }
    s.store->put("k", "v" + std::to_string(round));
  }
  EXPECT_EQ(read_store(dir.path()), (contents{{"k", "v2"}}));
}

TEST(log_store, binary_and_empty_keys_and_values_round_trip) {
  temp_dir dir;
  const contents expected{{std::string("s/\0c\xFF", 5), std::string("\0\0\n", 3)},
                          {"", "empty key"},
                          {"empty value", ""}};
  {
    auto s = open_store(dir.path());
    for (const auto& [k, v] : expected) ASSERT_TRUE(s.store->put(k, v).ok());
  }
  EXPECT_EQ(read_store(dir.path()), expected);
}

TEST(log_store, many_random_changes_round_trip) {
  temp_dir dir;
  std::mt19937 rng(1234);
  contents model;
  log_store_options options;
  options.commit_interval = 5ms;
  for (int round = 0; round < 3; ++round) {
    auto s = open_store(dir.path(), options);
    EXPECT_EQ(s.records, model);
    for (int i = 0; i < 5000; ++i) {
      const std::string key = "k" + std::to_string(rng() % 3000);
      if (rng() % 5 == 0) {
        ASSERT_TRUE(s.store->erase(key).ok());
        model.erase(key);
      } else {
        std::string value(rng() % 300, '\0');
        for (char& c : value) c = static_cast<char>(rng());
        ASSERT_TRUE(s.store->put(key, value).ok());
        model[key] = value;
      }
    }
    EXPECT_TRUE(s.store->close(in(5s)));
  }
  EXPECT_EQ(read_store(dir.path()), model);
}

TEST(log_store, sequence_numbers_count_up_from_one) {
  temp_dir dir;
  auto s = open_store(dir.path());
  EXPECT_EQ(s.store->put("a", "1").seq, 1u);
  EXPECT_EQ(s.store->erase("a").seq, 2u);
  EXPECT_EQ(s.store->put("b", "1").seq, 3u);
  EXPECT_EQ(s.store->last_sequence(), 3u);
}

TEST(log_store, bytes_written_per_put_are_the_record_plus_a_16_byte_header) {
  temp_dir dir;
  auto s = open_store(dir.path());
  const std::string key = "r/homeassistant/sensor/x/config";
  const std::string value(100, 'v');
  for (int i = 0; i < 100; ++i) s.store->put(key, value);
  ASSERT_EQ(s.store->flush(in(5s)), flush_status::ok);
  const store_stats st = s.store->stats();
  EXPECT_EQ(st.records_written, 100u);
  EXPECT_EQ(st.log_bytes_written, 100u * (16 + key.size() + value.size()));
  EXPECT_EQ(st.live_records, 1u);
  EXPECT_EQ(st.live_bytes, frame_size(key, value));
}

TEST(log_store, a_second_open_of_the_same_directory_is_refused) {
  temp_dir dir;
  auto first = open_store(dir.path());
  auto second = log_store::open(dir.path(), {}, {}, {});
  EXPECT_EQ(second.store, nullptr);
  EXPECT_NE(second.error.find("in use by another process"), std::string::npos) << second.error;
}

TEST(log_store, an_unusable_directory_is_an_error_not_a_crash) {
  temp_dir dir;
  write_file(dir.file("plain-file"), "x");
  auto result = log_store::open(dir.file("plain-file") + "/store", {}, {}, {});
  EXPECT_EQ(result.store, nullptr);
  EXPECT_NE(result.error.find("cannot create the store directory"), std::string::npos)
      << result.error;
}

TEST(log_store, changes_after_close_are_refused) {
  temp_dir dir;
  auto s = open_store(dir.path());
  EXPECT_TRUE(s.store->close(in(5s)));
  EXPECT_EQ(s.store->put("a", "1").status, write_status::closed);
  EXPECT_EQ(s.store->erase("a").status, write_status::closed);
  EXPECT_FALSE(s.store->when_durable(1, [] {}));
}

TEST(log_store, record_over_the_size_limit_is_refused) {
  temp_dir dir;
  log_store_options options;
  options.max_record_bytes = 100;
  auto s = open_store(dir.path(), options);
  EXPECT_EQ(s.store->put("k", std::string(100, 'x')).status, write_status::too_large);
  EXPECT_TRUE(s.store->put("k", std::string(99, 'x')).ok());
}

TEST(log_store, open_reports_what_it_loaded) {
  temp_dir dir;
  {
    auto s = open_store(dir.path());
    for (int i = 0; i < 10; ++i) s.store->put("k" + std::to_string(i), "v");
    s.store->erase("k0");
  }
  log_capture log;
  auto s = open_store(dir.path(), {}, log.fn());
  const store_stats st = s.store->stats();
  EXPECT_EQ(st.loaded_records, 11u);
  EXPECT_EQ(st.live_records, 9u);
  EXPECT_EQ(st.damaged_files, 0u);
  EXPECT_TRUE(log.contains("loaded 9 records")) << log.joined();
}

}  // namespace
}  // namespace storage::test
