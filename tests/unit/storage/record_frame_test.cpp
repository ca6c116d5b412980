#include "storage/record_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/frame_scanner.hpp"

namespace storage {
namespace {

std::vector<std::string> keys_of(std::string_view data, scan_report* report = nullptr) {
  std::vector<std::string> keys;
  scan_report r = scan_frames(data, 0, [&](const frame_view& f) { keys.emplace_back(f.key); });
  if (report != nullptr) *report = r;
  return keys;
}

TEST(record_frame, put_round_trips_with_binary_key_and_value) {
  const std::string key("r/a\0b", 5);
  const std::string value("\x00\xFF payload", 10);
  std::string bytes;
  append_frame(bytes, record_type::put, key, value);
  ASSERT_EQ(bytes.size(), frame_header_size + key.size() + value.size());
  const decoded_frame d = decode_frame(bytes);
  ASSERT_EQ(d.error, frame_error::none);
  EXPECT_EQ(d.frame.type, record_type::put);
  EXPECT_EQ(d.frame.key, key);
  EXPECT_EQ(d.frame.value, value);
  EXPECT_EQ(d.frame.size, bytes.size());
}

TEST(record_frame, erase_with_empty_value_round_trips) {
  std::string bytes;
  append_frame(bytes, record_type::erase, "s/client", {});
  const decoded_frame d = decode_frame(bytes);
  ASSERT_EQ(d.error, frame_error::none);
  EXPECT_EQ(d.frame.type, record_type::erase);
  EXPECT_EQ(d.frame.key, "s/client");
  EXPECT_TRUE(d.frame.value.empty());
}

TEST(record_frame, every_single_bit_flip_is_detected) {
  std::string bytes;
  append_frame(bytes, record_type::put, "key", "value");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      EXPECT_NE(decode_frame(damaged).error, frame_error::none) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(record_frame, every_cut_is_reported_as_truncated) {
  std::string bytes;
  append_frame(bytes, record_type::put, "key", "value");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(decode_frame(std::string_view(bytes).substr(0, cut)).error, frame_error::truncated)
        << cut;
  }
}

TEST(record_frame, oversized_length_is_a_bad_header_not_a_huge_read) {
  std::string bytes;
  append_frame(bytes, record_type::put, "k", "v");
  put_le32(bytes.data() + 4, max_frame_body + 1);
  EXPECT_EQ(decode_frame(bytes).error, frame_error::bad_header);
}

TEST(frame_scanner, resynchronises_after_a_damaged_record) {
  std::string data;
  for (const char* k : {"a", "b", "c", "d"}) append_frame(data, record_type::put, k, "value");
  const std::size_t frame = data.size() / 4;
  data[frame + frame_header_size + 2] ^= 0x40;  // inside b's value
  scan_report report;
  EXPECT_EQ(keys_of(data, &report), (std::vector<std::string>{"a", "c", "d"}));
  ASSERT_EQ(report.damage.size(), 1u);
  EXPECT_EQ(report.damage[0].offset, frame);
  EXPECT_EQ(report.damage[0].length, frame);
  EXPECT_EQ(report.damage[0].reason, frame_error::bad_checksum);
  EXPECT_EQ(report.records_after_damage, 2u);
  EXPECT_EQ(report.unreadable_bytes, frame);
}

TEST(frame_scanner, garbage_between_records_is_skipped) {
  std::string data;
  append_frame(data, record_type::put, "first", "1");
  data += std::string(37, '\xE5');  // looks like magic, never a valid frame
  append_frame(data, record_type::erase, "second", {});
  scan_report report;
  EXPECT_EQ(keys_of(data, &report), (std::vector<std::string>{"first", "second"}));
  ASSERT_EQ(report.damage.size(), 1u);
  EXPECT_EQ(report.damage[0].length, 37u);
}

TEST(frame_scanner, torn_tail_is_one_damaged_region_to_the_end) {
  std::string data;
  append_frame(data, record_type::put, "a", "1");
  const std::size_t intact = data.size();
  append_frame(data, record_type::put, "b", "2");
  data.resize(data.size() - 3);
  scan_report report;
  EXPECT_EQ(keys_of(data, &report), (std::vector<std::string>{"a"}));
  ASSERT_EQ(report.damage.size(), 1u);
  EXPECT_EQ(report.damage[0].offset, intact);
  EXPECT_EQ(report.damage[0].reason, frame_error::truncated);
  EXPECT_EQ(report.damage[0].offset + report.damage[0].length, data.size());
}

TEST(frame_scanner, base_offset_shifts_reported_positions) {
  std::string data(5, '\0');
  scan_report r = scan_frames(data, 100, [](const frame_view&) {});
  ASSERT_EQ(r.damage.size(), 1u);
  EXPECT_EQ(r.damage[0].offset, 100u);
}

TEST(file_header, identifies_kind_and_generation) {
  const auto h = encode_file_header(file_kind::log, 42);
  const std::string_view bytes(h.data(), h.size());
  EXPECT_TRUE(check_file_header(bytes, file_kind::log, 42));
  EXPECT_FALSE(check_file_header(bytes, file_kind::snapshot, 42));
  EXPECT_FALSE(check_file_header(bytes, file_kind::log, 43));
  EXPECT_FALSE(check_file_header(bytes.substr(0, 15), file_kind::log, 42));
}

}  // namespace
}  // namespace storage
