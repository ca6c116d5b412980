#include "storage/frame_scanner.hpp"

#include <cstring>

namespace storage {
namespace {

// The first offset at or after `from` where a valid frame starts, or data.size() if none. Uses
// the magic bytes to skip offsets cheaply; only candidates with the magic pay for a CRC.
std::size_t find_next_frame(std::string_view data, std::size_t from) {
  constexpr std::size_t magic_at = 8;
  std::size_t pos = from;
  while (pos + frame_header_size <= data.size()) {
    const char* start = data.data() + pos + magic_at;
    const void* hit = std::memchr(start, frame_magic0, data.size() - pos - magic_at);
    if (hit == nullptr) break;
    const std::size_t cand =
        static_cast<std::size_t>(static_cast<const char*>(hit) - data.data()) - magic_at;
    if (cand + frame_header_size > data.size()) break;
    if (static_cast<unsigned char>(data[cand + magic_at + 1]) == frame_magic1 &&
        decode_frame(data.substr(cand)).error == frame_error::none) {
      return cand;
    }
    pos = cand + 1;
  }
  return data.size();
}

}  // namespace

scan_report scan_frames(std::string_view data, std::uint64_t base_offset,
                        const frame_visitor& visit) {
  scan_report report;
  std::size_t pos = 0;
  bool after_damage = false;
  while (pos < data.size()) {
    const decoded_frame d = decode_frame(data.substr(pos));
    if (d.error == frame_error::none) {
      visit(d.frame);
      ++report.records;
      if (after_damage) ++report.records_after_damage;
      pos += d.frame.size;
      continue;
    }
    const std::size_t next = find_next_frame(data, pos + 1);
    report.damage.push_back({base_offset + pos, next - pos, d.error});
    report.unreadable_bytes += next - pos;
    after_damage = true;
    pos = next;
  }
  return report;
}

}  // namespace storage
