#pragma once
// The bridge's connection to a remote broker: plain TCP, or TLS as a client that checks the
// remote's certificate chain against bridge_cafile / bridge_capath and, unless bridge_insecure,
// that it names the host connected to (Mosquitto's meaning of bridge_insecure). Both are a
// byte_stream (byte_stream.hpp), whose async_open() is the TLS handshake or nothing. OpenSSL
// stays in bridge_stream.cpp.

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "bridge/bridge_settings.hpp"
#include "transport/byte_stream.hpp"

namespace boost::asio::ssl {
class context;
}

namespace transport {

// A client TLS context for `tls`, or null with `error` naming the file or setting at fault.
std::shared_ptr<boost::asio::ssl::context> make_bridge_tls_context(const bridge::tls_settings& tls,
                                                                   std::string& error);

// `context` null: plain TCP. `host`: the name to send (SNI) and to check the certificate
// against.
std::shared_ptr<byte_stream> make_bridge_stream(boost::asio::ip::tcp::socket socket,
                                                std::shared_ptr<boost::asio::ssl::context> context,
                                                const std::string& host, bool check_host);

}  // namespace transport
