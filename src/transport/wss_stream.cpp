// MQTT over WebSocket over TLS: the one instantiation of ws_byte_stream over Beast's ssl_stream
// (which coalesces gathered writes into few TLS records; see tls_stream.cpp).
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "transport/ws_stream_impl.hpp"

namespace transport {

std::shared_ptr<byte_stream> make_wss_stream(boost::asio::ip::tcp::socket socket,
                                             std::shared_ptr<boost::asio::ssl::context> context,
                                             const ws_limits& limits) {
  using next_layer = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;
  return std::make_shared<ws_detail::ws_byte_stream<next_layer>>(std::move(socket),
                                                                 std::move(context), limits);
}

}  // namespace transport
