#pragma once
// A live record's value as the store's index keeps it: its bytes, or a share of an immutable
// object that someone else holds anyway (the broker's retained message) and that makes the same
// bytes again when a snapshot needs them. Sharing spares the index a second copy of every
// retained message's payload.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace storage {

// An object whose bytes `append` writes. The object must never change while it is shared: the
// compaction thread reads it while the broker's threads may still be delivering it.
struct shared_value {
  std::shared_ptr<const void> object;
  void (*append)(const void* object, std::string& out) = nullptr;

  explicit operator bool() const { return object != nullptr && append != nullptr; }
  void append_to(std::string& out) const { append(object.get(), out); }
};

class stored_value {
 public:
  stored_value() = default;
  explicit stored_value(std::string_view bytes) : v_(std::in_place_index<0>, bytes) {}
  // `size`: what shared.append() writes, measured by whoever made the bytes once.
  stored_value(shared_value shared, std::size_t size)
      : v_(std::in_place_index<1>, held{std::move(shared), static_cast<std::uint32_t>(size)}) {}

  bool shared() const { return v_.index() == 1; }
  std::size_t size() const { return shared() ? std::get<1>(v_).size : std::get<0>(v_).size(); }
  // The bytes: those held, or made into `scratch` (cleared first).
  std::string_view bytes(std::string& scratch) const {
    if (!shared()) return std::get<0>(v_);
    scratch.clear();
    std::get<1>(v_).value.append_to(scratch);
    return scratch;
  }
  // Same bytes, however held.
  friend bool operator==(const stored_value& a, const stored_value& b) {
    std::string scratch_a, scratch_b;
    return a.size() == b.size() && a.bytes(scratch_a) == b.bytes(scratch_b);
  }

 private:
  struct held {
    shared_value value;
    std::uint32_t size = 0;  // frames are far below 4 GiB (max_frame_body)
  };
  std::variant<std::string, held> v_;
};

}  // namespace storage
