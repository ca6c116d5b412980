#include "storage/state_loader.hpp"

#include <algorithm>

#include "broker/broker_core.hpp"
#include "storage/state_records.hpp"

namespace storage {

shared_value state_loader::load(std::string_view key, std::string_view value) {
  records::decoded r = records::decode(key, value);
  using kind = records::decoded::kind;
  switch (r.what) {
    case kind::retained:
      retained_.push_back(std::move(r.retained));
      return records::retained_shared(retained_.back());
    case kind::session: {
      auto& s = sessions_[r.client_id];
      s.present = true;
      s.username = std::move(r.username);
      break;
    }
    case kind::subscription:
      sessions_[r.client_id].subs.push_back(std::move(r.sub));
      break;
    case kind::delivery:
      sessions_[r.client_id].deliveries.push_back(std::move(r.delivery));
      break;
    case kind::incoming:
      sessions_[r.client_id].incoming.push_back(r.packet_id);
      break;
    case kind::expiry: {
      auto& s = sessions_[r.client_id];
      s.has_expiry = true;
      s.expiry_interval = r.expiry_interval;
      s.ended_at = r.ended_at;
      break;
    }
    case kind::invalid:
      ++invalid_records_;
      break;
  }
  return {};
}

std::size_t state_loader::drop_leftovers(const std::function<void(const std::string& key)>& erase) {
  std::size_t leftovers = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.present) {
      ++it;
      continue;
    }
    const std::string& id = it->first;
    for (const auto& sub : it->second.subs) erase(records::subscription_key(id, sub.filter));
    for (const auto& d : it->second.deliveries) erase(records::delivery_key(id, d.seq));
    for (auto pid : it->second.incoming) erase(records::incoming_key(id, pid));
    if (it->second.has_expiry) erase(records::expiry_key(id));
    ++leftovers;
    it = sessions_.erase(it);
  }
  return leftovers;
}

void state_loader::restore_into(broker::broker_core& core) {
  for (auto& msg : retained_) core.restore_retained(std::move(msg));
  for (auto& [id, s] : sessions_) {
    std::sort(s.deliveries.begin(), s.deliveries.end(),
              [](const auto& a, const auto& b) { return a.seq < b.seq; });
    core.restore_session(id, s.username, s.subs, s.deliveries, s.incoming,
                         s.has_expiry ? s.expiry_interval : broker::broker_core::never_expires,
                         s.ended_at);
  }
  retained_ = {};
  sessions_.clear();
}

}  // namespace storage
