#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "storage/stored_value.hpp"

namespace storage {

// Receives one line per event worth a log line (what open loaded or recovered, write errors,
// compactions). Called from the thread calling open() and from the writer thread; must not throw.
using log_fn = std::function<void(std::string_view)>;
// Called once per live record at open. It may return a shared value that makes exactly the
// record's bytes (the object it decoded from them): the store's index then keeps that, not a copy.
using record_visitor = std::function<shared_value(std::string_view key, std::string_view value)>;

struct log_store_options {
  // A change is written and fsynced at most this long after put()/erase() returned. 0 commits as
  // soon as the writer is free, which still groups every change made during the previous fsync.
  std::chrono::milliseconds commit_interval{1000};
  // Bytes of changes accepted but not yet on disk. Past it put()/erase() wait up to their deadline
  // and then report back-pressure. A record larger than this is still accepted into an empty queue.
  std::size_t max_queued_bytes = 16u << 20;
  // Compact when the dead bytes in the files (records overwritten or erased since, plus the
  // snapshot's copies of them) exceed max(this, bytes of the live set). A compaction writes the
  // live set once per at least that many bytes appended, so it at most doubles the bytes written,
  // the files stay under about twice the live set (+ this), and a store of only live records is
  // never rewritten.
  std::uint64_t compaction_min_dead_bytes = 8u << 20;
  // Largest key + value accepted (MQTT's largest packet is 256 MiB).
  std::size_t max_record_bytes = 256u << 20;
  // when_durable() callbacks waiting at once.
  std::size_t max_durable_callbacks = 1u << 20;
  // After a failed write or fsync, the next attempt (on a new log file) waits this long.
  std::chrono::milliseconds retry_interval{1000};
  // After a failed compaction, the next one waits this long.
  std::chrono::milliseconds compaction_retry_interval{30000};
};

enum class write_status {
  ok,
  backpressure,  // the queue is full; nothing was enqueued
  too_large,     // key + value over max_record_bytes; nothing was enqueued
  closed,        // close() was called; nothing was enqueued
};

struct write_result {
  write_status status = write_status::closed;
  // ok: this change's sequence number (1, 2, 3, ... in the order changes were accepted).
  // backpressure: the last accepted sequence; once it is durable the queue has been emptied, so
  // when_durable(seq, retry) is the moment to try again.
  std::uint64_t seq = 0;

  bool ok() const { return status == write_status::ok; }
};

enum class flush_status {
  ok,             // everything accepted before the call is on disk
  timeout,        // the deadline passed first
  closed,         // the store closed with changes it could not write
  writer_thread,  // called from a when_durable callback, where waiting would deadlock
};

struct store_stats {
  // What reached the disk, for "bytes written per retained update" = bytes_written /
  // records_written (compaction and recovery snapshots included).
  std::uint64_t bytes_written = 0;
  std::uint64_t log_bytes_written = 0;
  std::uint64_t snapshot_bytes_written = 0;
  std::uint64_t records_written = 0;
  std::uint64_t commits = 0;  // fdatasync of the log, each covering a group of changes
  std::uint64_t compactions = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t unwritten_records_at_close = 0;

  // The queue.
  std::uint64_t queued_bytes = 0;
  std::uint64_t backpressure_rejections = 0;
  std::uint64_t callbacks_rejected = 0;
  std::uint64_t last_sequence = 0;
  std::uint64_t durable_sequence = 0;

  // The store now.
  std::uint64_t live_records = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t log_bytes = 0;       // in the logs since the last snapshot
  std::uint64_t snapshot_bytes = 0;  // the last snapshot's size

  // What open() found.
  std::uint64_t loaded_records = 0;        // valid records read (snapshot and logs)
  std::uint64_t damaged_files = 0;         // files kept aside at this open
  std::uint64_t unreadable_bytes = 0;      // in those files
  std::uint64_t records_after_damage = 0;  // recovered by resynchronising past damage
  std::chrono::milliseconds load_time{0};
};

}  // namespace storage
