#pragma once
// One of max_connections: taken when a socket is accepted, given back when whatever holds the
// socket (a handshake, then a session) is destroyed. Move-only.

#include <atomic>
#include <cstdint>
#include <utility>

namespace transport {

class connection_slot {
 public:
  connection_slot() = default;
  explicit connection_slot(std::atomic<std::uint64_t>& open) : open_(&open) {
    open_->fetch_add(1, std::memory_order_relaxed);
  }
  connection_slot(connection_slot&& other) noexcept : open_(std::exchange(other.open_, nullptr)) {}
  connection_slot& operator=(connection_slot&& other) noexcept {
    if (this != &other) {
      release();
      open_ = std::exchange(other.open_, nullptr);
    }
    return *this;
  }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() { release(); }

 private:
  void release() {
    if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
    open_ = nullptr;
  }
  std::atomic<std::uint64_t>* open_ = nullptr;
};

}  // namespace transport
