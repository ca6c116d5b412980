#pragma once
// One epoll set per I/O thread for its plain TCP connections, nested in the thread's io_context
// as a single descriptor.
//
// Why: Asio keeps about 270 bytes for every socket it watches (its reactor's per-descriptor
// state, 168 bytes with a mutex in it, and the operation of the pending wait), and an idle MQTT
// connection spends its whole life waiting to read. Watched here, a connection costs a slot of
// 8 bytes. TLS and WebSocket streams stay with Asio: Beast drives their sockets.
//
// Edge-triggered: a watcher hears of each change (bytes arrived, room to write again, an error
// or hang-up) once, and keeps what it learnt until a system call says otherwise. Everything here
// runs on the thread that runs the context (or, once the I/O threads stopped, on the one that
// drains the pool): one handler at a time, no locks.

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace transport {

class fd_poller {
 public:
  class watcher {
   public:
    // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP (the peer's FIN), EPOLLERR, EPOLLHUP bits.
    virtual void on_events(std::uint32_t events) = 0;
    // The poller ends while still watching this one (the I/O threads were abandoned at
    // shutdown): let go of what keeps the watcher's owner alive.
    virtual void abandon() = 0;

   protected:
    ~watcher() = default;
  };

  static constexpr std::uint32_t no_slot = 0xFFFFFFFF;

  explicit fd_poller(boost::asio::io_context& context);
  ~fd_poller();
  fd_poller(const fd_poller&) = delete;
  fd_poller& operator=(const fd_poller&) = delete;

  // Watches `fd` for input and for room to write. Returns the slot to remove it by, or no_slot
  // with `ec` set.
  std::uint32_t add(int fd, watcher& w, boost::system::error_code& ec);
  // Before `fd` is closed.
  void remove(int fd, std::uint32_t slot);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace transport
