#include "broker/topic_monitor.hpp"

#include <algorithm>

#include "mqtt/topic.hpp"

namespace broker {

void topic_monitor::keep(topic_entry& e, const message_ptr& msg) {
  if (e.payload_kept) payload_bytes_ -= e.payload_size;
  const std::string_view payload = msg->payload();
  e.payload_size = payload.size();
  e.qos = msg->qos();
  e.payload_kept = payload_bytes_ + payload.size() <= max_payload_bytes_;
  if (!e.payload_kept || payload.size() > copy_limit) e.small_payload.clear();
  if (!e.payload_kept) {
    e.large_payload = {};
    return;
  }
  payload_bytes_ += payload.size();
  if (payload.size() <= copy_limit) {
    e.large_payload = {};
    e.small_payload.assign(payload);
  } else {
    e.large_payload = shared_payload(msg);
  }
}

void topic_monitor::record(const message_ptr& msg, std::chrono::system_clock::time_point now) {
  auto it = entries_.find(msg->topic());
  if (it == entries_.end()) {
    if (entries_.size() >= max_topics_) {
      ++untracked_;
      return;
    }
    it = entries_.emplace(std::string(msg->topic()), topic_entry{}).first;
    it->second.topic = msg->topic();
  }
  topic_entry& e = it->second;
  keep(e, msg);
  if (msg->retain()) e.retained = !msg->payload().empty();
  e.cleared = msg->retain() && msg->payload().empty();
  ++e.messages;
  e.seq = ++seq_;
  e.updated = now;
}

void topic_monitor::restore(const message_ptr& msg, std::chrono::system_clock::time_point now) {
  if (entries_.size() >= max_topics_ && !entries_.contains(msg->topic())) return;
  topic_entry& e = entries_[std::string(msg->topic())];
  e.topic = msg->topic();
  keep(e, msg);
  e.retained = true;
  e.cleared = false;
  e.seq = ++seq_;
  e.updated = now;
}

void topic_monitor::clear() {
  entries_.clear();
  payload_bytes_ = 0;
  ++seq_;
}

topic_query_result topic_monitor::query(const topic_query& q) const {
  topic_query_result result;
  result.seq = seq_;
  std::vector<const topic_entry*> matched;
  for (const auto& [topic, e] : entries_) {
    if (e.seq <= q.since) continue;
    // '#' matches every topic here, $SYS included: the UI shows the broker's own topics too.
    if (q.filter != "#" && !mqtt::topic_matches(q.filter, topic)) continue;
    matched.push_back(&e);
  }
  std::sort(matched.begin(), matched.end(),
            [](const topic_entry* a, const topic_entry* b) { return a->topic < b->topic; });
  if (matched.size() > q.limit) {
    result.truncated = true;
    matched.resize(q.limit);
  }
  result.entries.reserve(matched.size());
  for (const topic_entry* e : matched) result.entries.push_back(*e);
  return result;
}

const topic_entry* topic_monitor::find(std::string_view topic) const {
  auto it = entries_.find(std::string(topic));
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace broker
