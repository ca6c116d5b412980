#pragma once
// Splitting topics into levels, and the map type the topic tries use for their children.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace broker {

// "a//b" -> {"a", "", "b"}; views into `topic`, which must outlive the result.
void split_levels(std::string_view topic, std::vector<std::string_view>& out);

struct level_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename Node>
using level_map =
    std::unordered_map<std::string, std::unique_ptr<Node>, level_hash, std::equal_to<>>;

// The trie helpers below serve any node type with `level_map<Node> children`, `Node* parent` and
// `std::string level` (the subscription tree and the retained store).

// Calls fn(level) for each level of `topic`, without allocating.
template <typename Fn>
void for_each_level(std::string_view topic, Fn&& fn) {
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) {
      fn(topic.substr(start));
      return;
    }
    fn(topic.substr(start, slash - start));
    start = slash + 1;
  }
}

// The node for `topic` below `root`, created with its missing ancestors.
template <typename Node>
Node& find_or_create_node(Node& root, std::string_view topic) {
  Node* at = &root;
  for_each_level(topic, [&](std::string_view level) {
    auto it = at->children.find(level);
    if (it == at->children.end()) {
      auto child = std::make_unique<Node>();
      child->parent = at;
      child->level = std::string(level);
      it = at->children.emplace(child->level, std::move(child)).first;
    }
    at = it->second.get();
  });
  return *at;
}

// The node for `topic` below `root`, or null. Node may be const.
template <typename Node>
Node* find_node(Node& root, std::string_view topic) {
  Node* at = &root;
  for_each_level(topic, [&](std::string_view level) {
    if (!at) return;
    auto it = at->children.find(level);
    at = it == at->children.end() ? nullptr : it->second.get();
  });
  return at;
}

// Removes `at` and then its ancestors (never `root`) while `unused(node)` holds and the node has
// no children, so a trie does not keep levels nobody uses.
template <typename Node, typename Unused>
void prune_nodes(Node& root, Node* at, Unused&& unused) {
  while (at != &root && at->children.empty() && unused(*at)) {
    Node* parent = at->parent;
    parent->children.erase(at->level);
    at = parent;
  }
}

}  // namespace broker
