#pragma once
// Every live session, so shutdown can close them all. Touched once per connect and once per
// close, never per packet, so one mutex is enough. A session's id is its slot in a vector, and
// freed slots are reused: no allocation per connection (a hash map node was 48 bytes each).

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace transport {

class session_base {
 public:
  virtual ~session_base() = default;
  // Thread-safe: closes the session on its own thread.
  virtual void request_close() = 0;
  // Only when no I/O thread runs (after the pool joined): closes the session right here.
  virtual void close_now() = 0;
};

class session_registry {
 public:
  // 0 once close_all() has begun: the caller must close instead of serving. 32 bits: an id is
  // a slot, and there are never 2^32 sessions (free_ holds slots in 32 bits too); every
  // connection keeps its id, and 4 bytes fit where 8 would cost a malloc bin.
  std::uint32_t add(std::weak_ptr<session_base> session);
  // Once per id that add() gave: the id may be given to another session afterwards.
  void remove(std::uint32_t id);
  std::size_t size() const;

  // Stops accepting additions and asks every session to close on its own thread.
  void close_all();
  // After the I/O threads are gone: closes what is left from the calling thread.
  void close_all_now();

 private:
  std::vector<std::weak_ptr<session_base>> take_all();

  mutable std::mutex mutex_;
  bool closing_ = false;
  std::vector<std::weak_ptr<session_base>> slots_;  // id = slot + 1
  std::vector<std::uint32_t> free_;                 // slots given back, reused first
  std::size_t live_ = 0;
};

}  // namespace transport
