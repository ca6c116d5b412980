#pragma once
// Topic filters of every session, as a trie of levels, so a PUBLISH finds its subscribers by
// walking its own levels instead of testing every filter.

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "broker/topic_levels.hpp"
#include "mqtt/packet.hpp"

namespace broker {

class session;

class subscription_tree {
 public:
  subscription_tree();
  ~subscription_tree();

  // Adds or replaces `owner`'s subscription to `options.filter` [MQTT-3.8.4-3].
  // Returns true when it was new.
  bool subscribe(session* owner, const mqtt::subscription& options);
  // Returns true when the subscription existed.
  bool unsubscribe(session* owner, std::string_view filter);

  // Calls `visit` for every subscription whose filter matches `topic`, including several for the
  // same session when its filters overlap.
  using visitor = std::function<void(session*, const mqtt::subscription&)>;
  void match(std::string_view topic, const visitor& visit) const;

  std::size_t size() const { return count_; }

 private:
  struct node;
  std::unique_ptr<node> root_;
  std::size_t count_ = 0;
};

}  // namespace broker
