#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "storage/file_ops.hpp"
#include "storage/live_index.hpp"
#include "storage/store_files.hpp"
#include "storage/store_options.hpp"

namespace storage {

// A durable key -> value store: an append-only log with group commit, compacted into snapshots.
// See docs/storage-design.md for the format and the crash-safety argument.
//
// Threads: put(), erase(), when_durable(), flush(), stats() may be called from any thread.
// put()/erase() only append to an in-memory batch under a short lock; a writer thread appends
// batches to the log and fsyncs them, at least once per commit_interval, and runs when_durable
// callbacks. Compaction writes its snapshot on a thread of its own, so commits continue meanwhile.
class log_store {
 public:
  using clock = std::chrono::steady_clock;

  struct open_result {
    std::unique_ptr<log_store> store;  // null on error
    std::string error;                 // one line: what failed and what to do
  };

  // Creates `dir` if needed, locks it, loads the snapshot and the logs (recovering from damage, see
  // store_recovery.hpp), calls `visit` once per live record (in no particular order, before the
  // writer starts), and starts the writer. Damaged data never makes it fail; an unusable directory
  // (permissions, another process holding the lock, disk full during recovery) does.
  static open_result open(const std::string& dir, const log_store_options& options, log_fn log,
                          const record_visitor& visit);

  // close() with a 30 s deadline. Never destroy the store from one of its callbacks.
  ~log_store();
  log_store(const log_store&) = delete;
  log_store& operator=(const log_store&) = delete;

  // Enqueue a change. Never blocks unless the queue is full, then waits until `deadline` (the
  // default, a time in the past, means: do not wait) and reports back-pressure; nothing is lost
  // silently: a change is either accepted (status ok) or the caller is told it was not.
  write_result put(std::string_view key, std::string_view value, clock::time_point deadline = {});
  // The same, for a value the caller holds anyway: the index shares it instead of copying the
  // bytes once they are written (stored_value.hpp).
  write_result put(std::string_view key, const shared_value& value,
                   clock::time_point deadline = {});
  write_result erase(std::string_view key, clock::time_point deadline = {});

  // Runs `callback` on the writer thread once every change up to `seq` is on disk, callbacks in
  // order of seq (ties: in the order registered); at once (still on the writer thread) if it
  // already is. Registering asks for a commit now rather than at the end of commit_interval: that
  // is the strict-durability path, one fsync per group of waiting changes. Callbacks must be
  // short and must not call flush() or close(). Returns false (nothing registered) if
  // max_durable_callbacks are already waiting or the store is closed. Callbacks for sequences
  // never reached are dropped at close.
  bool when_durable(std::uint64_t seq, std::function<void()> callback);

  // Blocks until every change accepted before the call is on disk, or until `deadline`.
  flush_status flush(clock::time_point deadline);

  // Starts a compaction now (or after the running one), whatever the files' size; asynchronous:
  // stats().compactions counts those done.
  void request_compaction();

  std::uint64_t last_sequence() const;
  std::uint64_t durable_sequence() const;
  store_stats stats() const;

  // Writes everything accepted, stops the threads. Returns true when every accepted change is on
  // disk. After `deadline` the writer gives up on a failing disk (counted in
  // unwritten_records_at_close); an I/O call already in progress is still waited for.
  bool close(clock::time_point deadline);

 private:
  log_store(std::string dir, const log_store_options& options, log_fn log);

  write_result append(record_type type, std::string_view key, std::string_view value,
                      clock::time_point deadline, const shared_value* shared = nullptr);
  bool on_writer_thread() const;

  // Writer thread (log_store_writer.cpp).
  void writer_loop();
  void commit();
  void handle_write_error(const char* what, std::error_code ec);
  bool compaction_due() const;
  void start_compaction();
  void finish_compaction();
  void remove_replaced_files(std::uint64_t base_gen);
  void run_ready_callbacks(std::unique_lock<std::mutex>& lock);
  void publish_contents_locked();

  // Fixed at open.
  const std::string dir_;
  const log_store_options options_;
  const log_fn log_;
  unique_fd lock_fd_;

  // Owned by the writer thread.
  unique_fd log_fd_;
  std::uint64_t active_gen_ = 0;
  std::uint64_t base_gen_ = 0;
  std::uint64_t log_bytes_ = 0;       // logs since the base snapshot
  std::uint64_t snapshot_bytes_ = 0;  // the base snapshot
  live_index index_;
  std::string unwritten_;  // taken from pending_, not yet durable
  shared_puts unwritten_shared_;
  std::uint64_t unwritten_last_seq_ = 0;
  std::uint64_t unwritten_records_ = 0;
  bool log_broken_ = false;  // the last write failed: the next one goes to a new log
  clock::time_point retry_at_{};
  std::uint64_t failed_attempts_ = 0;  // in a row
  bool compaction_running_ = false;
  std::uint64_t compaction_gen_ = 0;
  std::uint64_t compaction_log_bytes_ = 0;  // log bytes the running compaction replaces
  clock::time_point compaction_started_{};
  clock::time_point next_compaction_at_{};
  std::thread compaction_thread_;
  std::atomic<bool> compaction_cancel_{false};

  // Shared, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable writer_wake_;
  std::condition_variable progress_;  // durable_seq_ advanced or the store stopped
  std::string pending_;
  shared_puts pending_shared_;  // the puts of pending_ whose values are shared
  std::uint64_t pending_records_ = 0;
  clock::time_point pending_since_{};
  std::uint64_t queued_bytes_ = 0;  // pending_ + unwritten_
  std::uint64_t last_seq_ = 0;
  std::uint64_t durable_seq_ = 0;
  bool urgent_ = false;
  bool compaction_requested_ = false;
  bool compaction_done_ = false;
  snapshot_result compaction_result_;
  bool stopping_ = false;
  bool stopped_ = false;
  clock::time_point close_deadline_{};
  std::multimap<std::uint64_t, std::function<void()>> callbacks_;
  store_stats stats_;

  std::mutex close_mutex_;  // one close() joins the writer
  std::atomic<std::thread::id> writer_id_{};
  std::thread writer_;  // last: started once everything above exists
};

}  // namespace storage
