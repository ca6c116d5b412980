#include "broker/retained_store.hpp"

#include <vector>

namespace broker {

struct retained_store::node {
  level_map<node> children;
  message_ptr msg;
  node* parent = nullptr;
  std::string level;
};

retained_store::retained_store() : root_(std::make_unique<node>()) {}
retained_store::~retained_store() = default;

void retained_store::store(message_ptr msg) {
  if (msg->payload().empty()) {
    erase(msg->topic());
    return;
  }
  node& at = find_or_create_node(*root_, msg->topic());
  place(std::move(msg), &at);
}

bool retained_store::store_within(message_ptr msg, std::size_t max_bytes) {
  if (msg->payload().empty()) {
    erase(msg->topic());
    return true;
  }
  // Looked up first, so that a refused message leaves no empty levels behind.
  node* at = find_node(*root_, msg->topic());
  const std::size_t freed = at && at->msg ? retained_cost(*at->msg) : 0;
  if (bytes_ - freed + retained_cost(*msg) > max_bytes) return false;
  place(std::move(msg), at);
  return true;
}

void retained_store::place(message_ptr msg, node* at) {
  if (!at) at = &find_or_create_node(*root_, msg->topic());
  if (at->msg) {
    bytes_ -= retained_cost(*at->msg);
  } else {
    ++count_;
  }
  bytes_ += retained_cost(*msg);
  at->msg = std::move(msg);
}

void retained_store::erase(std::string_view topic) {
  node* at = find_node(*root_, topic);
  if (!at || !at->msg) return;
  bytes_ -= retained_cost(*at->msg);
  at->msg.reset();
  --count_;
  prune_nodes(*root_, at, [](const node& n) { return !n.msg; });
}

message_ptr retained_store::find(std::string_view topic) const {
  const node* at = find_node(static_cast<const node&>(*root_), topic);
  return at ? at->msg : nullptr;
}

namespace {

using visitor = std::function<void(const message_ptr&)>;

template <typename Node>
void visit_subtree(const Node& n, bool skip_dollar, const visitor& visit) {
  if (n.msg) visit(n.msg);
  for (const auto& [level, child] : n.children) {
    if (skip_dollar && !level.empty() && level.front() == '$') continue;
    visit_subtree(*child, false, visit);
  }
}

template <typename Node>
void match_filter(const Node& n, const std::vector<std::string_view>& levels, std::size_t i,
                  const visitor& visit) {
  if (i == levels.size()) {
    if (n.msg) visit(n.msg);
    return;
  }
  // A filter starting with a wildcard does not match topics starting with '$' [MQTT-4.7.2-1].
  const bool skip_dollar = i == 0;
  if (levels[i] == "#") {
    // "#" also matches the parent level itself [MQTT-4.7.1-2]; at the root there is no parent.
    if (i > 0 && n.msg) visit(n.msg);
    for (const auto& [level, child] : n.children) {
      if (skip_dollar && !level.empty() && level.front() == '$') continue;
      visit_subtree(*child, false, visit);
    }
    return;
  }
  if (levels[i] == "+") {
    for (const auto& [level, child] : n.children) {
      if (skip_dollar && !level.empty() && level.front() == '$') continue;
      match_filter(*child, levels, i + 1, visit);
    }
    return;
  }
  if (auto it = n.children.find(levels[i]); it != n.children.end()) {
    match_filter(*it->second, levels, i + 1, visit);
  }
}

}  // namespace

void retained_store::match(std::string_view filter, const visitor& visit) const {
  std::vector<std::string_view> levels;
  split_levels(filter, levels);
  match_filter(*root_, levels, 0, visit);
}

void retained_store::for_each(const visitor& visit) const {
  visit_subtree(*root_, false, visit);
}

}  // namespace broker
