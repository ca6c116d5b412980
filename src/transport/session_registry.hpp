#pragma once
// Every live session, so shutdown can close them all. Touched once per connect and once per
// close, never per packet, so one mutex is enough.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

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
  // 0 once close_all() has begun: the caller must close instead of serving.
  std::uint64_t add(std::weak_ptr<session_base> session);
  void remove(std::uint64_t id);
  std::size_t size() const;

  // Stops accepting additions and asks every session to close on its own thread.
  void close_all();
  // After the I/O threads are gone: closes what is left from the calling thread.
  void close_all_now();

 private:
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> take_all();

  mutable std::mutex mutex_;
  bool closing_ = false;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions_;
};

}  // namespace transport
