#include "throughput_parts.hpp"

namespace bench {

topology make_topology(const load_options& o, const std::string& prefix) {
  topology t;
  switch (o.kind) {
    case scenario_kind::fanout:
      t.topics.push_back(prefix + "/fan");
      t.filters.assign(static_cast<std::size_t>(o.subscribers), prefix + "/fan");
      t.receivers.emplace_back();
      for (int s = 0; s < o.subscribers; ++s) t.receivers[0].push_back(s);
      break;
    case scenario_kind::fanin:
      // The one subscriber uses a wildcard, so the broker's '+' matching is part of the cost.
      for (int p = 0; p < o.publishers; ++p) {
        t.topics.push_back(prefix + "/in/" + std::to_string(p));
        t.receivers.push_back({0});
      }
      t.filters.push_back(prefix + "/in/+");
      t.feeds_per_subscriber = o.publishers;
      break;
    default:
      for (int p = 0; p < o.pairs; ++p) {
        t.topics.push_back(prefix + "/pair/" + std::to_string(p));
        t.filters.push_back(t.topics.back());
        t.receivers.push_back({p});
      }
      t.interleave = true;
      break;
  }
  return t;
}

}  // namespace bench
