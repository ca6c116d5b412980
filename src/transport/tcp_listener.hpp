#pragma once
// Accepts TCP connections on one address and port and hands each socket, already bound to the
// next io_context of the pool, to the listener's kind: plain MQTT uses it as is; TLS and WebSocket
// wrap it in their own stream (byte_stream.hpp).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "broker/logger.hpp"
#include "transport/io_pool.hpp"
#include "transport/tcp_stream.hpp"

namespace transport {

// "1.2.3.4:1883", "[::1]:1883"; an IPv4-mapped IPv6 address is shown as IPv4.
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
 public:
  // Bound to pool.context(context_index)'s own executor, as Asio accepts it onto that context:
  // the socket tcp_stream takes as it is (it converts to ip::tcp::socket without a system call).
  using socket_type = tcp_stream::socket_type;
  using accept_handler = std::function<void(socket_type socket, std::size_t context_index)>;

  // The acceptor lives on pool.context(0). `kind` names the listener in logs: mqtt, ws, ...
  tcp_listener(io_pool& pool, std::string kind, broker::logger& log, accept_handler on_accept);

  // Binds and listens. An empty `bind_address` means every IPv4 and IPv6 address (IPv4 only
  // when the host has no IPv6). Returns a one-line error naming the port, e.g. when it is in use.
  std::optional<std::string> listen(const std::string& bind_address, std::uint16_t port);
  // Logs "listening: <kind> <address>:<port>" and starts accepting.
  void start();
  // On context 0: stops accepting and closes the listening socket.
  void stop();

 private:
  std::optional<boost::system::error_code> open(const boost::asio::ip::tcp::endpoint& endpoint);
  void accept();
  void on_accept_error(boost::system::error_code ec);

  io_pool& pool_;
  std::string kind_;
  broker::logger& log_;
  accept_handler on_accept_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  bool stopped_ = false;

  // Accept failures (out of descriptors) can repeat thousands of times a second: log the first,
  // then at most one summary per interval.
  std::optional<std::chrono::steady_clock::time_point> last_error_log_;
  std::uint64_t errors_not_logged_ = 0;
};

}  // namespace transport
