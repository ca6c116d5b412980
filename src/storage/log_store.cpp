#include "storage/log_store.hpp"

#include <cerrno>

#include "storage/record_frame.hpp"
#include "storage/store_recovery.hpp"

namespace storage {
namespace {

std::string megabytes(std::uint64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + "." +
         std::to_string(bytes % (1024 * 1024) * 10 / (1024 * 1024)) + " MiB";
}

}  // namespace

log_store::log_store(std::string dir, const log_store_options& options, log_fn log)
    : dir_(std::move(dir)), options_(options), log_(std::move(log)) {}

log_store::open_result log_store::open(const std::string& dir, const log_store_options& options,
                                       log_fn log, const record_visitor& visit) {
  const auto started = clock::now();
  if (!log) log = [](std::string_view) {};
  if (auto ec = make_directory(dir)) {
    return {nullptr, "cannot create the store directory " + dir + ": " + ec.message()};
  }
  unique_fd lock;
  if (auto ec = lock_directory(dir, lock)) {
    if (ec.value() == EWOULDBLOCK) {
      return {nullptr, "the store directory " + dir +
                           " is in use by another process; stop it or choose another directory"};
    }
    return {nullptr, "cannot lock the store directory " + dir + ": " + ec.message()};
  }
  recovered_store rec;
  if (std::string error = recover_store(dir, log, rec); !error.empty()) return {nullptr, error};

  std::unique_ptr<log_store> store(new log_store(dir, options, log));
  store->lock_fd_ = std::move(lock);
  store->log_fd_ = std::move(rec.active_log);
  store->active_gen_ = rec.active_gen;
  store->base_gen_ = rec.base_gen;
  store->log_bytes_ = rec.log_bytes;
  store->snapshot_bytes_ = rec.snapshot_bytes;
  store->index_ = live_index(std::move(rec.records), rec.live_bytes);
  store_stats& s = store->stats_;
  s.bytes_written = rec.bytes_written;
  s.snapshot_bytes_written = rec.snapshot_bytes_written;
  s.loaded_records = rec.loaded_records;
  s.damaged_files = rec.damaged_files;
  s.unreadable_bytes = rec.unreadable_bytes;
  s.records_after_damage = rec.records_after_damage;
  s.load_time = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  store->publish_contents_locked();  // no other thread exists yet
  log("storage: loaded " + std::to_string(s.live_records) + " records (" + megabytes(s.live_bytes) +
      ") from " + dir + " in " + std::to_string(s.load_time.count()) + " ms");
  if (visit) store->index_.share_values(visit);
  store->writer_ = std::thread([raw = store.get()] { raw->writer_loop(); });
  return {std::move(store), {}};
}

log_store::~log_store() {
  close(clock::now() + std::chrono::seconds(30));
}

bool log_store::on_writer_thread() const {
  return std::this_thread::get_id() == writer_id_.load();
}

write_result log_store::put(std::string_view key, std::string_view value,
                            clock::time_point deadline) {
  return append(record_type::put, key, value, deadline);
}

write_result log_store::erase(std::string_view key, clock::time_point deadline) {
  return append(record_type::erase, key, {}, deadline);
}

write_result log_store::put(std::string_view key, const shared_value& value,
                            clock::time_point deadline) {
  std::string bytes;
  value.append_to(bytes);
  return append(record_type::put, key, bytes, deadline, &value);
}

write_result log_store::append(record_type type, std::string_view key, std::string_view value,
                               clock::time_point deadline, const shared_value* shared) {
  const std::size_t body = key.size() + value.size();
  if (body > options_.max_record_bytes || body > max_frame_body) {
    return {write_status::too_large, 0};
  }
  // The CRC is computed before taking the lock: the critical section is three memcpy.
  const frame_header header = encode_frame_header(type, key, value);
  const std::size_t size = frame_header_size + body;
  std::unique_lock lock(mutex_);
  // An empty queue takes any record, so one larger than the limit is not refused forever.
  while (!stopping_ && queued_bytes_ > 0 && queued_bytes_ + size > options_.max_queued_bytes) {
    urgent_ = true;
    writer_wake_.notify_one();
    if (on_writer_thread() || clock::now() >= deadline) {
      ++stats_.backpressure_rejections;
      return {write_status::backpressure, last_seq_};
    }
    progress_.wait_until(lock, deadline);
  }
  if (stopping_) return {write_status::closed, 0};
  const bool was_empty = pending_.empty();
  pending_.append(header.data(), header.size());
  pending_.append(key);
  pending_.append(value);
  if (shared != nullptr) pending_shared_.emplace_back(pending_records_, *shared);
  queued_bytes_ += size;
  ++pending_records_;
  const std::uint64_t seq = ++last_seq_;
  if (was_empty) pending_since_ = clock::now();
  // The writer sleeps until the oldest pending change is due; it only needs waking when that
  // deadline appears or when the queue is half full and should be written early.
  if (was_empty || queued_bytes_ * 2 >= options_.max_queued_bytes) writer_wake_.notify_one();
  return {write_status::ok, seq};
}

bool log_store::when_durable(std::uint64_t seq, std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  if (stopped_ || callbacks_.size() >= options_.max_durable_callbacks) {
    ++stats_.callbacks_rejected;
    return false;
  }
  callbacks_.emplace(seq, std::move(callback));
  if (seq > durable_seq_) urgent_ = true;
  writer_wake_.notify_one();
  return true;
}

flush_status log_store::flush(clock::time_point deadline) {
  if (on_writer_thread()) return flush_status::writer_thread;
  std::unique_lock lock(mutex_);
  const std::uint64_t target = last_seq_;
  if (durable_seq_ >= target) return flush_status::ok;
  urgent_ = true;
  writer_wake_.notify_one();
  progress_.wait_until(lock, deadline, [&] { return durable_seq_ >= target || stopped_; });
  if (durable_seq_ >= target) return flush_status::ok;
  return stopped_ ? flush_status::closed : flush_status::timeout;
}

void log_store::request_compaction() {
  std::lock_guard lock(mutex_);
  compaction_requested_ = true;
  writer_wake_.notify_one();
}

std::uint64_t log_store::last_sequence() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

std::uint64_t log_store::durable_sequence() const {
  std::lock_guard lock(mutex_);
  return durable_seq_;
}

store_stats log_store::stats() const {
  std::lock_guard lock(mutex_);
  store_stats s = stats_;
  s.queued_bytes = queued_bytes_;
  s.last_sequence = last_seq_;
  s.durable_sequence = durable_seq_;
  return s;
}

bool log_store::close(clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      close_deadline_ = deadline;
    }
    writer_wake_.notify_one();
    progress_.notify_all();
  }
  if (on_writer_thread()) return false;  // a callback cannot wait for its own thread
  {
    std::lock_guard join_lock(close_mutex_);
    if (writer_.joinable()) writer_.join();
  }
  std::lock_guard lock(mutex_);
  return durable_seq_ == last_seq_;
}

}  // namespace storage
