// Damaged files: every valid record is recovered, the damaged file is kept aside, the log says
// what happened, and the store goes on with clean files.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "storage/log_store.hpp"
#include "storage/record_frame.hpp"
#include "store_test_support.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

const std::string first_log = "log-00000000000000000001";

std::string key_of(int i) {
  return "k" + std::to_string(i);
}

// A store whose only file is log 1 holding puts k0..k<n-1> = "v", each frame 16 + 2 + 1 bytes.
contents write_records(const std::string& dir, int n) {
  contents model;
  auto s = open_store(dir);
  for (int i = 0; i < n; ++i) {
    s.store->put(key_of(i), "v");
    model[key_of(i)] = "v";
  }
  EXPECT_TRUE(s.store->close(in(5s)));
  return model;
}

std::vector<std::string> aside_files(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& name : list_files(dir)) {
    if (name.find(".corrupt-") != std::string::npos) out.push_back(name);
  }
  return out;
}

TEST(log_store_recovery, log_cut_at_every_byte_of_its_last_record_keeps_all_earlier_records) {
  temp_dir source;
  contents model = write_records(source.path(), 5);
  const std::string log = read_file(source.file(first_log));
  const std::size_t last = log.size() - frame_size("k4", "v");
  model.erase("k4");
  for (std::size_t cut = last; cut < log.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    temp_dir dir;
    write_file(dir.file(first_log), std::string_view(log).substr(0, cut));
    log_capture messages;
    EXPECT_EQ(read_store(dir.path(), messages.fn()), model);
    const auto aside = aside_files(dir.path());
    if (cut == last) {  // a clean cut between records: nothing is damaged
      EXPECT_TRUE(aside.empty());
      continue;
    }
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(read_file(dir.file(aside[0])), log.substr(0, cut));  // kept as it was
    EXPECT_TRUE(messages.contains("record cut short at offset " + std::to_string(last)))
        << messages.joined();
    EXPECT_TRUE(messages.contains("4 valid records read")) << messages.joined();
  }
}

TEST(log_store_recovery, flipped_byte_loses_only_its_record_and_the_file_is_kept_aside) {
  temp_dir dir;
  contents model = write_records(dir.path(), 9);
  std::string log = read_file(dir.file(first_log));
  const std::size_t frame = frame_size("k0", "v");
  const std::size_t fifth = file_header_size + 4 * frame;
  log[fifth + frame - 1] ^= 0x01;  // the value byte of k4
  write_file(dir.file(first_log), log);
  model.erase("k4");

  log_capture messages;
  {
    auto s = open_store(dir.path(), {}, messages.fn());
    EXPECT_EQ(s.records, model);
    const store_stats st = s.store->stats();
    EXPECT_EQ(st.damaged_files, 1u);
    EXPECT_EQ(st.records_after_damage, 4u);
    EXPECT_EQ(st.unreadable_bytes, frame);
    EXPECT_TRUE(s.store->put("new", "after recovery").ok());
    model["new"] = "after recovery";
  }
  const std::string text = messages.joined();
  EXPECT_NE(text.find(first_log + " is damaged (checksum mismatch at offset " +
                      std::to_string(fifth) + " (" + std::to_string(frame) + " bytes skipped))"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("8 valid records read (4 of them after the damage), 19 bytes unreadable"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("recovered 8 live records"), std::string::npos) << text;

  const auto aside = aside_files(dir.path());
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(read_file(dir.file(aside[0])), log);
  // The store goes on with clean files holding the recovered data, one generation up.
  EXPECT_EQ(list_files(dir.path()),
            (std::vector<std::string>{"lock", aside[0], "log-00000000000000000002",
                                      "snapshot-00000000000000000002"}));

  // The recovered store is clean: the next open finds no damage and keeps the aside file.
  log_capture again;
  EXPECT_EQ(read_store(dir.path(), again.fn()), model);
  EXPECT_FALSE(again.contains("is damaged")) << again.joined();
  EXPECT_TRUE(again.contains("1 damaged file(s) from earlier")) << again.joined();
  EXPECT_EQ(aside_files(dir.path()).size(), 1u);
}

TEST(log_store_recovery, corrupt_length_field_does_not_hide_the_records_after_it) {
  temp_dir dir;
  contents model = write_records(dir.path(), 6);
  std::string log = read_file(dir.file(first_log));
  const std::size_t third = file_header_size + 2 * frame_size("k0", "v");
  put_le32(log.data() + third + 4, 0x00FFFFFF);  // k2's body length: far past the end
  write_file(dir.file(first_log), log);
  model.erase("k2");
  EXPECT_EQ(read_store(dir.path()), model);
  EXPECT_EQ(aside_files(dir.path()).size(), 1u);
}

TEST(log_store_recovery, damaged_file_header_keeps_every_record) {
  temp_dir dir;
  const contents model = write_records(dir.path(), 4);
  std::string log = read_file(dir.file(first_log));
  log[2] = 'X';
  write_file(dir.file(first_log), log);
  log_capture messages;
  EXPECT_EQ(read_store(dir.path(), messages.fn()), model);
  EXPECT_TRUE(messages.contains("invalid file header")) << messages.joined();
  EXPECT_EQ(aside_files(dir.path()).size(), 1u);
}

// A store with a snapshot (k0..k19) and a log after it (late0, late1).
contents write_snapshot_and_log(const std::string& dir) {
  log_store_options options;
  options.compaction_min_dead_bytes = 1u << 30;
  contents model;
  auto s = open_store(dir, options);
  for (int i = 0; i < 20; ++i) {
    s.store->put(key_of(i), "value" + std::to_string(i));
    model[key_of(i)] = "value" + std::to_string(i);
  }
  EXPECT_EQ(s.store->flush(in(5s)), flush_status::ok);
  s.store->request_compaction();
  for (auto deadline = in(5s);
       s.store->stats().compactions == 0 && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(s.store->stats().compactions, 1u);
  for (const char* k : {"late0", "late1"}) {
    s.store->put(k, "x");
    model[k] = "x";
  }
  EXPECT_TRUE(s.store->close(in(5s)));
  return model;
}

TEST(log_store_recovery, flipped_byte_in_the_snapshot_loses_only_its_record) {
  temp_dir dir;
  const contents model = write_snapshot_and_log(dir.path());
  const auto snapshots = files_starting_with(dir.path(), "snapshot-");
  ASSERT_EQ(snapshots.size(), 1u);
  std::string snap = read_file(dir.file(snapshots[0]));
  snap[file_header_size + 3 * 25 + 20] ^= 0x10;  // somewhere inside the fourth record
  write_file(dir.file(snapshots[0]), snap);

  log_capture messages;
  const contents recovered = read_store(dir.path(), messages.fn());
  EXPECT_EQ(recovered.size(), model.size() - 1);
  for (const auto& [k, v] : recovered) EXPECT_EQ(model.at(k), v) << k;
  EXPECT_EQ(recovered.count("late0") + recovered.count("late1"), 2u);
  EXPECT_TRUE(messages.contains(snapshots[0] + " is damaged")) << messages.joined();
  const auto aside = aside_files(dir.path());
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].rfind(snapshots[0], 0), 0u);
  EXPECT_EQ(read_store(dir.path()), recovered);
}

TEST(log_store_recovery, snapshot_cut_at_a_record_boundary_is_detected_and_recovered) {
  temp_dir dir;
  const contents model = write_snapshot_and_log(dir.path());
  const auto snapshots = files_starting_with(dir.path(), "snapshot-");
  ASSERT_EQ(snapshots.size(), 1u);
  std::string snap = read_file(dir.file(snapshots[0]));
  snap.resize(snap.size() - (frame_header_size + 16));  // drop exactly the end record
  write_file(dir.file(snapshots[0]), snap);
  log_capture messages;
  EXPECT_EQ(read_store(dir.path(), messages.fn()), model);
  EXPECT_TRUE(messages.contains("snapshot incomplete")) << messages.joined();
  EXPECT_EQ(aside_files(dir.path()).size(), 1u);
}

TEST(log_store_recovery, log_of_random_garbage_does_not_stop_the_open) {
  temp_dir dir;
  contents model = write_snapshot_and_log(dir.path());
  const auto logs = files_starting_with(dir.path(), "log-");
  ASSERT_EQ(logs.size(), 1u);
  std::string garbage(5000, '\0');
  std::mt19937 rng(99);
  for (char& c : garbage) c = static_cast<char>(rng());
  write_file(dir.file(logs[0]), garbage);
  model.erase("late0");
  model.erase("late1");
  log_capture messages;
  EXPECT_EQ(read_store(dir.path(), messages.fn()), model);
  EXPECT_TRUE(messages.contains("5000 bytes unreadable")) << messages.joined();
}

}  // namespace
}  // namespace storage::test
