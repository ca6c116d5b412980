#include "broker/subscription_tree.hpp"

#include <algorithm>

namespace broker {

struct subscription_tree::node {
  level_map<node> children;  // "+" and "#" are children like any other level
  struct entry {
    session* owner;
    mqtt::subscription options;
  };
  std::vector<entry> subscribers;
  node* parent = nullptr;
  std::string level;
};

subscription_tree::subscription_tree() : root_(std::make_unique<node>()) {}
subscription_tree::~subscription_tree() = default;

bool subscription_tree::subscribe(session* owner, const mqtt::subscription& options) {
  node& at = find_or_create_node(*root_, options.filter);
  for (auto& e : at.subscribers) {
    if (e.owner == owner) {
      e.options = options;
      return false;
    }
  }
  at.subscribers.push_back({owner, options});
  ++count_;
  return true;
}

bool subscription_tree::unsubscribe(session* owner, std::string_view filter) {
  node* at = find_node(*root_, filter);
  if (!at) return false;
  auto& subs = at->subscribers;
  auto it = std::find_if(subs.begin(), subs.end(), [&](const auto& e) { return e.owner == owner; });
  if (it == subs.end()) return false;
  *it = std::move(subs.back());
  subs.pop_back();
  --count_;
  prune_nodes(*root_, at, [](const node& n) { return n.subscribers.empty(); });
  return true;
}

namespace {

template <typename Node, typename Visit>
void visit_all(const Node& n, const Visit& visit) {
  for (const auto& e : n.subscribers) visit(e.owner, e.options);
}

template <typename Node, typename Visit>
void match_levels(const Node& n, const std::vector<std::string_view>& levels, std::size_t i,
                  bool dollar_topic, const Visit& visit) {
  // A filter starting with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
  const bool wildcards_allowed = !(i == 0 && dollar_topic);
  if (wildcards_allowed) {
    // "#" matches the parent level and everything below it [MQTT-4.7.1-2].
    if (const Node* hash = n.children.hash()) visit_all(*hash, visit);
  }
  if (i == levels.size()) {
    visit_all(n, visit);
    return;
  }
  if (wildcards_allowed) {
    if (const Node* plus = n.children.plus())
      match_levels(*plus, levels, i + 1, dollar_topic, visit);
  }
  if (auto it = n.children.find(levels[i]); it != n.children.end()) {
    match_levels(*it->second, levels, i + 1, dollar_topic, visit);
  }
}

}  // namespace

void subscription_tree::match(std::string_view topic, const visitor& visit) const {
  thread_local std::vector<std::string_view> levels;
  split_levels(topic, levels);
  match_levels(*root_, levels, 0, !topic.empty() && topic.front() == '$', visit);
}

}  // namespace broker
