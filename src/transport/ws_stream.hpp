#pragma once
// MQTT over WebSocket, plain (ws) and over TLS (wss): byte_streams whose handshake is the HTTP
// upgrade (after the TLS handshake for wss), and whose bytes are the payloads of binary frames,
// in order, wherever the client put the frame boundaries [MQTT-6.0.0-2]. Each write becomes one
// binary WebSocket message of one frame. Only named here; Beast is in ws_stream_impl.hpp.

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>

#include "transport/byte_stream.hpp"

namespace boost::asio::ssl {
class context;
}

namespace transport {

struct ws_limits {
  // Largest WebSocket message (all its frames) a client may send: past it the connection is
  // closed with 1009. The MQTT byte stream inside has its own packet size limit.
  std::size_t max_message_size = 16 * 1024 * 1024 + 64 * 1024;
  // Largest upgrade request header: past it the answer is 431 and the connection ends.
  std::size_t max_request_header = 8 * 1024;
};

std::shared_ptr<byte_stream> make_ws_stream(boost::asio::ip::tcp::socket socket,
                                            const ws_limits& limits);

// The stream holds `context` until it is gone (see tls_stream.hpp).
std::shared_ptr<byte_stream> make_wss_stream(boost::asio::ip::tcp::socket socket,
                                             std::shared_ptr<boost::asio::ssl::context> context,
                                             const ws_limits& limits);

}  // namespace transport
