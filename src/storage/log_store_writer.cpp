// The writer thread of log_store: group commit, write-error handling, compaction.
#include <algorithm>
#include <exception>
#include <vector>

#include "storage/log_store.hpp"
#include "storage/record_frame.hpp"

namespace storage {
namespace {

// A burst may grow the batch buffers to max_queued_bytes; past this they are released after the
// commit instead of being kept for reuse. Small: a burst of retained messages (a hub's discovery
// at start) would otherwise leave two idle buffers of its size behind, for good; regrowing one
// costs a few copies of the batch per commit, nothing beside its write and fsync.
constexpr std::size_t keep_buffer_capacity = 256u << 10;
constexpr auto idle_wake = std::chrono::seconds(60);

}  // namespace

void log_store::writer_loop() {
  writer_id_ = std::this_thread::get_id();
  std::unique_lock lock(mutex_);
  for (;;) {
    if (compaction_done_) {
      compaction_done_ = false;
      lock.unlock();
      finish_compaction();
      lock.lock();
      continue;
    }
    if (!callbacks_.empty() && callbacks_.begin()->first <= durable_seq_) {
      run_ready_callbacks(lock);
      continue;
    }
    const auto now = clock::now();
    auto wake_at = now + idle_wake;
    // Checked before commits, which under a steady stream of changes never run out.
    if (!compaction_running_ && !stopping_ && !log_broken_ && unwritten_.empty() &&
        (compaction_requested_ || compaction_due())) {
      if (now >= next_compaction_at_) {
        compaction_requested_ = false;
        lock.unlock();
        start_compaction();
        lock.lock();
        continue;
      }
      wake_at = next_compaction_at_;
    }
    const bool work = !pending_.empty() || !unwritten_.empty();
    if (work) {
      auto due = pending_.empty() ? now : pending_since_ + options_.commit_interval;
      if (urgent_ || stopping_ || queued_bytes_ * 2 >= options_.max_queued_bytes) due = now;
      if (log_broken_) due = std::max(due, retry_at_);
      if (stopping_ && log_broken_ && now >= close_deadline_) break;  // give up on the disk
      if (due <= now) {
        lock.unlock();
        commit();
        lock.lock();
        continue;
      }
      wake_at = std::min(wake_at, stopping_ ? std::min(due, close_deadline_) : due);
    } else if (stopping_) {
      break;
    }
    writer_wake_.wait_until(lock, wake_at);
  }

  lock.unlock();
  if (compaction_running_) {
    // The old files still hold the whole state; the next start compacts again if needed.
    compaction_cancel_ = true;
    compaction_thread_.join();
    compaction_running_ = false;
  }
  log_fd_.reset();
  lock.lock();
  const std::uint64_t unwritten = pending_records_ + unwritten_records_;
  if (unwritten > 0) {
    stats_.unwritten_records_at_close = unwritten;
    log_("storage: closing with " + std::to_string(unwritten) + " changes not written to " + dir_ +
         " (the disk kept failing)");
  }
  while (!callbacks_.empty() && callbacks_.begin()->first <= durable_seq_) {
    run_ready_callbacks(lock);
  }
  callbacks_.clear();  // for sequences that never became durable
  stopped_ = true;
  progress_.notify_all();
}

void log_store::run_ready_callbacks(std::unique_lock<std::mutex>& lock) {
  std::vector<std::function<void()>> ready;
  const auto end = callbacks_.upper_bound(durable_seq_);
  for (auto it = callbacks_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
  callbacks_.erase(callbacks_.begin(), end);
  lock.unlock();
  for (auto& callback : ready) {
    try {
      callback();
    } catch (const std::exception& e) {
      log_(std::string("storage: a durability callback threw: ") + e.what());
    } catch (...) {
      log_("storage: a durability callback threw");
    }
  }
  lock.lock();
}

void log_store::commit() {
  {
    std::lock_guard lock(mutex_);
    if (unwritten_.empty()) {
      unwritten_.swap(pending_);
    } else {
      unwritten_.append(pending_);  // behind a batch that failed: order is kept
      pending_.clear();
    }
    if (unwritten_records_ == 0) {
      unwritten_shared_.swap(pending_shared_);
    } else {
      for (auto& [frame, value] : pending_shared_) {
        unwritten_shared_.emplace_back(unwritten_records_ + frame, std::move(value));
      }
      pending_shared_ = shared_puts();
    }
    unwritten_records_ += pending_records_;
    pending_records_ = 0;
    unwritten_last_seq_ = last_seq_;
    urgent_ = false;
  }
  std::uint64_t written = 0;
  if (log_broken_ || !log_fd_.valid()) {
    // After a failed write or fsync the old log's state is unknown (and a repeated fsync may lie),
    // so the batch goes, whole, to a new log. Replaying a change twice is harmless: the result
    // of put/erase does not depend on what was there before.
    log_fd_.reset();
    ++active_gen_;
    if (auto ec = create_log(dir_, active_gen_, log_fd_)) {
      handle_write_error("create a new log", ec);
      return;
    }
    written += file_header_size;
    log_bytes_ += file_header_size;
  }
  if (auto ec = write_all(log_fd_.get(), unwritten_)) {
    handle_write_error("write to the log", ec);
    return;
  }
  if (auto ec = sync_data(log_fd_.get())) {
    handle_write_error("fsync the log", ec);
    return;
  }
  const bool was_broken = log_broken_;
  log_broken_ = false;
  failed_attempts_ = 0;
  log_bytes_ += unwritten_.size();
  written += unwritten_.size();
  {
    // Producers waiting for room get it before the index catches up with the batch.
    std::lock_guard lock(mutex_);
    queued_bytes_ -= unwritten_.size();
  }
  progress_.notify_all();
  index_.apply_frames(unwritten_, unwritten_shared_);
  unwritten_shared_ = shared_puts();  // its capacity would stay what a burst grew it to
  {
    // Durability is announced with the index updated, so stats() after flush() is exact.
    std::lock_guard lock(mutex_);
    durable_seq_ = unwritten_last_seq_;
    ++stats_.commits;
    stats_.records_written += unwritten_records_;
    stats_.log_bytes_written += written;
    stats_.bytes_written += written;
    publish_contents_locked();
  }
  progress_.notify_all();
  if (unwritten_.capacity() > keep_buffer_capacity) {
    std::string().swap(unwritten_);
  } else {
    unwritten_.clear();
  }
  unwritten_records_ = 0;
  if (was_broken) log_("storage: writing to " + dir_ + " works again");
}

void log_store::handle_write_error(const char* what, std::error_code ec) {
  log_broken_ = true;
  log_fd_.reset();
  retry_at_ = clock::now() + options_.retry_interval;
  {
    std::lock_guard lock(mutex_);
    ++stats_.write_errors;
  }
  // A dead disk fails every retry: log the first failure, then one line per 60 attempts.
  if (failed_attempts_++ % 60 != 0) return;
  log_("storage: cannot " + std::string(what) + " in " + dir_ + ": " + ec.message() + "; " +
       std::to_string(unwritten_records_) + " changes wait in memory, retrying every " +
       std::to_string(options_.retry_interval.count()) + " ms with a new log file");
}

bool log_store::compaction_due() const {
  const std::uint64_t files = snapshot_bytes_ + log_bytes_;
  const std::uint64_t dead = files > index_.bytes() ? files - index_.bytes() : 0;
  return dead > std::max<std::uint64_t>(options_.compaction_min_dead_bytes, index_.bytes());
}

void log_store::start_compaction() {
  // Changes from now on go to a new log; the snapshot will replace every file before it. The
  // snapshot is written from the frozen index on another thread while commits go on.
  ++active_gen_;
  unique_fd fd;
  if (auto ec = create_log(dir_, active_gen_, fd)) {
    log_("storage: cannot start a compaction in " + dir_ + ": " + ec.message());
    next_compaction_at_ = clock::now() + options_.compaction_retry_interval;
    return;
  }
  log_fd_ = std::move(fd);
  compaction_gen_ = active_gen_;
  compaction_log_bytes_ = log_bytes_;
  log_bytes_ += file_header_size;
  {
    std::lock_guard lock(mutex_);
    stats_.log_bytes_written += file_header_size;
    stats_.bytes_written += file_header_size;
  }
  compaction_running_ = true;
  compaction_started_ = clock::now();
  compaction_cancel_ = false;
  const live_map& frozen = index_.freeze();
  compaction_thread_ = std::thread([this, gen = compaction_gen_, &frozen] {
    snapshot_result result = write_snapshot(dir_, gen, frozen, &compaction_cancel_);
    std::lock_guard lock(mutex_);
    compaction_result_ = result;
    compaction_done_ = true;
    writer_wake_.notify_one();
  });
}

void log_store::finish_compaction() {
  compaction_thread_.join();
  compaction_running_ = false;
  index_.thaw();
  snapshot_result result;
  {
    std::lock_guard lock(mutex_);
    result = compaction_result_;
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - compaction_started_);
  if (result.error) {
    log_("storage: compaction of " + dir_ + " failed: " + result.error.message() +
         "; the log keeps every change, next attempt in " +
         std::to_string(options_.compaction_retry_interval.count() / 1000) + " s");
    next_compaction_at_ = clock::now() + options_.compaction_retry_interval;
    return;
  }
  base_gen_ = compaction_gen_;
  log_bytes_ -= compaction_log_bytes_;
  snapshot_bytes_ = result.bytes;
  remove_replaced_files(base_gen_);
  {
    std::lock_guard lock(mutex_);
    ++stats_.compactions;
    stats_.snapshot_bytes_written += result.bytes;
    stats_.bytes_written += result.bytes;
    publish_contents_locked();
  }
  log_("storage: compacted " + dir_ + ": " + std::to_string(result.records) + " records, " +
       std::to_string(result.bytes) + " bytes in " + std::to_string(took.count()) + " ms");
}

void log_store::remove_replaced_files(std::uint64_t base_gen) {
  dir_listing listing;
  if (list_store_dir(dir_, listing)) return;  // the next open removes them
  for (const auto& f : listing.snapshots) {
    if (f.gen < base_gen) remove_path(path_in(dir_, f.name));
  }
  for (const auto& f : listing.logs) {
    if (f.gen < base_gen) remove_path(path_in(dir_, f.name));
  }
  // Not needed for safety (files older than the newest snapshot are ignored at open), only so
  // that the space is reclaimed for good.
  sync_directory(dir_);
}

void log_store::publish_contents_locked() {
  stats_.live_records = index_.records();
  stats_.live_bytes = index_.bytes();
  stats_.log_bytes = log_bytes_;
  stats_.snapshot_bytes = snapshot_bytes_;
}

}  // namespace storage
