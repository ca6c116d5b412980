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

// A trie node's children by level name. Most nodes are leaves (one per retained topic), so the
// hash map is only allocated for a node's first child (an empty one is 56 bytes), and a key is a
// view of the child's own `level` (which lives in the child's heap block and never moves), so a
// name is not kept twice. Offers the part of unordered_map the tries use; an absent map behaves
// as an empty one. The "+" and "#" children are also kept by pointer: matching a topic asks for
// both at every level, and a pointer spares two hash lookups each time.
template <typename Node>
class level_map {
 public:
  using map_type =
      std::unordered_map<std::string_view, std::unique_ptr<Node>, level_hash, std::equal_to<>>;
  using iterator = typename map_type::iterator;
  using const_iterator = typename map_type::const_iterator;

  bool empty() const { return !kids_ || kids_->map.empty(); }
  std::size_t size() const { return kids_ ? kids_->map.size() : 0; }

  iterator begin() { return of().begin(); }
  iterator end() { return of().end(); }
  const_iterator begin() const { return of().begin(); }
  const_iterator end() const { return of().end(); }
  iterator find(std::string_view level) { return of().find(level); }
  const_iterator find(std::string_view level) const { return of().find(level); }
  // The "+" and "#" children, or null.
  const Node* plus() const { return kids_ ? kids_->plus : nullptr; }
  const Node* hash() const { return kids_ ? kids_->hash : nullptr; }

  // `child->level` names it.
  iterator add(std::unique_ptr<Node> child) {
    if (!kids_) kids_ = std::make_unique<children>();
    const std::string_view name = child->level;
    if (name == "+") kids_->plus = child.get();
    if (name == "#") kids_->hash = child.get();
    return kids_->map.emplace(name, std::move(child)).first;
  }
  void erase(std::string_view level) {
    if (!kids_) return;
    if (level == "+") kids_->plus = nullptr;
    if (level == "#") kids_->hash = nullptr;
    kids_->map.erase(level);
    if (kids_->map.empty()) kids_.reset();
  }

 private:
  struct children {
    map_type map;
    Node* plus = nullptr;
    Node* hash = nullptr;
  };
  // An absent map reads as this empty one, so its iterators compare with each other.
  static map_type& none() {
    static map_type empty;
    return empty;
  }
  map_type& of() { return kids_ ? kids_->map : none(); }
  const map_type& of() const { return kids_ ? kids_->map : none(); }

  std::unique_ptr<children> kids_;
};

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
      it = at->children.add(std::move(child));
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
