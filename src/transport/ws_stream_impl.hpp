#pragma once
// The WebSocket byte_stream over a TCP socket or a TLS stream, with Beast. Included only by
// ws_stream.cpp and wss_stream.cpp (one instantiation each), so Beast's templates are compiled
// in those two translation units alone.
//
// Opening: (TLS handshake,) read the HTTP request with a size limit, decide with
// decide_upgrade(), then either accept (echoing the chosen subprotocol) or answer 4xx, linger
// briefly so the answer is not lost to a reset, and fail. Open: reads hand over the payload of
// binary frames as they arrive; Beast answers pings with pongs and the peer's close frame with
// ours; a text frame is closed with 1003 [MQTT-6.0.0-1].

#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "transport/byte_stream.hpp"
#include "transport/tls_stream.hpp"
#include "transport/ws_stream.hpp"
#include "transport/ws_upgrade.hpp"

namespace transport {

namespace ws_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr std::size_t read_buffer_size = 16 * 1024;
// How long a closing connection waits for the peer's close frame.
constexpr std::chrono::seconds close_limit{2};
// After a 4xx answer: how long and how much of the rest of the request is read and dropped, so
// that closing with unread bytes does not reset the connection before the client read the answer.
constexpr std::chrono::seconds linger_limit{1};
constexpr std::size_t linger_max_bytes = 64 * 1024;
// In every HTTP answer, instead of Beast's name and version.
constexpr const char* server_name = "mqtt-broker";

inline std::string_view to_std(beast::string_view s) {
  return {s.data(), s.size()};
}

template <class NextLayer>
class ws_byte_stream final : public byte_stream,
                             public std::enable_shared_from_this<ws_byte_stream<NextLayer>> {
  static constexpr bool over_tls = !std::is_same_v<NextLayer, tcp::socket>;

 public:
  ws_byte_stream(tcp::socket socket, const ws_limits& limits) requires(!over_tls)
      : limits_(limits),
        ws_(std::move(socket)),
        timer_(ws_.get_executor()),
        request_buffer_(limits.max_request_header + 1024) {}

  ws_byte_stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> context,
                 const ws_limits& limits) requires(over_tls)
      : limits_(limits),
        context_(std::move(context)),
        ws_(std::move(socket), *context_),
        timer_(ws_.get_executor()),
        request_buffer_(limits.max_request_header + 1024) {}

  asio::any_io_executor get_executor() override { return ws_.get_executor(); }

  void async_open(open_handler handler) override {
    if constexpr (over_tls) {
      ws_.next_layer().async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this(), h = std::move(handler)](error_code ec) mutable {
            if (ec) {
              h("TLS handshake: " +
                    describe_tls_failure(ec, self->ws_.next_layer().native_handle()),
                is_quiet_disconnect(ec));
              return;
            }
            self->read_request(std::move(h));
          });
    } else {
      read_request(std::move(handler));
    }
  }

  void async_read(read_handler handler) override {
    if (!read_buffer_) read_buffer_ = std::make_unique<std::uint8_t[]>(read_buffer_size);
    ws_.async_read_some(
        asio::buffer(read_buffer_.get(), read_buffer_size),
        [self = this->shared_from_this(), h = std::move(handler)](
            error_code ec, std::size_t n) mutable { self->on_read(ec, n, std::move(h)); });
  }

  void async_write(std::span<const asio::const_buffer> buffers, write_handler handler) override {
    ws_.async_write(buffers, [self = this->shared_from_this(), h = std::move(handler)](
                                 error_code ec, std::size_t n) { h(ec, n); });
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    if (!opened_ || !ws_.is_open()) {  // not upgraded yet, or the close handshake is done
      hard_close();
      return;
    }
    // Beast queues the close frame behind a write in flight; the deadline covers a peer that
    // reads nothing or never answers.
    timer_.expires_after(close_limit);
    timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) self->hard_close();
    });
    ws_.async_close(close_code_,
                    [self = this->shared_from_this()](error_code) { self->hard_close(); });
  }

 private:
  void read_request(open_handler h) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_request_header));
    http::async_read(
        ws_.next_layer(), request_buffer_, *parser_,
        [self = this->shared_from_this(), h = std::move(h)](error_code ec, std::size_t) mutable {
          self->on_request(ec, std::move(h));
        });
  }

  void on_request(error_code ec, open_handler h) {
    if (ec == http::error::end_of_stream || is_quiet_disconnect(ec)) {
      h("closed before sending a complete HTTP request", true);
      return;
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      refuse(431,
             "the request header is larger than " + std::to_string(limits_.max_request_header) +
                 " bytes",
             std::move(h));
      return;
    }
    if (ec) {
      refuse(400, "not a valid HTTP request (" + ec.message() + ")", std::move(h));
      return;
    }
    const http::request<http::empty_body>& request = parser_->get();
    std::string offered;
    const auto fields = request.equal_range(http::field::sec_websocket_protocol);
    for (auto field = fields.first; field != fields.second; ++field) {
      if (!offered.empty()) offered += ", ";
      offered.append(to_std(field->value()));
    }
    const upgrade_decision decision = decide_upgrade(
        {to_std(request.target()), websocket::is_upgrade(request), std::string_view(offered)});
    if (decision.status != 101) {
      refuse(decision.status,
             decision.reason + " (" + std::string(to_std(request.method_string())) + " " +
                 std::string(to_std(request.target())) + ")",
             std::move(h));
      return;
    }
    ws_.set_option(websocket::stream_base::decorator(
        [protocol = decision.subprotocol](websocket::response_type& response) {
          response.set(http::field::server, server_name);
          if (!protocol.empty()) response.set(http::field::sec_websocket_protocol, protocol);
        }));
    // Beast checks the rest (key, version) and answers 400 or 426 itself when it refuses.
    ws_.async_accept(request, [self = this->shared_from_this(), h = std::move(h)](error_code ec) {
      if (ec) {
        h("WebSocket upgrade refused: " + ec.message(), is_quiet_disconnect(ec));
        return;
      }
      self->on_accepted();
      h({}, false);
    });
  }

  void on_accepted() {
    opened_ = true;
    ws_.binary(true);
    ws_.auto_fragment(false);  // one write, one frame
    ws_.read_message_max(limits_.max_message_size);
    parser_.reset();
    request_buffer_.clear();
    request_buffer_.shrink_to_fit();
  }

  // Answers a request that is not an upgrade we serve, then fails the opening with `reason`.
  void refuse(int status, const std::string& reason, open_handler h) {
    response_.emplace(static_cast<http::status>(status), 11);
    response_->set(http::field::server, server_name);
    response_->set(http::field::content_type, "text/plain; charset=utf-8");
    response_->set(http::field::connection, "close");
    if (status == 426) {
      response_->set(http::field::upgrade, "websocket");
      response_->set(http::field::sec_websocket_version, "13");
    }
    response_->body() = reason + "\n";
    response_->prepare_payload();
    http::async_write(ws_.next_layer(), *response_,
                      [self = this->shared_from_this(), h = std::move(h),
                       message = "answered " + std::to_string(status) + ": " + reason](
                          error_code ec, std::size_t) mutable {
                        if (ec) {
                          h(message, false);
                          return;
                        }
                        error_code ignored;
                        beast::get_lowest_layer(self->ws_).shutdown(tcp::socket::shutdown_send,
                                                                    ignored);
                        self->timer_.expires_after(linger_limit);
                        self->timer_.async_wait([self](error_code wait_ec) {
                          if (!wait_ec) self->hard_close();
                        });
                        self->linger(std::move(h), std::move(message));
                      });
  }

  void linger(open_handler h, std::string message) {
    if (!read_buffer_) read_buffer_ = std::make_unique<std::uint8_t[]>(read_buffer_size);
    ws_.next_layer().async_read_some(
        asio::buffer(read_buffer_.get(), read_buffer_size),
        [self = this->shared_from_this(), h = std::move(h), message = std::move(message)](
            error_code ec, std::size_t n) mutable {
          self->lingered_ += n;
          if (ec || self->lingered_ >= linger_max_bytes) {
            self->timer_.cancel();
            h(message, false);
            return;
          }
          self->linger(std::move(h), std::move(message));
        });
  }

  template <class Handler>
  void on_read(error_code ec, std::size_t n, Handler&& h) {
    if (!ec && ws_.got_text()) {
      // [MQTT-6.0.0-1]: MQTT travels in binary frames only; 1003 is "cannot accept this type
      // of data" (RFC 6455 7.4.1).
      close_code_ = websocket::close_code::unknown_data;
      close();
      h(websocket::error::bad_data_frame, {});
      return;
    }
    if (!ec && n == 0) {  // an empty frame: nothing for the session
      async_read(std::forward<Handler>(h));
      return;
    }
    h(ec, std::span<const std::uint8_t>(read_buffer_.get(), n));
  }

  void hard_close() {
    timer_.cancel();
    error_code ignored;
    tcp::socket& socket = beast::get_lowest_layer(ws_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  ws_limits limits_;
  std::shared_ptr<asio::ssl::context> context_;  // before ws_, which uses it; null for ws
  websocket::stream<NextLayer> ws_;
  asio::steady_timer timer_;
  beast::flat_buffer request_buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::unique_ptr<std::uint8_t[]> read_buffer_;
  std::size_t lingered_ = 0;
  websocket::close_code close_code_ = websocket::close_code::normal;
  bool opened_ = false;
  bool closed_ = false;
};

}  // namespace ws_detail

}  // namespace transport
