#include "storage/store_recovery.hpp"

#include <algorithm>
#include <cerrno>

#include "storage/frame_scanner.hpp"
#include "storage/store_files.hpp"

namespace storage {
namespace {

struct file_check {
  store_file file;
  bool damaged = false;
  std::string problems;  // "; "-separated, for the log line
  scan_report scan;
};

void add_problem(file_check& c, const std::string& text) {
  c.damaged = true;
  if (!c.problems.empty()) c.problems += "; ";
  c.problems += text;
}

// Reads one file, applying its records to `records` when given. A snapshot must end with a
// snapshot_end record matching what precedes it; a log must not contain one.
file_check check_file(const std::string& dir, const store_file& file, live_map* records,
                      std::uint64_t& live_bytes) {
  file_check c{file, false, {}, {}};
  file_contents contents;
  if (auto ec = read_whole_file(path_in(dir, file.name), contents)) {
    add_problem(c, "cannot read it: " + ec.message());
    c.scan.unreadable_bytes = file.size;
    return c;
  }
  // Unreadable parts are zeros, which scan_frames reports as damage: the file is set aside and
  // what could be read is kept.
  if (contents.unreadable > 0) {
    add_problem(c, std::to_string(contents.unreadable) + " bytes unreadable (I/O error)");
  }
  const std::string_view bytes = contents.bytes;
  const std::size_t body_at = std::min(bytes.size(), file_header_size);
  const bool header_ok = check_file_header(bytes, file.kind, file.gen);
  if (!header_ok) add_problem(c, "invalid file header");
  bool end_seen = false, end_ok = false, frames_after_end = false;
  std::uint64_t puts = 0, put_bytes = 0;
  c.scan = scan_frames(bytes.substr(body_at), body_at, [&](const frame_view& f) {
    if (end_seen) frames_after_end = true;
    if (f.type == record_type::snapshot_end) {
      std::uint64_t n = 0, b = 0;
      end_seen = true;
      end_ok = decode_snapshot_end(f.value, n, b) && n == puts && b == put_bytes;
      return;
    }
    if (f.type == record_type::put) {
      ++puts;
      put_bytes += f.size;
    }
    if (records == nullptr) return;
    if (f.type == record_type::put) {
      auto [it, inserted] = records->try_emplace(std::string(f.key));
      if (!inserted) live_bytes -= frame_size(f.key, it->second.size());
      it->second = stored_value(f.value);
      live_bytes += f.size;
    } else if (auto it = records->find(f.key); it != records->end()) {
      live_bytes -= frame_size(f.key, it->second.size());
      records->erase(it);
    }
  });
  if (!header_ok) c.scan.unreadable_bytes += body_at;
  for (std::size_t i = 0; i < c.scan.damage.size() && i < 3; ++i) {
    const damaged_region& d = c.scan.damage[i];
    add_problem(c, std::string(to_string(d.reason)) + " at offset " + std::to_string(d.offset) +
                       " (" + std::to_string(d.length) + " bytes skipped)");
  }
  if (c.scan.damage.size() > 3) {
    add_problem(c, std::to_string(c.scan.damage.size() - 3) + " more damaged regions");
  }
  if (file.kind == file_kind::snapshot && !end_seen) add_problem(c, "snapshot incomplete");
  if (file.kind == file_kind::snapshot && end_seen && !end_ok) {
    add_problem(c, "snapshot record count does not match its end record");
  }
  if (frames_after_end) add_problem(c, "records after the snapshot end record");
  if (file.kind == file_kind::log && end_seen) add_problem(c, "snapshot end record in a log");
  return c;
}

std::string describe(const file_check& c) {
  return std::to_string(c.scan.records) + " valid records read (" +
         std::to_string(c.scan.records_after_damage) + " of them after the damage), " +
         std::to_string(c.scan.unreadable_bytes) + " bytes unreadable";
}

// The state is complete in memory and the files are damaged: write it as a new snapshot and log
// (generation above every file), then set the damaged files aside and drop the clean ones.
std::string rewrite_damaged(const std::string& dir, const log_fn& log,
                            const std::vector<file_check>& checks, std::uint64_t max_gen,
                            recovered_store& out) {
  const std::uint64_t gen = max_gen + 1;
  const snapshot_result snap = write_snapshot(dir, gen, out.records, nullptr);
  if (snap.error) {
    return "cannot write the recovered store to " + dir + ": " + snap.error.message() +
           " (free space or fix permissions; the damaged files are untouched)";
  }
  if (auto ec = create_log(dir, gen, out.active_log)) {
    return "cannot create a log in " + dir + ": " + ec.message();
  }
  out.base_gen = out.active_gen = gen;
  out.log_bytes = file_header_size;
  out.snapshot_bytes_written = out.snapshot_bytes = snap.bytes;
  out.bytes_written = snap.bytes + file_header_size;
  for (const file_check& c : checks) {
    if (!c.damaged) {
      remove_path(path_in(dir, c.file.name));
      continue;
    }
    ++out.damaged_files;
    out.unreadable_bytes += c.scan.unreadable_bytes;
    out.records_after_damage += c.scan.records_after_damage;
    std::string aside;
    if (auto ec = set_aside(dir, c.file.name, aside)) {
      log("storage: " + c.file.name + " is damaged (" + c.problems + "); " + describe(c) +
          "; could not rename it aside: " + ec.message());
      continue;
    }
    log("storage: " + c.file.name + " is damaged (" + c.problems + "); " + describe(c) +
        "; the file is kept as " + aside);
  }
  sync_directory(dir);
  log("storage: recovered " + std::to_string(out.records.size()) +
      " live records and wrote them to " + file_name(file_kind::snapshot, gen) + "; " +
      std::to_string(out.damaged_files) + " damaged file(s) kept aside in " + dir);
  return {};
}

}  // namespace

std::string recover_store(const std::string& dir, const log_fn& log, recovered_store& out) {
  dir_listing listing;
  if (auto ec = list_store_dir(dir, listing)) {
    return "cannot read the store directory " + dir + ": " + ec.message();
  }
  if (listing.set_aside_files > 0) {
    log("storage: " + std::to_string(listing.set_aside_files) + " damaged file(s) from earlier (" +
        std::to_string(listing.set_aside_bytes) + " bytes) kept aside in " + dir +
        "; delete them once inspected");
  }
  for (const std::string& tmp : listing.temporaries) {
    // Never renamed into place, so every record in it is also in the other files.
    remove_path(path_in(dir, tmp));
    log("storage: removed " + tmp + ", left by an interrupted compaction");
  }
  const std::uint64_t base = listing.snapshots.empty() ? 0 : listing.snapshots.back().gen;
  std::uint64_t max_gen = base, total = 0;
  for (const auto& f : listing.logs) max_gen = std::max(max_gen, f.gen);
  for (const auto& f : listing.logs) total += f.gen >= base ? f.size : 0;
  if (!listing.snapshots.empty()) total += listing.snapshots.back().size;
  out.records.reserve(total / 128);

  // Live files in replay order, then superseded ones (left by a crash between a compaction's
  // rename and its deletions), which are only checked: a damaged one is kept aside, not deleted.
  std::vector<file_check> checks;
  bool damaged = false;
  const auto run = [&](const store_file& f, live_map* records) {
    checks.push_back(check_file(dir, f, records, out.live_bytes));
    damaged = damaged || checks.back().damaged;
    if (records != nullptr) out.loaded_records += checks.back().scan.records;
  };
  if (!listing.snapshots.empty()) run(listing.snapshots.back(), &out.records);
  for (const auto& f : listing.logs) {
    if (f.gen >= base) run(f, &out.records);
  }
  for (const auto& f : listing.snapshots) {
    if (f.gen < base) run(f, nullptr);
  }
  for (const auto& f : listing.logs) {
    if (f.gen < base) run(f, nullptr);
  }
  if (damaged) return rewrite_damaged(dir, log, checks, max_gen, out);

  for (const file_check& c : checks) {
    if (c.file.gen < base) remove_path(path_in(dir, c.file.name));
  }
  out.base_gen = base;
  out.snapshot_bytes = listing.snapshots.empty() ? 0 : listing.snapshots.back().size;
  out.log_bytes = 0;
  for (const auto& f : listing.logs) out.log_bytes += f.gen >= base ? f.size : 0;
  if (!listing.logs.empty() && listing.logs.back().gen >= base) {
    out.active_gen = listing.logs.back().gen;
    if (auto ec = open_append(path_in(dir, listing.logs.back().name), out.active_log)) {
      return "cannot open " + listing.logs.back().name + " for writing: " + ec.message();
    }
    return {};
  }
  out.active_gen = std::max<std::uint64_t>(base, 1);
  if (auto ec = create_log(dir, out.active_gen, out.active_log)) {
    if (ec != std::errc::no_space_on_device && ec.value() != EDQUOT) {
      return "cannot create a log in " + dir + ": " + ec.message();
    }
    // A full disk is no reason to keep Home Assistant without its broker: the store opens
    // without a log, and the writer makes one at its first commit, retrying while the disk
    // stays full (log_store_writer.cpp); changes wait in memory meanwhile.
    log("storage: cannot create a log in " + dir + ": " + ec.message() +
        "; the store opens without one, and changes wait in memory until there is room");
    return {};
  }
  out.log_bytes += file_header_size;
  out.bytes_written += file_header_size;
  return {};
}

}  // namespace storage
