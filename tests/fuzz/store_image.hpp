#pragma once
// The input format of fuzz_store: the files of a store directory. Shared by the fuzz target and
// make_fuzz_corpus. Any byte string is valid (a truncated file is just shorter).
//
//   repeated: 1 byte `name`, 2-byte little-endian length n, then n bytes of content
//   name: bits 0-1 the generation - 1 (1..4), bit 2 set: a snapshot, else a log; bit 3 set: the
//         name gets ".tmp" appended (a snapshot write cut short); bit 4 set: the content is
//         preceded by the right 16-byte file header for that kind and generation, so mutations
//         spend their time on the records rather than on finding the header.
//         Bits 5-7 are not used.
//   A later file with the same name replaces the earlier one.
//
// An input whose hash (FNV-1a, below) is 0 modulo 8 is opened once more the way the broker does,
// through storage::broker_store. That path starts and joins threads, which costs several times a
// whole recovery, so it runs on about one input in eight. A hash rather than a flag bit: the
// corpus keeps whatever reached new code, and mutations keep a flag bit, so a flag's share grew
// to two thirds of all inputs; a mutation changes the hash.

#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz::store_image {

enum name_bits : std::uint8_t {
  generation_mask = 3,
  snapshot = 4,
  temporary = 8,
  with_header = 16,
};

inline std::uint32_t input_hash(std::string_view input) {
  std::uint32_t h = 2166136261u;
  for (const char c : input) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

inline bool through_broker_store(std::string_view input) { return input_hash(input) % 8 == 0; }

inline void append_file(std::string& out, std::uint8_t name, std::string_view content) {
  const std::size_t n = content.size() < 0xFFFF ? content.size() : 0xFFFF;
  out.push_back(static_cast<char>(name));
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>(n >> 8));
  out.append(content.substr(0, n));
}

// Appends an empty-named leftover (a `.tmp` log, which recovery removes) whose one byte makes the
// image take the broker_store path. One byte of 256 values meets a 1-in-8 condition many times.
inline bool make_through_broker_store(std::string& image) {
  for (int b = 0; b < 256; ++b) {
    std::string candidate = image;
    append_file(candidate, temporary | generation_mask, std::string(1, static_cast<char>(b)));
    if (through_broker_store(candidate)) {
      image = std::move(candidate);
      return true;
    }
  }
  return false;
}

}  // namespace fuzz::store_image
