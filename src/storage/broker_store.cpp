#include "storage/broker_store.hpp"

#include <algorithm>

#include "broker/broker_core.hpp"
#include "storage/state_records.hpp"

namespace storage {

namespace {

// The log store's lines carry no level: routine ones (loaded, compacted, works again) are info,
// anything about damage or failure is a warning the user should see.
broker::log_level level_of(std::string_view line) {
  for (std::string_view bad : {"damaged", "cannot", "failed", "threw", "not written", "corrupt"}) {
    if (line.find(bad) != std::string_view::npos) return broker::log_level::warning;
  }
  return broker::log_level::info;
}

}  // namespace

broker_store::broker_store(const broker_store_options& options, broker::logger& log)
    : options_(options), log_(log) {}

std::unique_ptr<broker_store> broker_store::open(const std::string& dir,
                                                 const broker_store_options& options,
                                                 broker::logger& log, std::string& error) {
  std::unique_ptr<broker_store> self(new broker_store(options, log));
  log_store_options store_options;
  store_options.commit_interval =
      options.strict ? std::chrono::milliseconds(0) : options.commit_interval;
  auto opened = log_store::open(
      dir, store_options, [&log](std::string_view line) { log.log(level_of(line), line); },
      [&self](std::string_view key, std::string_view value) {
        return self->loaded_.load(key, value);
      });
  if (!opened.store) {
    error = opened.error;
    return nullptr;
  }
  self->store_ = std::move(opened.store);
  // Parts of a session whose session record is gone were left by an interrupted erase.
  const std::size_t leftovers =
      self->loaded_.drop_leftovers([&self](const std::string& key) { self->store_->erase(key); });
  const store_stats s = self->store_->stats();
  log.log(broker::log_level::info,
          "storage: loaded " + std::to_string(self->loaded_.retained_count()) +
              " retained messages and " + std::to_string(self->loaded_.session_count()) +
              " persistent sessions from " + dir + " in " + std::to_string(s.load_time.count()) +
              " ms");
  if (self->loaded_.invalid_records() > 0 || leftovers > 0) {
    log.log(broker::log_level::warning, "storage: ignored " +
                                            std::to_string(self->loaded_.invalid_records()) +
                                            " unreadable records and " + std::to_string(leftovers) +
                                            " leftovers of ended sessions");
  }
  self->flusher_ = std::thread([raw = self.get()] { raw->flusher_loop(); });
  return self;
}

broker_store::~broker_store() {
  close(std::chrono::steady_clock::now() + std::chrono::seconds(30));
}

void broker_store::restore_into(broker::broker_core& core) {
  loaded_.restore_into(core);
}

void broker_store::record(std::string key, std::optional<std::string> value, bool fresh) {
  hold(std::move(key), change{std::move(value), {}, fresh});
}

void broker_store::hold(std::string key, change c) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (options_.strict && held_.empty()) {
    // Straight to the store; held changes (after a push-back) must go first, so only when none.
    if (write(key, c).ok()) return;
  }
  auto it = held_.find(std::string_view(key));
  if (it == held_.end()) {
    held_.emplace(std::string_view(key), std::move(c));  // the key is copied into the pool
    return;
  }
  if (c.erases() && it->second.fresh) {
    held_.erase(it);  // created and removed before reaching the disk: nothing to write
    return;
  }
  it->second.value = std::move(c.value);
  it->second.shared = std::move(c.shared);
}

write_result broker_store::write(std::string_view key, const change& c) {
  if (c.shared) return store_->put(key, c.shared);
  return c.value ? store_->put(key, *c.value) : store_->erase(key);
}

void broker_store::when_durable(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  if (!held_.empty()) {
    waiting_.push_back(std::move(fn));
    wake_.notify_one();
    return;
  }
  if (!store_->when_durable(store_->last_sequence(), std::move(fn))) {
    log_.log(broker::log_level::error,
             "storage: too many acknowledgements waiting for the disk; one is withheld (the "
             "client will resend)");
  }
}

bool broker_store::push_held(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  for (auto it = held_.begin(); it != held_.end();) {
    const write_result r = write(it->first, it->second);
    if (!r.ok()) {
      if (!pushed_back_) {
        pushed_back_ = true;
        log_.log(broker::log_level::warning,
                 "storage: the disk is not keeping up; changes wait in memory and are retried");
      }
      return false;
    }
    it = held_.erase(it);
  }
  release_held_memory();
  if (pushed_back_) {
    pushed_back_ = false;
    log_.log(broker::log_level::notice, "storage: the disk caught up");
  }
  for (auto& fn : waiting_) store_->when_durable(store_->last_sequence(), std::move(fn));
  waiting_.clear();
  return true;
}

void broker_store::release_held_memory() {
  // The old map (its buckets are in the pool too) goes first; a new one allocates nothing yet.
  held_map(&held_memory_).swap(held_);
  held_memory_.release();
}

void broker_store::flusher_loop() {
  std::unique_lock lock(mutex_);
  // The last push was refused (the store's queue is full: the disk is slow, full or failing).
  // Acknowledgements waiting (strict mode) then do not cut the wait short: with them the loop
  // would retry at once, forever, each retry encoding a held change again (it did, at a full
  // core, on a full disk).
  bool behind = false;
  while (!stopping_) {
    wake_.wait_for(lock, options_.hold,
                   [this, &behind] { return stopping_ || (!behind && !waiting_.empty()); });
    if (stopping_) break;
    behind = !push_held(lock);
  }
}

bool broker_store::close(std::chrono::steady_clock::time_point deadline) {
  {
    std::unique_lock lock(mutex_);
    if (stopping_ && !flusher_.joinable()) return true;
    stopping_ = true;
    wake_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  if (!store_) return true;
  bool complete = true;
  {
    std::unique_lock lock(mutex_);
    while (!held_.empty() && std::chrono::steady_clock::now() < deadline) {
      if (push_held(lock)) break;
      lock.unlock();
      store_->flush(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1)));
      lock.lock();
    }
    complete = held_.empty();
  }
  const bool written = store_->close(deadline);
  const store_stats s = store_->stats();
  log_.log(broker::log_level::info, "storage: closed; " + std::to_string(s.records_written) +
                                        " records, " + std::to_string(s.bytes_written) +
                                        " bytes written since start");
  return complete && written;
}

void broker_store::retained_stored(const broker::message_ptr& msg) {
  hold(records::retained_key(msg->topic()), change{std::nullopt, records::retained_shared(msg)});
}

void broker_store::retained_erased(std::string_view topic) {
  record(records::retained_key(topic), std::nullopt);
}

void broker_store::session_stored(std::string_view client_id, std::string_view username) {
  record(records::session_key(client_id), std::string(username));
}

void broker_store::session_erased(std::string_view client_id) {
  record(records::session_key(client_id), std::nullopt);
  record(records::expiry_key(client_id), std::nullopt);
}

void broker_store::session_expiry_stored(
    std::string_view client_id, std::uint32_t expiry_interval,
    std::optional<std::chrono::system_clock::time_point> ended_at) {
  record(records::expiry_key(client_id), records::expiry_value(expiry_interval, ended_at));
}

void broker_store::subscription_stored(std::string_view client_id, const mqtt::subscription& sub) {
  record(records::subscription_key(client_id, sub.filter), records::subscription_value(sub));
}

void broker_store::subscription_erased(std::string_view client_id, std::string_view filter) {
  record(records::subscription_key(client_id, filter), std::nullopt);
}

void broker_store::delivery_stored(std::string_view client_id, const broker::stored_delivery& d) {
  // A delivery's first record has packet id 0 (queued) and a key never used before.
  const bool first = d.packet_id == 0 && !d.released;
  record(records::delivery_key(client_id, d.seq), records::delivery_value(d), first);
}

void broker_store::delivery_erased(std::string_view client_id, std::uint64_t seq) {
  record(records::delivery_key(client_id, seq), std::nullopt);
}

void broker_store::incoming_qos2_stored(std::string_view client_id, std::uint16_t packet_id) {
  record(records::incoming_key(client_id, packet_id), std::string());
}

void broker_store::incoming_qos2_erased(std::string_view client_id, std::uint16_t packet_id) {
  record(records::incoming_key(client_id, packet_id), std::nullopt);
}

}  // namespace storage
