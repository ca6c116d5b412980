// MQTT over plain WebSocket: the one instantiation of ws_byte_stream over a TCP socket.
#include "transport/ws_stream_impl.hpp"

namespace transport {

std::shared_ptr<byte_stream> make_ws_stream(boost::asio::ip::tcp::socket socket,
                                            const ws_limits& limits) {
  return std::make_shared<ws_detail::ws_byte_stream<boost::asio::ip::tcp::socket>>(
      std::move(socket), limits);
}

}  // namespace transport
