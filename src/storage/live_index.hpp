#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace storage {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// key -> value of every live record.
using live_map = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;

// The live set, owned by the writer thread. It holds the values, not file offsets: compaction then
// writes the snapshot from memory and never re-reads the old files (which may have decayed since
// they were checked at open), at the cost of a second copy of the data the broker also holds.
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
  void erase(std::string_view key);
  // Applies the frames of a batch the writer has just written (known valid).
  void apply_frames(std::string_view frames);

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
  const std::string* find(std::string_view key) const;
  void account_removed(std::string_view key, const std::string* old);

  live_map main_;
  std::unordered_map<std::string, std::optional<std::string>, string_hash, std::equal_to<>> delta_;
  bool frozen_ = false;
  std::size_t records_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace storage
