#pragma once
// The plain TCP byte stream under a stream_session. Every stream type (this one; any_stream in
// byte_stream.hpp for TLS and WebSocket) offers the same four operations, so one session body
// serves them all:
//
//   executor_type get_executor();
//   void async_read(Handler h);   // h(error_code, std::span<const std::uint8_t>): the bytes are
//                                 // lent only until h returns
//   void async_write(const ConstBufferSequence& buffers, Handler h);  // all of them; h(ec, n)
//   void close();                 // ends the stream; pending operations complete with an error
//
// Handlers never run inside the call that starts their operation.
//
// Plain TCP also offers what a deferred wake (io_thread.hpp) needs to write from another thread:
//   io_thread::home& home();      // the I/O thread the stream lives on
//   std::size_t write_now(const std::vector<const_buffer>& buffers, error_code& ec);  // never
//                                 // blocks; less than all of them when the socket is full
//
// The socket is watched by its thread's fd_poller rather than by Asio's reactor: an idle
// connection then holds its descriptor, a slot and its waiting handler, about 270 bytes less
// (fd_poller.hpp). Its pending read and write are kept in place (stored_handler.hpp), so each
// handler may hold at most one shared_ptr.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "transport/fd_poller.hpp"
#include "transport/gather_send.hpp"
#include "transport/io_thread.hpp"
#include "transport/stored_handler.hpp"

namespace transport {

class tcp_stream final : private fd_poller::watcher {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  // What the listener accepts: bound to its io_context's own executor rather than
  // any_io_executor, 32 bytes less for the sockets that stay with Asio (TLS, WebSocket).
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor_type>;
  using read_handler =
      stored_handler<void(boost::system::error_code, std::span<const std::uint8_t>)>;
  using write_handler = stored_handler<void(boost::system::error_code, std::size_t)>;

  // Takes the socket's descriptor from Asio. `home` belongs to the socket's io_context: its
  // read buffer is shared by every stream there, and its poller watches this one from the first
  // operation on (on that context's thread).
  tcp_stream(socket_type socket, io_thread::home& home);
  // Only before the first operation: the poller knows a watched stream by its address.
  tcp_stream(tcp_stream&& other) noexcept;
  tcp_stream& operator=(tcp_stream&&) = delete;
  ~tcp_stream();

  executor_type get_executor() const { return home_->context->get_executor(); }
  io_thread::home& home() { return *home_; }

  // Waits until the socket is readable, then reads what is there into the context's shared
  // buffer: an idle connection holds no read buffer of its own. After a read that filled the
  // buffer (more is probably waiting) or before anything was read, the read is tried from a
  // post, behind whatever else the thread has to do.
  template <class Handler>
  void async_read(Handler&& handler) {
    if (!watch()) return fail_later(std::forward<Handler>(handler));
    if (!readable_) {
      reader_.emplace(std::forward<Handler>(handler));
      return;
    }
    boost::asio::post(get_executor(), [this, h = std::forward<Handler>(handler)]() mutable {
      // `h` keeps the session, and so this stream, alive until it has run.
      boost::system::error_code ec = boost::asio::error::operation_aborted;
      std::size_t n = 0;
      if (!closed_ && !receive(ec, n)) {
        reader_.emplace(std::move(h));  // nothing there: wait for the next input event
        return;
      }
      h(ec, std::span<const std::uint8_t>(home_->read_buffer.data(), n));
    });
  }

  // Sends all of `buffers` (kept alive and unchanged by the caller until `handler` runs): what
  // the socket takes now, in as few calls as gather_send needs, then the rest as it drains.
  template <class Handler>
  void async_write(const std::vector<boost::asio::const_buffer>& buffers, Handler&& handler) {
    if (!watch()) return fail_later(std::forward<Handler>(handler));
    send_position at;
    boost::system::error_code ec;
    const std::size_t sent = gather_send(fd_, buffers, at, ec);
    if (ec == boost::asio::error::would_block) {  // the rest when the socket drains
      // Made only now: most writes never wait, and an idle connection keeps none of this.
      pending_ = std::make_unique<pending_write>(&buffers, at, sent);
      pending_->handler.emplace(std::forward<Handler>(handler));
      return;
    }
    boost::asio::post(get_executor(),
                      [ec, sent, h = std::forward<Handler>(handler)]() mutable { h(ec, sent); });
  }

  // What the socket takes right now, from any thread, as long as the session's lock keeps every
  // other use of the stream away (stream_session::deferred_wake). The socket is non-blocking:
  // a full send buffer gives would_block, and the kernel serialises this send with the owning
  // thread's reads.
  std::size_t write_now(const std::vector<boost::asio::const_buffer>& buffers,
                        boost::system::error_code& ec) {
    send_position at;
    const std::size_t sent = gather_send(fd_, buffers, at, ec);
    if (ec == boost::asio::error::would_block) ec = {};  // the caller compares the size
    return sent;
  }

  // Sends our FIN after the bytes already written and releases the descriptor; a pending read
  // or write completes with operation_aborted, from a post.
  void close();

 private:
  // Registers with the poller on first use; false once closed (or when it cannot).
  bool watch();
  template <class Handler>
  void fail_later(Handler&& handler) {
    boost::asio::post(get_executor(), [h = std::forward<Handler>(handler)]() mutable {
      h(boost::asio::error::operation_aborted, {});
    });
  }
  void on_events(std::uint32_t events) override;
  void abandon() override;
  // One read into the shared buffer. False: nothing there (the next input event says when).
  bool receive(boost::system::error_code& ec, std::size_t& n);
  // A write the socket could not take at once: the rest, and who to tell.
  struct pending_write {
    pending_write(const std::vector<boost::asio::const_buffer>* b, send_position a, std::size_t s)
        : buffers(b), at(a), sent(s) {}
    const std::vector<boost::asio::const_buffer>* buffers;
    send_position at;
    std::size_t sent;
    write_handler handler;
  };
  // Sends more of the pending write. False: the socket is full again.
  bool send_more(boost::system::error_code& ec);

  int fd_;
  std::uint32_t slot_ = fd_poller::no_slot;
  // Until a read says there is nothing more: set by each input event, cleared by a short read.
  bool readable_ = true;
  bool peer_done_ = false;  // its FIN, a reset or an error was seen
  bool closed_ = false;
  io_thread::home* home_;
  read_handler reader_;
  std::unique_ptr<pending_write> pending_;
};

}  // namespace transport
