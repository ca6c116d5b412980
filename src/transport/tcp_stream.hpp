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
// Plain TCP also offers what a deferred wake (io_thread.hpp) needs to write from another thread:
//   io_thread::home& home();      // the I/O thread the stream lives on
//   std::size_t write_now(const std::vector<const_buffer>& buffers, error_code& ec);  // never
//                                 // blocks; less than all of them when the socket is full

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "transport/gather_send.hpp"
#include "transport/io_thread.hpp"

namespace transport {

class tcp_stream {
 public:
  // Bound to its io_context's own executor rather than any_io_executor: 32 bytes less in the
  // socket and less in every pending operation, for every connection.
  using executor_type = boost::asio::io_context::executor_type;
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor_type>;

  // `home` belongs to the socket's io_context; its read buffer is shared by every stream there.
  tcp_stream(socket_type socket, io_thread::home& home) : socket_(std::move(socket)), home_(&home) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  executor_type get_executor() { return socket_.get_executor(); }
  io_thread::home& home() { return *home_; }

  // Waits until the socket is readable, then reads what is there into the context's shared
  // buffer: an idle connection holds no read buffer of its own.
  //
  // After a read that filled the buffer more is probably waiting: the next read is tried from a
  // post, behind whatever else the thread has to do, without waiting. Every wait costs Asio an
  // epoll_ctl (it re-arms the edge-triggered descriptor), one system call per 64 KiB read on a
  // busy publisher's connection.
  template <class Handler>
  void async_read(Handler&& handler) {
    if (filled_) {
      filled_ = false;
      boost::asio::post(socket_.get_executor(),
                        [this, h = std::forward<Handler>(handler)]() mutable {
                          on_readable(boost::system::error_code{}, std::move(h));
                        });
      return;
    }
    socket_.async_wait(socket_type::wait_read, [this, h = std::forward<Handler>(handler)](
                                                   boost::system::error_code ec) mutable {
      on_readable(ec, std::move(h));
    });
  }

  // Sends all of `buffers` (kept alive and unchanged by the caller until `handler` runs): what the
  // socket takes now, in as few calls as gather_send needs, then the rest as it drains. The
  // handler never runs inside this call.
  template <class Handler>
  void async_write(const std::vector<boost::asio::const_buffer>& buffers, Handler&& handler) {
    continue_write(buffers, send_position{}, 0, std::forward<Handler>(handler), true);
  }

  // What the socket takes right now, from any thread, as long as the session's lock keeps every
  // other use of the stream away (stream_session::deferred_wake). The socket is non-blocking:
  // a full send buffer gives would_block, and the kernel serialises this send with the owning
  // thread's pending wait for input, which Asio keeps apart from the socket object.
  std::size_t write_now(const std::vector<boost::asio::const_buffer>& buffers,
                        boost::system::error_code& ec) {
    send_position at;
    const std::size_t sent = gather_send(socket_.native_handle(), buffers, at, ec);
    if (ec == boost::asio::error::would_block) ec = {};  // the caller compares the size
    return sent;
  }

  void close() {
    boost::system::error_code ignored;
    // Send our FIN after the bytes already written, then release the descriptor.
    socket_.shutdown(socket_type::shutdown_send, ignored);
    socket_.close(ignored);
  }

 private:
  template <class Handler>
  void on_readable(boost::system::error_code ec, Handler&& handler) {
    std::size_t n = 0;
    if (!ec) {
      const std::span<std::uint8_t> buffer = home_->read_buffer;
      n = socket_.read_some(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
        async_read(std::forward<Handler>(handler));  // woken without data: wait again
        return;
      }
      filled_ = !ec && n == buffer.size();
    }
    handler(ec, std::span<const std::uint8_t>(home_->read_buffer.data(), n));
  }

  template <class Handler>
  void continue_write(const std::vector<boost::asio::const_buffer>& buffers, send_position at,
                      std::size_t sent, Handler&& handler, bool initiating) {
    boost::system::error_code ec;
    sent += gather_send(socket_.native_handle(), buffers, at, ec);
    if (ec == boost::asio::error::would_block) {
      socket_.async_wait(socket_type::wait_write,
                         [this, &buffers, at, sent, h = std::forward<Handler>(handler)](
                             boost::system::error_code wait_ec) mutable {
                           if (wait_ec) return h(wait_ec, sent);
                           continue_write(buffers, at, sent, std::move(h), false);
                         });
      return;
    }
    if (!initiating) return handler(ec, sent);
    boost::asio::post(socket_.get_executor(),
                      [ec, sent, h = std::forward<Handler>(handler)]() mutable { h(ec, sent); });
  }

  socket_type socket_;
  io_thread::home* home_;
  bool filled_ = false;  // the last read filled the buffer
};

}  // namespace transport
