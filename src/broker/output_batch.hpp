#pragma once
// What a connection hands its writer: an ordered list of byte ranges, some in a small buffer of
// its own, some in buffers shared with other connections (a PUBLISH payload encoded once for every
// subscriber). The transport turns the segments into one gathered write.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace broker {

class output_batch {
 public:
  struct segment {
    std::shared_ptr<const std::string> shared;  // null: a range of inline_bytes()
    std::size_t offset = 0;
    std::size_t size = 0;
  };

  // Bytes the caller writes at the end of the inline buffer; call commit_inline() after.
  std::string& inline_buffer() { return inline_; }
  // Records everything appended to the inline buffer since the last segment as one segment.
  void commit_inline();
  void append_shared(std::shared_ptr<const std::string> buffer);

  const std::string& inline_bytes() const { return inline_; }
  const std::vector<segment>& segments() const { return segments_; }
  std::string_view view(const segment& s) const {
    const std::string& base = s.shared ? *s.shared : inline_;
    return std::string_view(base).substr(s.offset, s.size);
  }

  bool empty() const { return segments_.empty(); }
  std::size_t total_size() const { return total_; }
  void clear();

 private:
  std::string inline_;
  std::size_t inline_committed_ = 0;
  std::vector<segment> segments_;
  std::size_t total_ = 0;
};

}  // namespace broker
