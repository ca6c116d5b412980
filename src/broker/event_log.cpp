#include "broker/event_log.hpp"

#include <algorithm>

namespace broker {

const char* name_of(event_kind kind) {
  switch (kind) {
    case event_kind::login_refused:
      return "login_refused";
    case event_kind::connect_refused:
      return "connect_refused";
    case event_kind::limit:
      return "limit";
    case event_kind::client:
      return "client";
    case event_kind::bridge:
      return "bridge";
  }
  return "event";
}

void event_log::add(event_kind kind, std::string_view client_id, std::string_view text) {
  broker_event e;
  e.time = std::chrono::system_clock::now();
  e.kind = kind;
  e.client_id = client_id;
  e.text = text;
  std::lock_guard lock(mutex_);
  e.seq = ++last_seq_;
  ++counts_[static_cast<std::size_t>(kind)];
  if (capacity_ == 0) return;
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(e));
}

std::vector<broker_event> event_log::since(std::uint64_t seq, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  // Numbers are consecutive, so the first one after `seq` is found by arithmetic.
  std::size_t first = 0;
  if (!events_.empty() && seq >= events_.front().seq) {
    first = std::min<std::size_t>(events_.size(), seq - events_.front().seq + 1);
  }
  if (events_.size() - first > limit) first = events_.size() - limit;
  return {events_.begin() + static_cast<std::ptrdiff_t>(first), events_.end()};
}

std::uint64_t event_log::last_seq() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

std::uint64_t event_log::count(event_kind kind) const {
  std::lock_guard lock(mutex_);
  return counts_[static_cast<std::size_t>(kind)];
}

}  // namespace broker
