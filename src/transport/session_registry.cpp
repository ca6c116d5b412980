#include "transport/session_registry.hpp"

namespace transport {

std::uint64_t session_registry::add(std::weak_ptr<session_base> session) {
  std::lock_guard lock(mutex_);
  if (closing_) return 0;
  const std::uint64_t id = next_id_++;
  sessions_.emplace(id, std::move(session));
  return id;
}

void session_registry::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> session_registry::take_all() {
  std::lock_guard lock(mutex_);
  closing_ = true;
  return sessions_;  // a copy: closing sessions remove themselves meanwhile
}

void session_registry::close_all() {
  // Works on a copy without the lock: a session that closes removes itself from the registry.
  for (auto& [id, weak] : take_all()) {
    if (auto session = weak.lock()) session->request_close();
  }
}

void session_registry::close_all_now() {
  for (auto& [id, weak] : take_all()) {
    if (auto session = weak.lock()) session->close_now();
  }
}

}  // namespace transport
