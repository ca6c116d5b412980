#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace storage {

// One change on disk. Layout (little-endian), 16-byte header then the key and the value:
//
//   offset  size  field
//   0       4     CRC-32C of bytes 4 .. end of frame (header fields, key and value)
//   4       4     body length = key length + value length
//   8       2     magic 0xE5 0x1D: lets a resync scan skip most offsets without a CRC
//   10      1     record_type
//   11      1     reserved, 0
//   12      4     key length
//   16      ...   key, then value
//
// Every header field is covered by the CRC, so a flipped length cannot make the reader walk off
// into garbage and accept it. A put costs key + value + 16 bytes on disk.
enum class record_type : std::uint8_t { put = 1, erase = 2, snapshot_end = 3 };

inline constexpr std::size_t frame_header_size = 16;
inline constexpr unsigned char frame_magic0 = 0xE5;
inline constexpr unsigned char frame_magic1 = 0x1D;
// A body longer than this is damage, never data: it bounds what a corrupt length can make the
// reader (or a resync scan) try to check. MQTT's largest packet (256 MiB) fits well below it.
inline constexpr std::uint32_t max_frame_body = 1u << 30;

using frame_header = std::array<char, frame_header_size>;

// The header for a frame holding `key` and `value`, CRC included; the caller writes header, key
// and value one after the other. key.size() + value.size() must be <= max_frame_body.
frame_header encode_frame_header(record_type type, std::string_view key, std::string_view value);

void append_frame(std::string& out, record_type type, std::string_view key, std::string_view value);

inline std::size_t frame_size(std::string_view key, std::size_t value_size) {
  return frame_header_size + key.size() + value_size;
}
inline std::size_t frame_size(std::string_view key, std::string_view value) {
  return frame_size(key, value.size());
}

enum class frame_error {
  none,
  truncated,     // the bytes end inside the frame: a torn write at the tail of a log
  bad_header,    // magic, type, reserved byte or lengths impossible
  bad_checksum,  // header plausible but the CRC does not match
};

const char* to_string(frame_error error);

struct frame_view {
  record_type type = record_type::put;
  std::string_view key;
  std::string_view value;
  std::size_t size = 0;  // whole frame, header included
};

struct decoded_frame {
  frame_error error = frame_error::none;
  frame_view frame;
};

// Decodes the frame at the start of `bytes` (more may follow). Never throws, never reads past
// `bytes`.
decoded_frame decode_frame(std::string_view bytes);

// Snapshot terminator: a frame of type snapshot_end whose value holds the record count and the
// byte count of the frames before it, so a snapshot cut short at a frame boundary is detected.
std::string encode_snapshot_end(std::uint64_t records, std::uint64_t bytes);
bool decode_snapshot_end(std::string_view value, std::uint64_t& records, std::uint64_t& bytes);

// Each file starts with 16 bytes: an 8-byte magic naming the file kind and format version, and
// the generation also present in the file name, so a file renamed by hand is not replayed in the
// wrong place.
enum class file_kind { log, snapshot };
inline constexpr std::size_t file_header_size = 16;
std::array<char, file_header_size> encode_file_header(file_kind kind, std::uint64_t gen);
bool check_file_header(std::string_view bytes, file_kind kind, std::uint64_t gen);

void put_le32(char* out, std::uint32_t v);
void put_le64(char* out, std::uint64_t v);
std::uint32_t get_le32(const char* in);
std::uint64_t get_le64(const char* in);

}  // namespace storage
