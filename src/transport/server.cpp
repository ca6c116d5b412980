#include "transport/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <csignal>
#include <mutex>

#include "transport/http_server.hpp"
#include "transport/io_pool.hpp"
#include "transport/opening_connection.hpp"
#include "transport/session_registry.hpp"
#include "transport/stream_session.hpp"
#include "transport/tcp_listener.hpp"
#include "transport/tcp_stream.hpp"
#include "transport/tls_stream.hpp"
#include "transport/ws_stream.hpp"

namespace transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

enum class listener_kind { mqtt, ws, mqtts, wss, http };

std::optional<listener_kind> parse_kind(const std::string& kind) {
  if (kind == "mqtt") return listener_kind::mqtt;
  if (kind == "ws") return listener_kind::ws;
  if (kind == "mqtts") return listener_kind::mqtts;
  if (kind == "wss") return listener_kind::wss;
  if (kind == "ingress") return listener_kind::http;
  return std::nullopt;
}

// The largest MQTT packet fits in one WebSocket message, with room for the next packet's start
// (clients may pack several packets in one message).
constexpr std::size_t ws_message_slack = 64 * 1024;

}  // namespace

struct server::impl {
  impl(server_config config, broker::broker_core& core, broker::logger& log)
      : config_(std::move(config)),
        core_(core),
        log_(log),
        pool_(config_.threads, log),
        signals_(pool_.context(0), SIGINT, SIGTERM),
        tick_timer_(pool_.context(0)),
        opening_{core_, registry_, log_, config_.handshake_timeout} {
    ws_limits_.max_message_size = core_.config().max_packet_size + ws_message_slack;
  }

  std::optional<std::string> listen();
  void run(tick_function on_tick);
  void request_stop();
  void on_accept(listener_kind kind, const std::string& kind_name, tcp_listener::socket_type socket,
                 std::size_t context_index);
  void schedule_tick();
  void shut_down();

  server_config config_;
  broker::broker_core& core_;
  broker::logger& log_;
  // Before pool_: queued handlers that still hold sessions die with the pool, and a dying session
  // unregisters itself.
  session_registry registry_;
  std::unique_ptr<http_context> http_;  // when an http listener is configured; sessions use it
  io_pool pool_;
  asio::signal_set signals_;
  asio::steady_timer tick_timer_;
  std::vector<std::shared_ptr<tcp_listener>> listeners_;
  std::unique_ptr<tls_context_source> tls_;  // when a TLS listener is configured
  ws_limits ws_limits_;
  opening_context opening_;
  tick_function on_tick_;

  std::mutex mutex_;
  std::condition_variable stop_wanted_;
  bool stop_requested_ = false;
};

std::optional<std::string> server::impl::listen() {
  for (const listener_config& l : config_.listeners) {
    const std::optional<listener_kind> kind = parse_kind(l.kind);
    if (!kind) return "unknown listener kind " + l.kind;
    const bool needs_tls = *kind == listener_kind::mqtts || *kind == listener_kind::wss;
    if (needs_tls && !tls_) {
      if (!config_.tls) return "the " + l.kind + " listener needs a certificate and key";
      tls_ = std::make_unique<tls_context_source>(*config_.tls, log_, config_.tls_reload_check);
      if (std::optional<std::string> error = tls_->load()) return error;
    }
    if (*kind == listener_kind::http && !http_) {
      if (!config_.http) return "the ingress listener needs a service";
      http_ = std::make_unique<http_context>(*config_.http, registry_, log_);
    }
  }
  for (const listener_config& l : config_.listeners) {
    const listener_kind kind = *parse_kind(l.kind);
    auto listener = std::make_shared<tcp_listener>(
        pool_, l.kind, log_,
        [this, kind, name = l.kind](tcp_listener::socket_type socket, std::size_t index) {
          on_accept(kind, name, std::move(socket), index);
        });
    if (std::optional<std::string> error = listener->listen(config_.bind_address, l.port)) {
      return error;
    }
    listeners_.push_back(std::move(listener));
  }
  return std::nullopt;
}

// On context 0 (the acceptors'); the socket belongs to pool_.context(context_index).
void server::impl::on_accept(listener_kind kind, const std::string& kind_name,
                             tcp_listener::socket_type socket, std::size_t context_index) {
  error_code ec;
  // MQTT packets are small and latency matters more than filling segments.
  socket.set_option(tcp::no_delay(true), ec);
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // the client is already gone
  std::string address = endpoint_text(remote);
  if (log_.enabled(broker::log_level::debug)) {
    log_.log(broker::log_level::debug, "new " + kind_name + " connection from " + address);
  }
  if (kind == listener_kind::http) {
    asio::post(pool_.context(context_index),
               [this, socket = std::move(socket), address = std::move(address)]() mutable {
                 serve_http(std::move(socket), *http_, std::move(address));
               });
    return;
  }
  broker::limit_counters& limits = core_.limits();
  // MQTT connections only (the ingress port has its own bounds). Accepts run on context 0 only,
  // so nothing else takes a slot between this check and the slot below (slots are given back
  // from any thread, which only makes room).
  if (limits.connections_open.load(std::memory_order_relaxed) >= core_.config().max_connections) {
    broker::limit_counters::add(limits.connections_refused);
    const bool first =
        core_.episodes().connections_refused.begins(std::chrono::steady_clock::now());
    if (first) {
      core_.events().add(broker::event_kind::limit, "",
                         "connection from " + address +
                             " refused: " + std::to_string(core_.config().max_connections) +
                             " connections are open (max_connections)");
    }
    const broker::log_level level = first ? broker::log_level::info : broker::log_level::debug;
    if (log_.enabled(level)) {
      log_.log(level, "connection from " + address +
                          " refused: " + std::to_string(core_.config().max_connections) +
                          " connections are open (max_connections)" +
                          (first ? "; further refusals are counted in "
                                   "$SYS/broker/limits/connections/refused"
                                 : ""));
    }
    socket.close(ec);
    return;
  }
  connection_slot slot(limits.connections_open);
  if (kind == listener_kind::mqtt) {
    auto session = std::make_shared<stream_session<tcp_stream>>(
        tcp_stream(std::move(socket), pool_.home(context_index)), core_, registry_,
        std::move(address), kind_name, std::move(slot));
    asio::post(pool_.context(context_index), [session] { session->start(); });
    return;
  }
  std::shared_ptr<byte_stream> stream;
  switch (kind) {
    case listener_kind::ws:
      stream = make_ws_stream(std::move(socket), ws_limits_);
      break;
    case listener_kind::mqtts:
      stream = make_tls_stream(std::move(socket), tls_->current(std::chrono::steady_clock::now()));
      break;
    case listener_kind::wss:
      stream = make_wss_stream(std::move(socket), tls_->current(std::chrono::steady_clock::now()),
                               ws_limits_);
      break;
    case listener_kind::mqtt:
    case listener_kind::http:
      return;
  }
  asio::post(pool_.context(context_index), [this, stream = std::move(stream), kind_name,
                                            address = std::move(address),
                                            slot = std::move(slot)]() mutable {
    open_then_serve(std::move(stream), opening_, kind_name, std::move(address), std::move(slot));
  });
}

void server::impl::schedule_tick() {
  tick_timer_.expires_after(config_.tick_interval);
  tick_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    if (on_tick_) {
      try {
        on_tick_(std::chrono::steady_clock::now());
      } catch (const std::exception& e) {
        log_.log(broker::log_level::error, std::string("periodic tick failed: ") + e.what());
      }
    }
    schedule_tick();
  });
}

void server::impl::request_stop() {
  std::lock_guard lock(mutex_);
  stop_requested_ = true;
  stop_wanted_.notify_all();
}

void server::impl::run(tick_function on_tick) {
  on_tick_ = std::move(on_tick);
  signals_.async_wait([this](error_code ec, int signal) {
    if (ec) return;
    log_.log(
        broker::log_level::info,
        std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ": shutting down");
    request_stop();
  });
  schedule_tick();
  for (auto& listener : listeners_) listener->start();
  pool_.start();
  {
    std::unique_lock lock(mutex_);
    stop_wanted_.wait(lock, [this] { return stop_requested_; });
  }
  shut_down();
}

void server::impl::shut_down() {
  // The listeners, the tick timer and the signal set belong to context 0: touch them there.
  asio::post(pool_.context(0), [this] {
    error_code ignored;
    for (auto& listener : listeners_) listener->stop();
    tick_timer_.cancel();
    signals_.cancel(ignored);
    registry_.close_all();
  });
  pool_.release();
  if (!pool_.wait_idle(config_.shutdown_limit)) {
    log_.log(broker::log_level::warning, "shutdown: " + std::to_string(registry_.size()) +
                                             " connections did not close within " +
                                             std::to_string(config_.shutdown_limit.count()) +
                                             " ms; closing them now");
    pool_.stop();
  }
  pool_.join();
  registry_.close_all_now();  // only those abandoned above; no I/O thread runs any more
  pool_.drain();
}

server::server(server_config config, broker::broker_core& core, broker::logger& log)
    : impl_(std::make_unique<impl>(std::move(config), core, log)) {}

server::~server() = default;

std::optional<std::string> server::listen() {
  return impl_->listen();
}

void server::run(tick_function on_tick) {
  impl_->run(std::move(on_tick));
}

void server::stop() {
  impl_->request_stop();
}

}  // namespace transport
