// The ingress port's HTTP/1.1 and WebSocket sessions: the only translation unit that
// instantiates Beast's HTTP server and WebSocket templates for the web UI.
#include "transport/http_server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace transport {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr const char* server_name = "mqtt-broker";
// The page and its script only talk to this port; nothing else may be loaded or framed from
// elsewhere (Home Assistant frames the page from its own origin).
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";
constexpr std::size_t max_ws_message = 4096;  // the page sends nothing; whatever comes is dropped

void count(const http_context& context, http_limit limit) {
  if (context.service.on_limit) context.service.on_limit(limit);
}

std::string_view to_std(beast::string_view s) {
  return {s.data(), s.size()};
}

// "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1".
std::string peer_ip(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    return address.substr(1, address.find(']') - 1);
  }
  return address.substr(0, address.rfind(':'));
}

// One taken slot of a counter (see take_slot), given back when its holder is gone.
class connection_slot {
 public:
  explicit connection_slot(std::atomic<std::size_t>* counter = nullptr) : counter_(counter) {}
  connection_slot(connection_slot&& other) noexcept
      : counter_(std::exchange(other.counter_, nullptr)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() {
    if (counter_) counter_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::size_t>* counter_;
};

// The live-update WebSocket: pushes the service's status whenever it changed, reads (and drops)
// whatever the page sends so pings and the close handshake are answered.
// Takes one of `counter`'s `max` slots, or none (an empty slot) when all are taken.
std::optional<connection_slot> take_slot(std::atomic<std::size_t>& counter, std::size_t max) {
  if (counter.fetch_add(1, std::memory_order_relaxed) >= max) {
    counter.fetch_sub(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return connection_slot(&counter);
}

class live_socket final : public session_base, public std::enable_shared_from_this<live_socket> {
 public:
  live_socket(beast::tcp_stream stream, http_context& context, connection_slot slot,
              connection_slot ws_slot)
      : ws_(std::move(stream)),
        timer_(ws_.get_executor()),
        context_(context),
        slot_(std::move(slot)),
        ws_slot_(std::move(ws_slot)) {}

  ~live_socket() override {
    if (registry_id_ != 0) context_.registry.remove(registry_id_);
  }

  void start(http::request<http::string_body> request) {
    registry_id_ = context_.registry.add(weak_from_this());
    if (registry_id_ == 0) {
      close();
      return;
    }
    // The WebSocket's own timeouts replace the TCP stream's (Beast requires one or the other).
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = context_.service.request_deadline;
    timeouts.idle_timeout = context_.service.idle_deadline;
    timeouts.keep_alive_pings = true;  // a ping at half the idle time; no answer: closed
    ws_.set_option(timeouts);
    ws_.read_message_max(max_ws_message);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& r) { r.set(http::field::server, server_name); }));
    ws_.async_accept(request, [self = shared_from_this()](error_code ec) {
      if (ec) {
        self->close();
        return;
      }
      self->read();
      self->push();
    });
  }

  void request_close() override {
    asio::post(ws_.get_executor(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->close();
    });
  }
  void close_now() override { close(); }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) {
        self->close();
        return;
      }
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void push() {
    if (closed_) return;
    std::string now = context_.service.live_status ? context_.service.live_status() : "{}";
    if (now == last_sent_) {
      wait();
      return;
    }
    last_sent_ = std::move(now);
    ws_.text(true);
    ws_.async_write(asio::buffer(last_sent_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->wait();
                    });
  }

  void wait() {
    if (closed_) return;
    timer_.expires_after(context_.service.live_interval);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->push();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    // The stream's close() also cancels its timers, so nothing is left waiting on the context.
    beast::get_lowest_layer(ws_).close();
    if (registry_id_ != 0) {
      context_.registry.remove(registry_id_);
      registry_id_ = 0;
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer timer_;
  http_context& context_;
  connection_slot slot_;
  connection_slot ws_slot_;
  beast::flat_buffer buffer_;
  std::string last_sent_;
  std::uint32_t registry_id_ = 0;
  bool closed_ = false;
};

class http_session final : public session_base, public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, http_context& context, std::string remote_address,
               connection_slot slot)
      : stream_(std::move(socket)),
        context_(context),
        remote_address_(std::move(remote_address)),
        peer_ip_(peer_ip(remote_address_)),
        slot_(std::move(slot)) {}

  ~http_session() override {
    if (registry_id_ != 0) context_.registry.remove(registry_id_);
  }

  void start() {
    registry_id_ = context_.registry.add(weak_from_this());
    if (registry_id_ == 0) {
      close();
      return;
    }
    read(context_.service.request_deadline);
  }

  void request_close() override {
    asio::post(stream_.get_executor(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->close();
    });
  }
  void close_now() override { close(); }

 private:
  void read(std::chrono::milliseconds deadline) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(context_.service.max_header_bytes));
    parser_->body_limit(context_.service.max_body_bytes);
    // One deadline for the whole request (a peer trickling bytes does not extend it).
    stream_.expires_after(deadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (closed_) return;
    if (ec == http::error::header_limit) {
      count(context_, http_limit::header_size);
      return answer_error(431, "request header too large");
    }
    if (ec == http::error::body_limit) {
      count(context_, http_limit::body_size);
      return answer_error(413, "request body too large");
    }
    // A request that did not arrive in time (an idle kept-alive connection just ends).
    if (ec == beast::error::timeout && (parser_->got_some() || answered_ == 0)) {
      count(context_, http_limit::deadline);
    }
    if (ec) {  // the peer closed, the deadline passed, or the request was not HTTP
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::eof &&
          ec != asio::error::connection_reset) {
        return answer_error(400, "bad request: " + ec.message());
      }
      close();
      return;
    }
    http::request<http::string_body>& request = parser_->get();
    const std::string_view target = to_std(request.target());
    const std::string_view path = target.substr(0, target.find('?'));
    const service_check allowed = check(request, path);
    if (allowed == service_check::refused) {
      if (context_.log.enabled(broker::log_level::debug)) {
        context_.log.log(broker::log_level::debug,
                         "http: refused " + std::string(path) + " to " + remote_address_ +
                             ": only " + context_.service.only_peer + " may use this port");
      }
      return answer_error(403, "only Home Assistant's ingress proxy may use this port");
    }
    if (websocket::is_upgrade(request)) return upgrade(std::move(request), path);

    const http_request call{to_std(request.method_string()), target,
                            to_std(request[http::field::content_type]), request.body(),
                            to_std(request["X-Ingress-Path"])};
    http_response out;
    try {
      out = context_.service.handle ? context_.service.handle(call)
                                    : http_response{404, "text/plain", "not found\n"};
    } catch (const std::exception& e) {
      context_.log.log(broker::log_level::error, std::string("http: request for ") +
                                                     std::string(path) + " failed: " + e.what());
      out = {500, "text/plain", "internal error\n"};
    }
    answer(std::move(out), request.method() == http::verb::head, request.keep_alive());
  }

  enum class service_check { allowed, refused };

  service_check check(const http::request<http::string_body>& request, std::string_view path) {
    const std::string& only = context_.service.only_peer;
    if (only.empty() || peer_ip_ == only) return service_check::allowed;
    const auto& open = context_.service.open_paths;
    if (request.method() == http::verb::get && !websocket::is_upgrade(request) &&
        std::find(open.begin(), open.end(), path) != open.end()) {
      return service_check::allowed;
    }
    return service_check::refused;
  }

  void upgrade(http::request<http::string_body> request, std::string_view path) {
    if (path != context_.service.websocket_path) {
      return answer_error(404, "no WebSocket at this path");
    }
    std::optional<connection_slot> ws_slot =
        take_slot(context_.websockets, context_.service.max_websockets);
    if (!ws_slot) {
      count(context_, http_limit::websockets);
      return answer_error(503, "too many live-update connections; close another tab");
    }
    auto live = std::make_shared<live_socket>(std::move(stream_), context_, std::move(slot_),
                                              std::move(*ws_slot));
    // This session ends here without closing the socket, which the WebSocket now owns.
    closed_ = true;
    if (registry_id_ != 0) {
      context_.registry.remove(registry_id_);
      registry_id_ = 0;
    }
    live->start(std::move(request));
  }

  void answer_error(int status, const std::string& message) {
    answer({status, "text/plain; charset=utf-8", message + "\n"}, false, false);
  }

  void answer(http_response out, bool head, bool keep_alive) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(out.status));
    response_.set(http::field::server, server_name);
    response_.set(http::field::content_type, out.content_type);
    response_.set(http::field::cache_control, out.cacheable ? "no-cache" : "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    response_.set("Referrer-Policy", "no-referrer");
    if (out.content_type.starts_with("text/html")) {
      response_.set("Content-Security-Policy", content_security_policy);
    }
    response_.body() = std::move(out.body);
    response_.prepare_payload();
    if (head) response_.body().clear();  // Content-Length stays that of the GET answer
    response_.keep_alive(keep_alive && out.status < 400);
    stream_.expires_after(context_.service.request_deadline);
    http::async_write(stream_, response_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(error_code ec) {
    ++answered_;
    if (closed_) return;
    if (ec || !response_.keep_alive()) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      close();
      return;
    }
    read(context_.service.idle_deadline);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    stream_.close();  // the socket and the stream's deadline timer
    if (registry_id_ != 0) {
      context_.registry.remove(registry_id_);
      registry_id_ = 0;
    }
  }

  beast::tcp_stream stream_;
  http_context& context_;
  std::string remote_address_;
  std::string peer_ip_;
  connection_slot slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::uint64_t answered_ = 0;
  std::uint32_t registry_id_ = 0;
  bool closed_ = false;
};

}  // namespace

void serve_http(tcp::socket socket, http_context& context, std::string remote_address) {
  std::optional<connection_slot> slot =
      take_slot(context.connections, context.service.max_connections);
  if (!slot) {
    count(context, http_limit::connections);
    if (context.log.enabled(broker::log_level::debug)) {
      context.log.log(broker::log_level::debug,
                      "http: connection from " + remote_address + " refused: " +
                          std::to_string(context.service.max_connections) + " already open");
    }
    error_code ignored;
    socket.close(ignored);
    return;
  }
  std::make_shared<http_session>(std::move(socket), context, std::move(remote_address),
                                 std::move(*slot))
      ->start();
}

}  // namespace transport
