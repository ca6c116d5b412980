#pragma once
// What the Sans-I/O connection needs from the transport that carries it.

#include <functional>
#include <memory>

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
  // What owns the connection: a shared_ptr to the object that holds it (the transport's session,
  // a bridge's engine), alive at least as long as the connection is, and ending with it.
  // Asynchronous work (an authenticator's answer, an acknowledgement that waits for the disk)
  // holds weak references to the connection through it, so the connection needs no reference
  // count of its own. Called on the connection's own thread, only after on_bytes() began.
  virtual std::shared_ptr<void> lifetime() = 0;
};

}  // namespace broker
