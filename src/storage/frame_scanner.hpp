#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "storage/record_frame.hpp"

namespace storage {

struct damaged_region {
  std::uint64_t offset = 0;  // in the file
  std::uint64_t length = 0;  // bytes skipped
  frame_error reason = frame_error::none;
};

struct scan_report {
  std::uint64_t records = 0;               // valid frames, those after damage included
  std::uint64_t records_after_damage = 0;  // found by resynchronising past a damaged region
  std::uint64_t unreadable_bytes = 0;
  std::vector<damaged_region> damage;

  bool damaged() const { return !damage.empty(); }
};

using frame_visitor = std::function<void(const frame_view&)>;

// Calls `visit` for every valid frame of `data`, in file order. `base_offset` is the file
// offset of data[0], used only in the report.
//
// At a bad frame the scan does not stop: it resynchronises at the next offset that holds a
// complete frame with a valid header and checksum, and records the bytes in between as damaged.
// A flipped bit in one record thus costs that record only, not every change written after it.
// The price: a later record may be applied although an earlier one (say, an erase) was lost; we
// prefer that to silently dropping data that is still readable, and the damaged file is kept.
scan_report scan_frames(std::string_view data, std::uint64_t base_offset,
                        const frame_visitor& visit);

}  // namespace storage
