#pragma once
// The connection under a load_client: plain TCP, or MQTT over WebSocket (ws), TLS (tls) or
// WebSocket over TLS (wss), so the same scenarios measure every listener of the broker.
//
// Plain TCP calls the socket directly (templates, no allocation: the TCP rows must not pay for
// the others). The other kinds live in client_stream.cpp behind a small virtual interface, so
// Beast and OpenSSL are compiled in that one file. A WebSocket write is one binary message;
// TLS certificates are not verified (the generator measures throughput, not trust).

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace bench {

enum class transport_kind { tcp, ws, tls, wss };

std::optional<transport_kind> parse_transport(const std::string& word);
const char* name_of(transport_kind kind);

// ws, tls and wss: what runs on the TCP socket once it is connected.
class layered_stream {
 public:
  using done_handler = std::function<void(const boost::system::error_code&)>;
  using io_handler = std::function<void(const boost::system::error_code&, std::size_t)>;

  virtual ~layered_stream() = default;
  virtual void async_handshake(done_handler h) = 0;
  virtual void async_read_some(boost::asio::mutable_buffer buffer, io_handler h) = 0;
  virtual void async_write(boost::asio::const_buffer buffer, io_handler h) = 0;
  virtual void close() = 0;
};

// Takes the connected socket. `ws_path` is the WebSocket request target.
std::unique_ptr<layered_stream> make_layered_stream(transport_kind kind,
                                                    boost::asio::ip::tcp::socket socket,
                                                    const std::string& ws_path);

class client_stream {
 public:
  client_stream(boost::asio::io_context& io, transport_kind kind, std::string ws_path)
      : socket_(io), kind_(kind), ws_path_(std::move(ws_path)) {}

  // TCP connect, then the TLS and WebSocket handshakes the kind needs. h(error_code).
  template <class Handler>
  void async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Handler&& handler) {
    socket_.async_connect(endpoint, [this, h = std::forward<Handler>(handler)](
                                        const boost::system::error_code& ec) mutable {
      if (!ec) {
        boost::system::error_code ignored;
        // Small packets must leave at once, or the latency scenario measures Nagle's delay.
        socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
      }
      if (ec || kind_ == transport_kind::tcp) {
        h(ec);
        return;
      }
      layered_ = make_layered_stream(kind_, std::move(socket_), ws_path_);
      layered_->async_handshake(std::move(h));
    });
  }

  template <class Handler>
  void async_read_some(boost::asio::mutable_buffer buffer, Handler&& handler) {
    if (layered_) {
      layered_->async_read_some(buffer, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffer, std::forward<Handler>(handler));
    }
  }

  // Writes all of `buffer`.
  template <class Handler>
  void async_write(boost::asio::const_buffer buffer, Handler&& handler) {
    if (layered_) {
      layered_->async_write(buffer, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(socket_, buffer, std::forward<Handler>(handler));
    }
  }

  void close() {
    if (layered_) {
      layered_->close();
      return;
    }
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  boost::asio::ip::tcp::socket socket_;  // moved into layered_ once connected, for ws/tls/wss
  transport_kind kind_;
  std::string ws_path_;
  std::unique_ptr<layered_stream> layered_;
};

}  // namespace bench
