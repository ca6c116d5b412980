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

class retained_store {
 public:
  retained_store();
  ~retained_store();

  // Keeps `msg` as the topic's retained message, replacing the previous one; an empty payload
  // deletes it instead [MQTT-3.3.1-10] [MQTT-3.3.1-11].
  void store(message_ptr msg);
  void erase(std::string_view topic);
  message_ptr find(std::string_view topic) const;

  // Calls `visit` for every retained message whose topic `filter` matches.
  void match(std::string_view filter, const std::function<void(const message_ptr&)>& visit) const;
  // Calls `visit` for every retained message.
  void for_each(const std::function<void(const message_ptr&)>& visit) const;

  std::size_t size() const { return count_; }

 private:
  struct node;
  std::unique_ptr<node> root_;
  std::size_t count_ = 0;
};

}  // namespace broker
