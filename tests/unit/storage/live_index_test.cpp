#include "storage/live_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "storage/record_frame.hpp"

namespace storage {
namespace {

using plain_map = std::map<std::string, std::string>;

std::string bytes_of(const stored_value& v) {
  std::string scratch;
  return std::string(v.bytes(scratch));
}

plain_map plain(const live_map& m) {
  plain_map out;
  for (const auto& [key, value] : m) out.emplace(key, bytes_of(value));
  return out;
}

// A value shared the way the broker shares a retained message: the string is the object.
shared_value share(std::string text) {
  return {std::make_shared<const std::string>(std::move(text)),
          [](const void* object, std::string& out) {
            out += *static_cast<const std::string*>(object);
          }};
}

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
  EXPECT_EQ(bytes_of(frozen.at("replace")), "old");
  EXPECT_EQ(bytes_of(frozen.at("remove")), "x");
  EXPECT_EQ(index.records(), 3u);  // keep, replace, added

  index.thaw();
  const plain_map expected{{"keep", "1"}, {"replace", "new"}, {"added", "2"}};
  EXPECT_EQ(plain(index.map()), expected);
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
  EXPECT_EQ(plain(index.map()), (plain_map{{"b", "2"}}));
}

TEST(live_index, keeps_the_shared_value_of_a_listed_put_and_copies_the_others) {
  std::string batch;
  append_frame(batch, record_type::put, "a", "1");
  append_frame(batch, record_type::erase, "x", {});
  append_frame(batch, record_type::put, "b", "shared bytes");
  append_frame(batch, record_type::put, "c", "3");
  const shared_value b = share("shared bytes");
  live_index index;
  index.apply_frames(batch, {{2, b}});
  EXPECT_FALSE(index.map().at("a").shared());
  EXPECT_TRUE(index.map().at("b").shared());
  EXPECT_FALSE(index.map().at("c").shared());
  EXPECT_EQ(b.object.use_count(), 2);  // the index holds the object itself, not a copy
  EXPECT_EQ(plain(index.map()), (plain_map{{"a", "1"}, {"b", "shared bytes"}, {"c", "3"}}));
  EXPECT_EQ(index.bytes(),
            frame_size("a", "1") + frame_size("b", "shared bytes") + frame_size("c", "3"));
  index.put("b", "plain");  // a later value lets the object go
  EXPECT_EQ(b.object.use_count(), 1);
  EXPECT_EQ(index.bytes(), frame_size("a", "1") + frame_size("b", "plain") + frame_size("c", "3"));
}

TEST(live_index, shares_a_loaded_value_only_when_the_object_makes_the_same_bytes) {
  live_map loaded;
  loaded.emplace("same", stored_value(std::string_view("abc")));
  loaded.emplace("differs", stored_value(std::string_view("abc")));
  loaded.emplace("declined", stored_value(std::string_view("abc")));
  live_index index(std::move(loaded));
  const std::uint64_t bytes = index.bytes();
  index.share_values([](std::string_view key, std::string_view value) -> shared_value {
    if (key == "same") return share(std::string(value));
    if (key == "differs") return share("abd");
    return {};
  });
  EXPECT_TRUE(index.map().at("same").shared());
  EXPECT_FALSE(index.map().at("differs").shared());
  EXPECT_FALSE(index.map().at("declined").shared());
  EXPECT_EQ(plain(index.map()),
            (plain_map{{"same", "abc"}, {"differs", "abc"}, {"declined", "abc"}}));
  EXPECT_EQ(index.bytes(), bytes);
}

}  // namespace
}  // namespace storage
