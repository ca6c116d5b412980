#include "broker/output_batch.hpp"

namespace broker {

void output_batch::commit_inline() {
  const std::size_t added = inline_.size() - inline_committed_;
  if (added == 0) return;
  // Adjacent inline ranges merge, so a run of small packets stays one iovec.
  if (!segments_.empty() && !segments_.back().owner &&
      segments_.back().offset + segments_.back().size == inline_committed_) {
    segments_.back().size += added;
  } else {
    segments_.push_back({nullptr, nullptr, inline_committed_, added});
  }
  inline_committed_ = inline_.size();
  total_ += added;
}

void output_batch::append_shared(shared_bytes bytes) {
  commit_inline();
  if (!bytes.owner || bytes.bytes.empty()) return;
  const std::size_t size = bytes.bytes.size();
  segments_.push_back({std::move(bytes.owner), bytes.bytes.data(), 0, size});
  total_ += size;
}

void output_batch::clear() {
  inline_.clear();
  inline_committed_ = 0;
  segments_.clear();
  total_ = 0;
}

}  // namespace broker
