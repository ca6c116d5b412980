#include "transport/session_registry.hpp"

namespace transport {

std::uint32_t session_registry::add(std::weak_ptr<session_base> session) {
  std::lock_guard lock(mutex_);
  if (closing_) return 0;
  std::size_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    slots_[slot] = std::move(session);
  } else {
    slot = slots_.size();
    slots_.push_back(std::move(session));
  }
  ++live_;
  return static_cast<std::uint32_t>(slot + 1);
}

void session_registry::remove(std::uint32_t id) {
  std::lock_guard lock(mutex_);
  if (id == 0 || id > slots_.size()) return;
  const std::size_t slot = id - 1;
  slots_[slot].reset();
  free_.push_back(static_cast<std::uint32_t>(slot));
  --live_;
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return live_;
}

std::vector<std::weak_ptr<session_base>> session_registry::take_all() {
  std::lock_guard lock(mutex_);
  closing_ = true;
  // A copy: closing sessions remove themselves meanwhile.
  std::vector<std::weak_ptr<session_base>> all;
  all.reserve(live_);
  for (const std::weak_ptr<session_base>& w : slots_) {
    if (!w.expired()) all.push_back(w);  // an empty slot, or a session already gone
  }
  return all;
}

void session_registry::close_all() {
  // Works on a copy without the lock: a session that closes removes itself from the registry.
  for (const std::weak_ptr<session_base>& weak : take_all()) {
    if (auto session = weak.lock()) session->request_close();
  }
}

void session_registry::close_all_now() {
  for (const std::weak_ptr<session_base>& weak : take_all()) {
    if (auto session = weak.lock()) session->close_now();
  }
}

}  // namespace transport
