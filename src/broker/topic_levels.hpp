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

}  // namespace broker
