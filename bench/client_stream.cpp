#include "client_stream.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <type_traits>

namespace bench {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

using tls_socket = beast::ssl_stream<tcp::socket>;

void close_lowest(tcp::socket& socket) {
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// One client context per connection: a handful of connections per run, so its cost does not
// matter, and nothing is shared between threads. No verification (see the header).
ssl::context make_client_context() {
  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_none);
  return context;
}

class tls_layer final : public layered_stream {
 public:
  explicit tls_layer(tcp::socket socket)
      : context_(make_client_context()), stream_(std::move(socket), context_) {}

  void async_handshake(done_handler h) override {
    stream_.async_handshake(ssl::stream_base::client, std::move(h));
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler h) override {
    stream_.async_read_some(buffer, std::move(h));
  }
  void async_write(asio::const_buffer buffer, io_handler h) override {
    asio::async_write(stream_, buffer, std::move(h));
  }
  void close() override { close_lowest(beast::get_lowest_layer(stream_)); }

 private:
  ssl::context context_;  // before stream_, which uses it
  tls_socket stream_;
};

template <class NextLayer>
class ws_layer final : public layered_stream {
  static constexpr bool over_tls = std::is_same_v<NextLayer, tls_socket>;

 public:
  ws_layer(tcp::socket socket, const std::string& path) requires(!over_tls)
      : path_(path), ws_(std::move(socket)) {}
  ws_layer(tcp::socket socket, const std::string& path) requires(over_tls)
      : path_(path), context_(make_client_context()), ws_(std::move(socket), *context_) {}

  void async_handshake(done_handler h) override {
    if constexpr (over_tls) {
      ws_.next_layer().async_handshake(ssl::stream_base::client,
                                       [this, h = std::move(h)](const error_code& ec) mutable {
                                         if (ec) {
                                           h(ec);
                                           return;
                                         }
                                         upgrade(std::move(h));
                                       });
    } else {
      upgrade(std::move(h));
    }
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler h) override {
    ws_.async_read_some(buffer, std::move(h));
  }
  void async_write(asio::const_buffer buffer, io_handler h) override {
    ws_.async_write(buffer, std::move(h));
  }
  void close() override { close_lowest(beast::get_lowest_layer(ws_)); }

 private:
  void upgrade(done_handler h) {
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(0);  // the MQTT reader has its own limit
    ws_.async_handshake("127.0.0.1", path_, std::move(h));
  }

  std::string path_;
  std::optional<ssl::context> context_;  // wss only; before ws_, which uses it
  websocket::stream<NextLayer> ws_;
};

}  // namespace

std::optional<transport_kind> parse_transport(const std::string& word) {
  if (word == "tcp") return transport_kind::tcp;
  if (word == "ws") return transport_kind::ws;
  if (word == "tls") return transport_kind::tls;
  if (word == "wss") return transport_kind::wss;
  return std::nullopt;
}

const char* name_of(transport_kind kind) {
  switch (kind) {
    case transport_kind::tcp:
      return "tcp";
    case transport_kind::ws:
      return "ws";
    case transport_kind::tls:
      return "tls";
    case transport_kind::wss:
      return "wss";
  }
  return "?";
}

std::unique_ptr<layered_stream> make_layered_stream(transport_kind kind, tcp::socket socket,
                                                    const std::string& ws_path) {
  switch (kind) {
    case transport_kind::ws:
      return std::make_unique<ws_layer<tcp::socket>>(std::move(socket), ws_path);
    case transport_kind::tls:
      return std::make_unique<tls_layer>(std::move(socket));
    case transport_kind::wss:
      return std::make_unique<ws_layer<tls_socket>>(std::move(socket), ws_path);
    case transport_kind::tcp:
      break;
  }
  return nullptr;
}

}  // namespace bench
