#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "storage/file_ops.hpp"
#include "storage/live_index.hpp"
#include "storage/record_frame.hpp"

namespace storage {

// The files of a store directory:
//   snapshot-<gen>          every live record when log <gen> was started, then a snapshot_end
//   log-<gen>               changes appended after that; several logs may follow one snapshot
//   *.tmp                   a snapshot being written; never read, removed at open
//   <name>.corrupt-<time>   a damaged file kept aside for a human to look at
//   lock                    flock'ed by the process that has the store open
// The store's state = the highest snapshot-<N> (empty if none), then every log-<G>, G >= N, in
// order. Generations are zero-padded so names sort like numbers.

std::string file_name(file_kind kind, std::uint64_t gen);
std::string path_in(const std::string& dir, std::string_view name);

struct store_file {
  std::string name;
  file_kind kind = file_kind::log;
  std::uint64_t gen = 0;
  std::uint64_t size = 0;
};

struct dir_listing {
  std::vector<store_file> snapshots;  // by generation
  std::vector<store_file> logs;       // by generation
  std::vector<std::string> temporaries;
  std::size_t set_aside_files = 0;
  std::uint64_t set_aside_bytes = 0;
};

std::error_code list_store_dir(const std::string& dir, dir_listing& out);

// Creates <dir>/log-<gen> holding only its file header, durable (file and directory synced),
// opened for appending.
std::error_code create_log(const std::string& dir, std::uint64_t gen, unique_fd& out);

// Renames <dir>/<name> to <name>.corrupt-<unix seconds> (with -<n> appended if taken; rename()
// would silently replace an existing file). `new_name` gets the name used.
std::error_code set_aside(const std::string& dir, const std::string& name, std::string& new_name);

struct snapshot_result {
  std::error_code error;
  std::uint64_t bytes = 0;  // written, file header and terminator included
  std::uint64_t records = 0;
};

// Writes `records` as <dir>/snapshot-<gen>: first to snapshot-<gen>.tmp, fsync, rename, fsync of
// the directory. The rename is the instant the snapshot replaces the older files; a crash before
// it leaves them in charge, a crash after leaves the complete snapshot. `cancel` (may be null)
// abandons the work between chunks, removing the temporary file.
snapshot_result write_snapshot(const std::string& dir, std::uint64_t gen, const live_map& records,
                               const std::atomic<bool>* cancel);

}  // namespace storage
