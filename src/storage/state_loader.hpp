#pragma once
// The broker's durable state as read back at open: records (state_records.hpp) in any order go
// in one by one, retained messages and whole persistent sessions come out for the broker core.
// Kept apart from broker_store so it runs without the store's threads: the store fuzz target
// (tests/fuzz/fuzz_store.cpp) restores what recovery left exactly as the broker does.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/message.hpp"
#include "broker/persistence.hpp"
#include "mqtt/packet.hpp"
#include "storage/stored_value.hpp"

namespace broker {
class broker_core;
}

namespace storage {

class state_loader {
 public:
  // Returns the retained message a record decoded to, shared for the store's index (empty for
  // the other records).
  shared_value load(std::string_view key, std::string_view value);

  // Parts of a session whose session record is gone were left by an interrupted erase: calls
  // `erase` with each of their keys, forgets them, and returns how many sessions they made up.
  std::size_t drop_leftovers(const std::function<void(const std::string& key)>& erase);

  std::size_t retained_count() const { return retained_.size(); }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t invalid_records() const { return invalid_records_; }

  // Hands everything to the broker (once, before it serves anyone) and empties the loader.
  void restore_into(broker::broker_core& core);

 private:
  struct loaded_session {
    bool present = false;  // its 's' record exists; parts without one are leftovers
    std::string username;
    std::vector<mqtt::subscription> subs;
    std::vector<broker::stored_delivery> deliveries;
    std::vector<std::uint16_t> incoming;
    bool has_expiry = false;
    std::uint32_t expiry_interval = 0;
    std::optional<std::chrono::system_clock::time_point> ended_at;
  };

  std::vector<broker::message_ptr> retained_;
  std::map<std::string, loaded_session> sessions_;
  std::size_t invalid_records_ = 0;
};

}  // namespace storage
