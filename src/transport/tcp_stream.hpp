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

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <span>
#include <utility>

namespace transport {

class tcp_stream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  // `read_buffer` belongs to the socket's io_context and is shared by every stream on it.
  tcp_stream(boost::asio::ip::tcp::socket socket, std::span<std::uint8_t> read_buffer)
      : socket_(std::move(socket)), read_buffer_(read_buffer) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  executor_type get_executor() { return socket_.get_executor(); }

  // Waits until the socket is readable, then reads what is there into the context's shared
  // buffer: an idle connection holds no read buffer of its own.
  template <class Handler>
  void async_read(Handler&& handler) {
    socket_.async_wait(
        boost::asio::ip::tcp::socket::wait_read,
        [this, h = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
          on_readable(ec, std::move(h));
        });
  }

  template <class Buffers, class Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    boost::asio::async_write(socket_, buffers, std::forward<Handler>(handler));
  }

  void close() {
    boost::system::error_code ignored;
    // Send our FIN after the bytes already written, then release the descriptor.
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

 private:
  template <class Handler>
  void on_readable(boost::system::error_code ec, Handler&& handler) {
    std::size_t n = 0;
    if (!ec) {
      n = socket_.read_some(boost::asio::buffer(read_buffer_.data(), read_buffer_.size()), ec);
      if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
        async_read(std::forward<Handler>(handler));  // woken without data: wait again
        return;
      }
    }
    handler(ec, std::span<const std::uint8_t>(read_buffer_.data(), n));
  }

  boost::asio::ip::tcp::socket socket_;
  std::span<std::uint8_t> read_buffer_;
};

}  // namespace transport
