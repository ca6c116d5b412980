#include "storage/live_index.hpp"

#include <gtest/gtest.h>

#include "storage/record_frame.hpp"

namespace storage {
namespace {

TEST(live_index, counts_records_and_snapshot_bytes) {
  live_index index;
  index.put("a", "1234");
  index.put("b", "xy");
  index.put("a", "1");  // replaces
  index.erase("missing");
  EXPECT_EQ(index.records(), 2u);
  EXPECT_EQ(index.bytes(), frame_size("a", "1") + frame_size("b", "xy"));
  index.erase("b");
  EXPECT_EQ(index.records(), 1u);
  EXPECT_EQ(index.bytes(), frame_size("a", "1"));
}

TEST(live_index, frozen_map_is_unchanged_until_thaw_and_then_includes_the_changes) {
  live_index index;
  index.put("keep", "1");
  index.put("replace", "old");
  index.put("remove", "x");
  const live_map& frozen = index.freeze();
  index.put("replace", "new");
  index.erase("remove");
  index.put("added", "2");
  index.put("added_then_erased", "3");
  index.erase("added_then_erased");
  EXPECT_EQ(frozen.size(), 3u);
  EXPECT_EQ(frozen.at("replace"), "old");
  EXPECT_EQ(frozen.at("remove"), "x");
  EXPECT_EQ(index.records(), 3u);  // keep, replace, added

  index.thaw();
  const live_map expected{{"keep", "1"}, {"replace", "new"}, {"added", "2"}};
  EXPECT_EQ(index.map(), expected);
  EXPECT_EQ(index.bytes(),
            frame_size("keep", "1") + frame_size("replace", "new") + frame_size("added", "2"));
}

TEST(live_index, applies_a_written_batch) {
  std::string batch;
  append_frame(batch, record_type::put, "a", "1");
  append_frame(batch, record_type::put, "b", "2");
  append_frame(batch, record_type::erase, "a", {});
  live_index index;
  index.apply_frames(batch);
  EXPECT_EQ(index.map(), (live_map{{"b", "2"}}));
}

}  // namespace
}  // namespace storage
