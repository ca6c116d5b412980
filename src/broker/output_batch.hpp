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

// Bytes kept alive by whoever owns them (a message's payload, owned with its message).
struct shared_bytes {
  std::shared_ptr<const void> owner;
  std::string_view bytes;

  explicit operator bool() const { return owner != nullptr; }
  bool operator==(const shared_bytes& other) const {
    return owner == other.owner && bytes.data() == other.bytes.data() &&
           bytes.size() == other.bytes.size();
  }
};

class output_batch {
 public:
  struct segment {
    std::shared_ptr<const void> owner;  // null: a range of inline_bytes()
    const char* data = nullptr;         // with an owner: the bytes
    std::size_t offset = 0;             // without: where they start in inline_bytes()
    std::size_t size = 0;
  };

  // Bytes the caller writes at the end of the inline buffer; call commit_inline() after.
  std::string& inline_buffer() { return inline_; }
  // Records everything appended to the inline buffer since the last segment as one segment.
  void commit_inline();
  void append_shared(shared_bytes bytes);

  const std::string& inline_bytes() const { return inline_; }
  const std::vector<segment>& segments() const { return segments_; }
  std::string_view view(const segment& s) const {
    if (s.owner) return {s.data, s.size};
    return std::string_view(inline_).substr(s.offset, s.size);
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
