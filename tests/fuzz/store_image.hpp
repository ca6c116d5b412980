#pragma once
// The input format of fuzz_store: the files of a store directory. Shared by the fuzz target and
// make_fuzz_corpus. Any byte string is valid (a truncated file is just shorter).
//
//   repeated: 1 byte `name`, 2-byte little-endian length n, then n bytes of content
//   name: bits 0-1 the generation - 1 (1..4), bit 2 set: a snapshot, else a log; bit 3 set: the
//         name gets ".tmp" appended (a snapshot write cut short); bit 4 set: the content is
//         preceded by the right 16-byte file header for that kind and generation, so mutations
//         spend their time on the records rather than on finding the header.
//         Bits 5, 6 and 7 all set in the first file's name byte: open the result once more the
//         way the broker does, through storage::broker_store (with its threads: slower, so on
//         about one input in eight, not on every one).
//   A later file with the same name replaces the earlier one.

#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz::store_image {

enum name_bits : std::uint8_t {
  generation_mask = 3,
  snapshot = 4,
  temporary = 8,
  with_header = 16,
  through_broker_store = 0xE0,
};

inline void append_file(std::string& out, std::uint8_t name, std::string_view content) {
  const std::size_t n = content.size() < 0xFFFF ? content.size() : 0xFFFF;
  out.push_back(static_cast<char>(name));
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>(n >> 8));
  out.append(content.substr(0, n));
}

}  // namespace fuzz::store_image
