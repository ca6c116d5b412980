#include "transport/tcp_listener.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// After an accept failure such as EMFILE, wait before trying again rather than spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};
constexpr std::chrono::seconds accept_error_log_interval{10};

bool is_transient_peer_error(const error_code& ec) {
  // The client went away between the handshake and accept(): nothing is wrong with us.
  return ec == asio::error::connection_aborted || ec == asio::error::connection_reset;
}

}  // namespace

std::string endpoint_text(const tcp::endpoint& endpoint) {
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string port = std::to_string(endpoint.port());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + port;
  return address.to_string() + ":" + port;
}

tcp_listener::tcp_listener(io_pool& pool, std::string kind, broker::logger& log,
                           accept_handler on_accept)
    : pool_(pool),
      kind_(std::move(kind)),
      log_(log),
      on_accept_(std::move(on_accept)),
      acceptor_(pool.context(0)),
      retry_timer_(pool.context(0)) {}

std::optional<error_code> tcp_listener::open(const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    // "::" also takes IPv4 connections, as IPv4-mapped addresses.
    acceptor_.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    return ec;
  }
  return std::nullopt;
}

std::optional<std::string> tcp_listener::listen(const std::string& bind_address,
                                                std::uint16_t port) {
  tcp::endpoint endpoint;
  if (bind_address.empty()) {
    endpoint = tcp::endpoint(asio::ip::address_v6::any(), port);
    std::optional<error_code> ec = open(endpoint);
    // A host without IPv6 fails to open or bind "::" (but a port in use is a real error).
    if (ec && *ec != asio::error::address_in_use && *ec != asio::error::access_denied) {
      endpoint = tcp::endpoint(asio::ip::address_v4::any(), port);
      ec = open(endpoint);
    }
    if (ec) {
      return "cannot listen on port " + std::to_string(port) + " (" + kind_ +
             ", all addresses): " + ec->message();
    }
    return std::nullopt;
  }
  error_code parse_error;
  const asio::ip::address address = asio::ip::make_address(bind_address, parse_error);
  if (parse_error) return "--bind " + bind_address + ": not an IPv4 or IPv6 address";
  endpoint = tcp::endpoint(address, port);
  if (std::optional<error_code> ec = open(endpoint)) {
    return "cannot listen on port " + std::to_string(port) + " (" + kind_ + ", " +
           endpoint_text(endpoint) + "): " + ec->message();
  }
  return std::nullopt;
}

void tcp_listener::start() {
  error_code ec;
  const tcp::endpoint local = acceptor_.local_endpoint(ec);
  log_.log(broker::log_level::info, "listening: " + kind_ + " " + endpoint_text(local));
  accept();
}

void tcp_listener::stop() {
  stopped_ = true;
  error_code ignored;
  retry_timer_.cancel();
  acceptor_.close(ignored);
}

void tcp_listener::accept() {
  if (stopped_) return;
  const std::size_t index = pool_.next_index();
  acceptor_.async_accept(pool_.context(index),
                         [self = shared_from_this(), index](error_code ec, socket_type socket) {
                           if (self->stopped_ || ec == asio::error::operation_aborted) return;
                           if (ec) {
                             self->on_accept_error(ec);
                             return;
                           }
                           self->on_accept_(std::move(socket), index);
                           self->accept();
                         });
}

void tcp_listener::on_accept_error(error_code ec) {
  if (is_transient_peer_error(ec)) {
    accept();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!last_error_log_ || now - *last_error_log_ >= accept_error_log_interval) {
    std::string message =
        kind_ + " listener: cannot accept a connection: " + ec.message() + "; retrying";
    if (errors_not_logged_ > 0) {
      message += " (" + std::to_string(errors_not_logged_) + " more since the last report)";
    }
    log_.log(broker::log_level::warning, message);
    last_error_log_ = now;
    errors_not_logged_ = 0;
  } else {
    ++errors_not_logged_;
  }
  retry_timer_.expires_after(accept_retry_delay);
  retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
    if (!wait_ec) self->accept();
  });
}

}  // namespace transport
