#pragma once
// What the Sans-I/O connection needs from the transport that carries it.

#include <functional>

namespace broker {

class transport_link {
 public:
  virtual ~transport_link() = default;
  // Thread-safe and cheap to repeat. The connection has output (or a close) waiting: call
  // connection::take_output() on the connection's own executor soon.
  virtual void wake() = 0;
  // Thread-safe. Runs `fn` on the connection's own executor (an asynchronous authenticator
  // answers through this).
  virtual void post(std::function<void()> fn) = 0;
  // True only for a bridge's own connection inside the process (src/bridge): it is not
  // authenticated (nothing outside the process can open one), access control does not apply to
  // it, the RETAIN flag reaches it as published, and it never gets its own messages back.
  virtual bool internal() const { return false; }
};

}  // namespace broker
