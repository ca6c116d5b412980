#pragma once
// The streams that need a handshake before MQTT bytes flow (TLS, WebSocket, WebSocket over TLS)
// behind one small virtual interface, so that one instantiation of stream_session serves them all
// and Beast and OpenSSL stay inside the .cpp files that implement them (tls_stream.cpp,
// ws_stream.cpp, wss_stream.cpp). A virtual call and a std::function per read or write are noise
// next to the encryption and framing these streams do; plain TCP keeps its own direct stream.
//
// Every member runs on the stream's executor. An implementation keeps itself alive (it is held by
// shared_ptr) until its last operation completed, so close() may start a graceful ending (a
// WebSocket close frame, a TLS close_notify) that outlives the session; that ending has its own
// deadline.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace transport {

class byte_stream {
 public:
  using read_handler =
      std::function<void(boost::system::error_code, std::span<const std::uint8_t>)>;
  using write_handler = std::function<void(boost::system::error_code, std::size_t)>;
  // `error` is empty when the stream is open; otherwise one line saying why not, for the log.
  // `quiet`: an everyday failure (the peer hung up before saying anything), worth a debug line
  // only.
  using open_handler = std::function<void(const std::string& error, bool quiet)>;

  virtual ~byte_stream() = default;

  virtual boost::asio::any_io_executor get_executor() = 0;
  // The handshake: TLS, the HTTP upgrade, or both. Called once, before anything else; the caller
  // bounds it with a deadline and calls close() when it passes.
  virtual void async_open(open_handler handler) = 0;
  // Reads what arrives (at least one byte); the bytes are lent only until the handler returns.
  virtual void async_read(read_handler handler) = 0;
  // Writes all of `buffers`, which stay valid until the handler runs.
  virtual void async_write(std::span<const boost::asio::const_buffer> buffers,
                           write_handler handler) = 0;
  // Ends the stream, gracefully when nothing is in flight; pending operations complete with an
  // error. Idempotent.
  virtual void close() = 0;
};

// A byte_stream in the shape stream_session expects (see tcp_stream.hpp).
class any_stream {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit any_stream(std::shared_ptr<byte_stream> stream) : stream_(std::move(stream)) {}

  executor_type get_executor() { return stream_->get_executor(); }

  template <class Handler>
  void async_read(Handler&& handler) {
    stream_->async_read(std::forward<Handler>(handler));
  }

  template <class Handler>
  void async_write(const std::vector<boost::asio::const_buffer>& buffers, Handler&& handler) {
    stream_->async_write(buffers, std::forward<Handler>(handler));
  }

  void close() { stream_->close(); }

 private:
  std::shared_ptr<byte_stream> stream_;
};

}  // namespace transport
