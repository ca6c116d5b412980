#pragma once
// The retained message of every topic, as a trie of levels, so a wildcard subscription finds its
// retained messages without scanning all of them. Home Assistant discovery lives here.

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "broker/message.hpp"
#include "broker/topic_levels.hpp"

namespace broker {

// What one retained message costs the store, roughly: its topic and payload, plus a fixed
// estimate for the node, map slot and message header that hold them (the retained_100k benchmark
// measures about 430 bytes of RSS per message with a 64-byte payload and a 20-byte topic, some of
// it the allocator's rounding).
inline std::size_t retained_cost(const message& m) {
  constexpr std::size_t bookkeeping = 256;
  return m.topic().size() + m.payload().size() + bookkeeping;
}

class retained_store {
 public:
  retained_store();
  ~retained_store();

  // Keeps `msg` as the topic's retained message, replacing the previous one; an empty payload
  // deletes it instead [MQTT-3.3.1-10] [MQTT-3.3.1-11].
  void store(message_ptr msg);
  // The same, unless keeping it would take bytes() past `max_bytes`: then nothing changes (the
  // topic keeps its previous message) and it returns false. A deletion always succeeds.
  bool store_within(message_ptr msg, std::size_t max_bytes);
  void erase(std::string_view topic);
  message_ptr find(std::string_view topic) const;

  // Calls `visit` for every retained message whose topic `filter` matches.
  void match(std::string_view filter, const std::function<void(const message_ptr&)>& visit) const;
  // Calls `visit` for every retained message.
  void for_each(const std::function<void(const message_ptr&)>& visit) const;

  std::size_t size() const { return count_; }
  // What the kept messages cost together, retained_cost() of each.
  std::size_t bytes() const { return bytes_; }

 private:
  struct node;
  // Keeps `msg` at `at`, or at a node made for its topic when null.
  void place(message_ptr msg, node* at);
  std::unique_ptr<node> root_;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace broker
