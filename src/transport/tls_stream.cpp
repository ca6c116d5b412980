#include "transport/tls_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace transport {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// One TLS record's payload: what a read can return at most anyway.
constexpr std::size_t read_buffer_size = 16 * 1024;
// How long a closing connection waits for the peer's close_notify.
constexpr std::chrono::seconds close_notify_limit{2};

// Beast's ssl_stream (over asio::ssl::stream) coalesces a gathered write into one buffer of up
// to 16 KiB before encrypting it; asio::ssl::stream alone would make one TLS record per buffer,
// and the session's writes gather many small packets.
class tls_byte_stream final : public byte_stream,
                              public std::enable_shared_from_this<tls_byte_stream> {
 public:
  tls_byte_stream(tcp::socket socket, std::shared_ptr<ssl::context> context)
      : context_(std::move(context)),
        stream_(std::move(socket), *context_),
        timer_(stream_.get_executor()),
        read_buffer_(std::make_unique<std::uint8_t[]>(read_buffer_size)) {}

  asio::any_io_executor get_executor() override { return stream_.get_executor(); }

  void async_open(open_handler handler) override {
    stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this(),
                                                       h = std::move(handler)](error_code ec) {
      if (ec) {
        h("TLS handshake: " + describe_tls_failure(ec, self->stream_.native_handle()),
          is_quiet_disconnect(ec));
        return;
      }
      self->opened_ = true;
      h({}, false);
    });
  }

  void async_read(read_handler handler) override {
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(read_buffer_.get(), read_buffer_size),
        [self = shared_from_this(), h = std::move(handler)](error_code ec, std::size_t n) {
          self->reading_ = false;
          h(ec, std::span<const std::uint8_t>(self->read_buffer_.get(), n));
        });
  }

  void async_write(std::span<const asio::const_buffer> buffers, write_handler handler) override {
    writing_ = true;
    asio::async_write(
        stream_, buffers,
        [self = shared_from_this(), h = std::move(handler)](error_code ec, std::size_t n) {
          self->writing_ = false;
          h(ec, n);
        });
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    // close_notify tells the client the end is deliberate (OpenSSL 3 reports an end without it
    // as an error). It can only go out when no read or write is in flight on the TLS state;
    // otherwise the connection just ends, as it does after an error.
    if (!opened_ || reading_ || writing_) {
      hard_close();
      return;
    }
    timer_.expires_after(close_notify_limit);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->hard_close();
    });
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->hard_close(); });
  }

 private:
  void hard_close() {
    timer_.cancel();
    error_code ignored;
    tcp::socket& socket = boost::beast::get_lowest_layer(stream_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // before stream_, which uses it
  boost::beast::ssl_stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::unique_ptr<std::uint8_t[]> read_buffer_;
  bool opened_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<byte_stream> make_tls_stream(tcp::socket socket,
                                             std::shared_ptr<ssl::context> context) {
  return std::make_shared<tls_byte_stream>(std::move(socket), std::move(context));
}

std::string describe_tls_failure(const error_code& ec, ssl_st* native) {
  std::string text = ec.message();
  if (native) {
    const long verify = SSL_get_verify_result(native);
    if (verify != X509_V_OK) {
      text += std::string(" (client certificate: ") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  return text;
}

bool is_quiet_disconnect(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == ssl::error::stream_truncated || ec == asio::error::operation_aborted;
}

}  // namespace transport
