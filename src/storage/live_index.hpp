#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/stored_value.hpp"

namespace storage {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// key -> value of every live record.
using live_map = std::unordered_map<std::string, stored_value, string_hash, std::equal_to<>>;

// Values shared by the puts of a batch of frames: `frame` counts the batch's frames from 0.
using shared_puts = std::vector<std::pair<std::uint64_t, shared_value>>;

// The live set, owned by the writer thread. It holds the values, not file offsets: compaction then
// writes the snapshot from memory and never re-reads the old files (which may have decayed since
// they were checked at open). A value the broker holds anyway (a retained message) is shared, not
// copied (stored_value.hpp).
//
// During a compaction the main map is frozen (read by the compaction thread, unchanged) and
// changes go to a delta; thaw() folds the delta back in, O(changes during the compaction).
class live_index {
 public:
  live_index() = default;
  explicit live_index(live_map records);
  // With the snapshot bytes of `records` already known (the loader counts them as it goes,
  // sparing a pass over a million cold map nodes).
  live_index(live_map records, std::uint64_t bytes);

  void put(std::string_view key, std::string_view value);
  void put(std::string_view key, stored_value value);
  void erase(std::string_view key);
  // Applies the frames of a batch the writer has just written (known valid); the puts listed in
  // `shared` keep their shared value instead of a copy of the frame's bytes.
  void apply_frames(std::string_view frames, const shared_puts& shared = {});
  // Has `visit` offer a shared value for each record (at open, before any put); a value is taken
  // only when it makes exactly the bytes the record holds.
  void share_values(
      const std::function<shared_value(std::string_view key, std::string_view value)>& visit);

  // The state at this instant, unchanged until thaw(). Only one freeze at a time.
  const live_map& freeze();
  void thaw();
  bool frozen() const { return frozen_; }

  std::size_t records() const { return records_; }
  // Bytes a snapshot of the live set takes: frame headers included.
  std::uint64_t bytes() const { return bytes_; }

  // Every live record; only while not frozen.
  const live_map& map() const { return main_; }

 private:
  const stored_value* find(std::string_view key) const;
  void account_removed(std::string_view key, const stored_value* old);

  live_map main_;
  std::unordered_map<std::string, std::optional<stored_value>, string_hash, std::equal_to<>> delta_;
  bool frozen_ = false;
  std::size_t records_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace storage
