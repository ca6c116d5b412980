#pragma once
// The last message seen on each topic, for the web UI's topic tree: what MQTT Explorer shows,
// kept by the broker. Bounded twice: at most `max_topics` topics are tracked (messages on newer
// topics are counted, not kept), and payloads are kept only while their total stays within
// `max_payload_bytes` (beyond it an entry keeps the size, not the bytes). Payloads are shared
// with the routed message, so a retained message costs nothing more here.
// Not thread-safe: the broker state's lock guards it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/message.hpp"
#include "broker/topic_levels.hpp"

namespace broker {

struct topic_entry {
  std::string topic;
  // The last payload: copied when small, so the hot path neither allocates nor frees (the
  // copy reuses its buffer), else shared with the routed message. Neither when it did not fit
  // the byte budget: then only its size is known.
  std::string small_payload;
  shared_bytes large_payload;
  bool payload_kept = false;
  std::size_t payload_size = 0;
  mqtt::qos qos = mqtt::qos::at_most_once;
  bool retained = false;  // the topic has a retained message now
  bool cleared = false;   // the last message deleted the retained message: nothing to show
  std::uint64_t messages = 0;
  std::uint64_t seq = 0;  // the monitor's change number when this entry last changed
  std::chrono::system_clock::time_point updated;

  std::string_view payload() const {
    return large_payload ? large_payload.bytes : std::string_view(small_payload);
  }
};

struct topic_query {
  std::string_view filter = "#";  // a valid MQTT topic filter
  std::uint64_t since = 0;        // only entries changed after this change number
  std::size_t limit = 1000;
};

struct topic_query_result {
  std::vector<topic_entry> entries;  // sorted by topic
  bool truncated = false;            // more matched than `limit`
  std::uint64_t seq = 0;             // the monitor's change number now: the next `since`
};

struct topic_monitor_figures {
  std::size_t topics = 0;
  std::uint64_t untracked_messages = 0;
  std::size_t payload_bytes = 0;
};

class topic_monitor {
 public:
  // Payloads up to this size are copied into the entry; larger ones are shared.
  static constexpr std::size_t copy_limit = 1024;

  topic_monitor(std::size_t max_topics, std::size_t max_payload_bytes)
      : max_topics_(max_topics), max_payload_bytes_(max_payload_bytes) {}

  // A message the broker routed (a retained one with an empty payload deletes the retained
  // message [MQTT-3.3.1-10]).
  void record(const message_ptr& msg, std::chrono::system_clock::time_point now);
  // A retained message read back from storage at start.
  void restore(const message_ptr& msg, std::chrono::system_clock::time_point now);

  // Forgets every entry; change numbers keep growing (a reader's `since` stays meaningful).
  void clear();

  topic_query_result query(const topic_query& q) const;
  const topic_entry* find(std::string_view topic) const;

  std::size_t size() const { return entries_.size(); }
  std::uint64_t seq() const { return seq_; }
  // Messages on topics beyond max_topics, not shown.
  std::uint64_t untracked_messages() const { return untracked_; }
  std::size_t payload_bytes() const { return payload_bytes_; }
  topic_monitor_figures figures() const { return {entries_.size(), untracked_, payload_bytes_}; }

 private:
  void keep(topic_entry& e, const message_ptr& msg);

  const std::size_t max_topics_;
  const std::size_t max_payload_bytes_;
  std::unordered_map<std::string, topic_entry, level_hash, std::equal_to<>> entries_;
  std::uint64_t seq_ = 0;
  std::uint64_t untracked_ = 0;
  std::size_t payload_bytes_ = 0;
};

}  // namespace broker
