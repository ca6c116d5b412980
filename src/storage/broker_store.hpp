#pragma once
// The broker's durable state on a log_store: retained messages and persistent sessions, written
// change by change (broker::persistence) and read back at start.
//
// Write-behind: in the default mode a change waits up to `hold` in memory, where a later change
// to the same key replaces it. A QoS 1 message that its subscriber acknowledges within that time
// never reaches the disk at all, which spares SD cards the bulk of a busy persistent session's
// traffic; everything else is on disk within hold + the store's commit interval. In strict mode
// changes go to the store at once and acknowledgements wait for its fsync.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/broker_core.hpp"
#include "broker/persistence.hpp"
#include "storage/live_index.hpp"
#include "storage/log_store.hpp"
#include "storage/state_loader.hpp"

namespace storage {

struct broker_store_options {
  bool strict = false;
  std::chrono::milliseconds hold{250};
  std::chrono::milliseconds commit_interval{500};  // hold + this stays under one second
};

class broker_store final : public broker::persistence {
 public:
  // Opens (creating if needed) the store in `dir` and reads it. Null, with `error` set, only
  // when the directory cannot be used; damaged data is recovered and logged, never fatal.
  static std::unique_ptr<broker_store> open(const std::string& dir,
                                            const broker_store_options& options,
                                            broker::logger& log, std::string& error);
  ~broker_store() override;

  // Hands what open() read to the broker (once, before it serves anyone) and frees it here.
  void restore_into(broker::broker_core& core);

  // Writes everything still held, then closes the store. True when all of it is on disk.
  bool close(std::chrono::steady_clock::time_point deadline);

  store_stats stats() const { return store_->stats(); }

  // broker::persistence
  void retained_stored(const broker::message_ptr& msg) override;
  void retained_erased(std::string_view topic) override;
  void session_stored(std::string_view client_id, std::string_view username) override;
  void session_erased(std::string_view client_id) override;
  void session_expiry_stored(
      std::string_view client_id, std::uint32_t expiry_interval,
      std::optional<std::chrono::system_clock::time_point> ended_at) override;
  void subscription_stored(std::string_view client_id, const mqtt::subscription& sub) override;
  void subscription_erased(std::string_view client_id, std::string_view filter) override;
  void delivery_stored(std::string_view client_id, const broker::stored_delivery& d) override;
  void delivery_erased(std::string_view client_id, std::uint64_t seq) override;
  void incoming_qos2_stored(std::string_view client_id, std::uint16_t packet_id) override;
  void incoming_qos2_erased(std::string_view client_id, std::uint16_t packet_id) override;
  void when_durable(std::function<void()> fn) override;

 private:
  struct change {
    std::optional<std::string> value;  // neither this nor `shared`: erase
    shared_value shared;               // a retained message: its bytes are made when written
    bool fresh = false;  // created by this change: an erase before the write cancels both
    bool erases() const { return !value && !shared; }
  };

  broker_store(const broker_store_options& options, broker::logger& log);
  // `fresh`: the key cannot be on disk yet (a delivery's first record).
  void record(std::string key, std::optional<std::string> value, bool fresh = false);
  void hold(std::string key, change c);
  // Hands one change to the store.
  write_result write(std::string_view key, const change& c);
  void flusher_loop();
  // Moves held changes into the store; returns false if the store pushed back.
  bool push_held(std::unique_lock<std::mutex>& lock);
  // Once held_ is empty: gives its pool back.
  void release_held_memory();

  broker_store_options options_;
  broker::logger& log_;
  std::unique_ptr<log_store> store_;

  state_loader loaded_;

  std::mutex mutex_;
  std::condition_variable wake_;
  // The held changes' keys and map nodes live in a pool of their own, given back whole each time
  // the flusher empties the map. From the heap, the node and key of every change made during a
  // burst of retained messages sat between those messages' long-lived blocks, freed only after
  // the burst: 82,000 holes of about 136 bytes after a 100k fill, never handed back.
  std::pmr::unsynchronized_pool_resource held_memory_;
  using held_map = std::pmr::unordered_map<std::pmr::string, change, string_hash, std::equal_to<>>;
  held_map held_{&held_memory_};
  std::vector<std::function<void()>> waiting_;  // strict: callbacks behind held changes
  bool stopping_ = false;
  bool pushed_back_ = false;  // the store refused changes; logged once per episode
  std::thread flusher_;
};

}  // namespace storage
