#pragma once

#include <cstdint>
#include <string>

#include "storage/file_ops.hpp"
#include "storage/live_index.hpp"
#include "storage/store_options.hpp"

namespace storage {

struct recovered_store {
  live_map records;
  std::uint64_t live_bytes = 0;  // snapshot bytes of `records`
  std::uint64_t base_gen = 0;    // generation of the snapshot the logs apply to (0: none)
  std::uint64_t active_gen = 0;  // the log new changes are appended to
  unique_fd active_log;
  std::uint64_t log_bytes = 0;       // in the logs since the base snapshot, headers included
  std::uint64_t snapshot_bytes = 0;  // size of the base snapshot
  std::uint64_t bytes_written = 0;
  std::uint64_t snapshot_bytes_written = 0;
  std::uint64_t loaded_records = 0;
  std::uint64_t damaged_files = 0;
  std::uint64_t unreadable_bytes = 0;
  std::uint64_t records_after_damage = 0;
};

// Loads the store in `dir` (which must exist and be locked by the caller) into `out`.
//
// Damage never stops it: every valid record is kept, each damaged file is renamed aside
// (<name>.corrupt-<time>) only after the recovered state has been written as a new snapshot and
// a new log, and `log` gets one line per damaged file saying what was read and what was skipped.
// Returns an empty string, or a one-line message when the directory itself cannot be used
// (unreadable, or the recovered snapshot cannot be written).
std::string recover_store(const std::string& dir, const log_fn& log, recovered_store& out);

}  // namespace storage
