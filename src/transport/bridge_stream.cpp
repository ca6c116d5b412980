#include "transport/bridge_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>

namespace transport {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t read_buffer_size = 16 * 1024;
constexpr std::chrono::seconds close_notify_limit{2};

// Bytes read are lent to the handler only until it returns, as byte_stream says.
class tcp_client_stream final : public byte_stream,
                                public std::enable_shared_from_this<tcp_client_stream> {
 public:
  explicit tcp_client_stream(tcp::socket socket)
      : socket_(std::move(socket)), buffer_(std::make_unique<std::uint8_t[]>(read_buffer_size)) {}

  asio::any_io_executor get_executor() override { return socket_.get_executor(); }
  void async_open(open_handler handler) override { handler({}, false); }
  void async_read(read_handler handler) override {
    socket_.async_read_some(
        asio::buffer(buffer_.get(), read_buffer_size),
        [self = shared_from_this(), h = std::move(handler)](error_code ec, std::size_t n) {
          h(ec, std::span<const std::uint8_t>(self->buffer_.get(), n));
        });
  }
  void async_write(std::span<const asio::const_buffer> buffers, write_handler handler) override {
    asio::async_write(socket_, buffers,
                      [self = shared_from_this(), h = std::move(handler)](
                          error_code ec, std::size_t n) { h(ec, n); });
  }
  void close() override {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
  std::unique_ptr<std::uint8_t[]> buffer_;
};

std::string openssl_error_text() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

class tls_client_stream final : public byte_stream,
                                public std::enable_shared_from_this<tls_client_stream> {
 public:
  tls_client_stream(tcp::socket socket, std::shared_ptr<ssl::context> context, std::string host,
                    bool check_host)
      : context_(std::move(context)),
        stream_(std::move(socket), *context_),
        timer_(stream_.get_executor()),
        host_(std::move(host)),
        check_host_(check_host),
        buffer_(std::make_unique<std::uint8_t[]>(read_buffer_size)) {}

  asio::any_io_executor get_executor() override { return stream_.get_executor(); }

  void async_open(open_handler handler) override {
    SSL* native = stream_.native_handle();
    error_code ec;
    asio::ip::make_address(host_, ec);
    const bool is_ip = !ec;
    if (!is_ip) SSL_set_tlsext_host_name(native, host_.c_str());  // SNI takes names only
    if (check_host_) {
      // The certificate must name the host we connect to (a DNS name or an IP address).
      X509_VERIFY_PARAM* param = SSL_get0_param(native);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
      if (set != 1) {
        handler("cannot check the certificate against '" + host_ + "': " + openssl_error_text(),
                false);
        return;
      }
    }
    stream_.async_handshake(ssl::stream_base::client, [self = shared_from_this(),
                                                       h = std::move(handler)](error_code e) {
      if (e) {
        std::string text = "TLS handshake: " + e.message();
        const long verify = SSL_get_verify_result(self->stream_.native_handle());
        if (verify != X509_V_OK) {
          text +=
              std::string(" (remote certificate: ") + X509_verify_cert_error_string(verify) + ")";
        }
        h(text, false);
        return;
      }
      self->opened_ = true;
      h({}, false);
    });
  }

  void async_read(read_handler handler) override {
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(buffer_.get(), read_buffer_size),
        [self = shared_from_this(), h = std::move(handler)](error_code ec, std::size_t n) {
          self->reading_ = false;
          h(ec, std::span<const std::uint8_t>(self->buffer_.get(), n));
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

  std::shared_ptr<ssl::context> context_;
  boost::beast::ssl_stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::string host_;
  bool check_host_;
  std::unique_ptr<std::uint8_t[]> buffer_;
  bool opened_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<ssl::context> make_bridge_tls_context(const bridge::tls_settings& tls,
                                                      std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  int version = TLS1_2_VERSION;
  if (tls.tls_version == "tlsv1.3") version = TLS1_3_VERSION;
  if (tls.tls_version == "tlsv1.1") version = TLS1_1_VERSION;
  SSL_CTX_set_min_proto_version(native, version);
  // As in Mosquitto, bridge_tls_version names the one version to use.
  if (!tls.tls_version.empty()) SSL_CTX_set_max_proto_version(native, version);
  error_code ec;
  if (!tls.cafile.empty()) {
    context->load_verify_file(tls.cafile, ec);
    if (ec) {
      error = "bridge_cafile " + tls.cafile + ": " + ec.message();
      return nullptr;
    }
  }
  if (!tls.capath.empty()) {
    context->add_verify_path(tls.capath, ec);
    if (ec) {
      error = "bridge_capath " + tls.capath + ": " + ec.message();
      return nullptr;
    }
  }
  // The chain is always checked against the CA; bridge_insecure only drops the host name check.
  context->set_verify_mode(ssl::verify_peer, ec);
  if (!tls.certfile.empty()) {
    context->use_certificate_chain_file(tls.certfile, ec);
    if (ec) {
      error = "bridge_certfile " + tls.certfile + ": " + ec.message();
      return nullptr;
    }
    context->use_private_key_file(tls.keyfile, ssl::context::pem, ec);
    if (ec) {
      error = "bridge_keyfile " + tls.keyfile + ": " + ec.message();
      return nullptr;
    }
  }
  if (!tls.alpn.empty()) {
    if (tls.alpn.size() > 255) {
      error = "bridge_alpn longer than 255 bytes";
      return nullptr;
    }
    std::string wire(1, static_cast<char>(tls.alpn.size()));
    wire += tls.alpn;
    if (SSL_CTX_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      error = "bridge_alpn: " + openssl_error_text();
      return nullptr;
    }
  }
  return context;
}

std::shared_ptr<byte_stream> make_bridge_stream(tcp::socket socket,
                                                std::shared_ptr<ssl::context> context,
                                                const std::string& host, bool check_host) {
  if (!context) return std::make_shared<tcp_client_stream>(std::move(socket));
  return std::make_shared<tls_client_stream>(std::move(socket), std::move(context), host,
                                             check_host);
}

}  // namespace transport
