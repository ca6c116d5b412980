#pragma once
// An immutable string that copies share: one 8-byte handle, and at most one heap block
// {reference count, length, characters} for all its copies. A connection and its session both
// name the client id and the username; with std::string each held its own heap copy of a client
// id longer than 15 characters, and 32 bytes besides, for every idle client.
//
// Texts of up to 7 bytes (most usernames) are held in the handle itself, with no block at all.
// A default-constructed text is "none" (has_value() false), which an empty text is not: the
// username of a client that gave none differs from an empty one (the log says which).
//
// Copies may be made and dropped on any thread (the count is atomic); the text never changes.

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace broker {

class shared_text {
 public:
  shared_text() = default;
  explicit shared_text(std::string_view text) {
    if (text.size() <= inline_capacity) {
      bytes_[0] = static_cast<char>((text.size() << 1) | inline_tag);
      if (!text.empty()) std::memcpy(bytes_ + 1, text.data(), text.size());
      return;
    }
    // The length is 32 bits: a client id or username comes from one packet, which
    // max_packet_size bounds far below 4 GiB.
    void* raw = ::operator new(sizeof(block) + text.size());
    block* b = new (raw) block{{1}, static_cast<std::uint32_t>(text.size())};
    std::memcpy(b->chars(), text.data(), text.size());
    set_block(b);
  }
  shared_text(const shared_text& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    if (block* b = heap()) b->refs.fetch_add(1, std::memory_order_relaxed);
  }
  shared_text(shared_text&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    std::memset(other.bytes_, 0, sizeof other.bytes_);
  }
  shared_text& operator=(shared_text other) noexcept {
    swap(other);
    return *this;
  }
  ~shared_text() { release(); }

  void swap(shared_text& other) noexcept {
    char tmp[sizeof bytes_];
    std::memcpy(tmp, bytes_, sizeof bytes_);
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    std::memcpy(other.bytes_, tmp, sizeof bytes_);
  }

  // False only for a default-constructed (or moved-from) text.
  bool has_value() const { return bytes_[0] != 0 || heap() != nullptr; }

  std::string_view view() const {
    if (inline_text()) {
      return {bytes_ + 1, static_cast<std::size_t>(static_cast<unsigned char>(bytes_[0]) >> 1)};
    }
    if (const block* b = heap()) return {b->chars(), b->size};
    return {};
  }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }
  bool empty() const { return view().empty(); }
  std::size_t size() const { return view().size(); }

  friend bool operator==(const shared_text& a, std::string_view b) { return a.view() == b; }

 private:
  // The low bit of a block's address is 0 (blocks are aligned): a 1 there marks inline text,
  // whose length sits in the rest of that byte. That byte is the address's lowest one only
  // where the lowest byte comes first.
  static_assert(std::endian::native == std::endian::little);
  static constexpr std::size_t inline_capacity = sizeof(void*) - 1;
  static constexpr unsigned inline_tag = 1;

  struct block {
    std::atomic<std::uint32_t> refs;
    std::uint32_t size;
    char* chars() { return reinterpret_cast<char*>(this + 1); }
    const char* chars() const { return reinterpret_cast<const char*>(this + 1); }
  };

  bool inline_text() const { return (static_cast<unsigned char>(bytes_[0]) & inline_tag) != 0; }
  block* heap() const {
    if (inline_text()) return nullptr;
    block* b;
    std::memcpy(&b, bytes_, sizeof b);
    return b;
  }
  void set_block(block* b) { std::memcpy(bytes_, &b, sizeof b); }
  void release() noexcept {
    block* b = heap();
    if (!b || b->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    b->~block();
    ::operator delete(b);
  }

  alignas(void*) char bytes_[sizeof(void*)] = {};
};

}  // namespace broker
