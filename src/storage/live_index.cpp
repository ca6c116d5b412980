#include "storage/live_index.hpp"

#include "storage/frame_scanner.hpp"
#include "storage/record_frame.hpp"

namespace storage {

live_index::live_index(live_map records) : main_(std::move(records)) {
  records_ = main_.size();
  for (const auto& [key, value] : main_) bytes_ += frame_size(key, value.size());
}

live_index::live_index(live_map records, std::uint64_t bytes)
    : main_(std::move(records)), records_(main_.size()), bytes_(bytes) {}

const stored_value* live_index::find(std::string_view key) const {
  if (frozen_) {
    if (auto it = delta_.find(key); it != delta_.end()) {
      return it->second ? &*it->second : nullptr;
    }
  }
  auto it = main_.find(key);
  return it == main_.end() ? nullptr : &it->second;
}

void live_index::account_removed(std::string_view key, const stored_value* old) {
  if (old == nullptr) return;
  --records_;
  bytes_ -= frame_size(key, old->size());
}

void live_index::put(std::string_view key, std::string_view value) {
  put(key, stored_value(value));
}

void live_index::put(std::string_view key, stored_value value) {
  account_removed(key, find(key));
  ++records_;
  bytes_ += frame_size(key, value.size());
  if (frozen_) {
    auto [it, inserted] = delta_.try_emplace(std::string(key));
    it->second = std::move(value);
    return;
  }
  auto [it, inserted] = main_.try_emplace(std::string(key));
  it->second = std::move(value);
}

void live_index::erase(std::string_view key) {
  account_removed(key, find(key));
  if (frozen_) {
    auto [it, inserted] = delta_.try_emplace(std::string(key));
    it->second.reset();
    return;
  }
  if (auto it = main_.find(key); it != main_.end()) main_.erase(it);
}

void live_index::apply_frames(std::string_view frames, const shared_puts& shared) {
  std::uint64_t frame = 0;
  auto next = shared.begin();
  scan_frames(frames, 0, [&](const frame_view& f) {
    if (f.type == record_type::put) {
      if (next != shared.end() && next->first == frame) {
        put(f.key, stored_value(next->second, f.value.size()));
        ++next;
      } else {
        put(f.key, f.value);
      }
    } else if (f.type == record_type::erase) {
      erase(f.key);
    }
    ++frame;
  });
}

void live_index::share_values(
    const std::function<shared_value(std::string_view key, std::string_view value)>& visit) {
  std::string scratch, made;
  for (auto& [key, value] : main_) {
    const std::string_view bytes = value.bytes(scratch);
    shared_value shared = visit(key, bytes);
    if (!shared) continue;
    made.clear();
    shared.append_to(made);
    // Made anew from a decoded record, the bytes could differ (an encoding that changed between
    // versions): then the record keeps its own, so a snapshot never rewrites what it read.
    if (made != bytes) continue;
    value = stored_value(std::move(shared), made.size());
  }
}

const live_map& live_index::freeze() {
  frozen_ = true;
  return main_;
}

void live_index::thaw() {
  frozen_ = false;
  for (auto& [key, value] : delta_) {
    if (value) {
      main_.insert_or_assign(key, std::move(*value));
    } else if (auto it = main_.find(key); it != main_.end()) {
      main_.erase(it);
    }
  }
  delta_.clear();
}

}  // namespace storage
