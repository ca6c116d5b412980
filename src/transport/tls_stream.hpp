#pragma once
// MQTT over TLS: a byte_stream whose handshake is the TLS handshake. Only named here; the
// OpenSSL and Asio SSL code is in tls_stream.cpp.

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "transport/byte_stream.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;  // OpenSSL's SSL

namespace transport {

// The stream holds `context` until it is gone, so a reloaded certificate never pulls the context
// from under an open connection.
std::shared_ptr<byte_stream> make_tls_stream(boost::asio::ip::tcp::socket socket,
                                             std::shared_ptr<boost::asio::ssl::context> context);

// One line for the log about a failed TLS handshake: OpenSSL's reason, and for a refused client
// certificate why it was refused.
std::string describe_tls_failure(const boost::system::error_code& ec, ssl_st* native);

// The peer went away without completing anything: not worth more than a debug line.
bool is_quiet_disconnect(const boost::system::error_code& ec);

}  // namespace transport
