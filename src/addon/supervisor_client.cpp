#include "addon/supervisor_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <thread>

namespace addon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// The Supervisor's answers are small JSON documents.
constexpr std::uint32_t max_response_body = 64 * 1024;

struct pending_request {
  supervisor_request request;
  std::function<void(supervisor_response)> done;
  // The request's deadline counts from when it was asked for, not from when a free slot let it
  // start: a login waiting behind stuck requests is still answered (refused) in time.
  std::chrono::steady_clock::time_point due{};
};

}  // namespace

struct supervisor_client::impl {
  impl(supervisor_endpoint ep, std::string tok, broker::logger& l, supervisor_client_limits lim)
      : work(asio::make_work_guard(io)),
        endpoint(std::move(ep)),
        token(std::move(tok)),
        log(l),
        limits(lim) {}

  void run_thread();
  void start_or_queue(pending_request p);
  void start(pending_request p);
  void exchange_finished();

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  const supervisor_endpoint endpoint;
  const std::string token;
  broker::logger& log;
  const supervisor_client_limits limits;
  std::atomic<bool> stopped{false};
  std::thread thread;
  // Only touched on the client's thread.
  std::size_t in_flight = 0;
  std::deque<pending_request> waiting;
};

namespace {

// One request on its own connection: resolve, connect, write, read, close; a timer bounds it all.
class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(supervisor_client::impl& owner, pending_request p)
      : owner_(owner),
        pending_(std::move(p)),
        resolver_(owner.io),
        stream_(owner.io),
        deadline_(owner.io) {}

  // What a request past its deadline fails with.
  std::string no_answer() const {
    return "no answer within " + std::to_string(pending_.request.deadline.count()) + " ms";
  }

  void run() {
    if (std::chrono::steady_clock::now() >= pending_.due) {
      // Its whole deadline went waiting for a free slot: no request is sent.
      return fail(no_answer() + " (waited for a free connection)");
    }
    const supervisor_endpoint& ep = owner_.endpoint;
    const supervisor_request& r = pending_.request;
    req_.method(http::string_to_verb(r.method));
    req_.target(ep.path_prefix + r.path);
    req_.version(11);
    req_.set(http::field::host, ep.host_header);
    req_.set(http::field::user_agent, "mqtt-broker/" MQTT_BROKER_VERSION);
    req_.set("X-Supervisor-Token", owner_.token);
    // Exactly this: the Supervisor's /auth compares the header as is (CONTRACT.md).
    req_.set(http::field::content_type, "application/json");
    req_.keep_alive(false);
    req_.body() = r.body;
    req_.prepare_payload();
    parser_.body_limit(max_response_body);

    auto self = shared_from_this();
    deadline_.expires_at(pending_.due);
    deadline_.async_wait([self](error_code ec) {
      if (!ec) {
        self->fail(self->no_answer());
      }
    });
    resolver_.async_resolve(ep.host, std::to_string(ep.port),
                            [self](error_code ec, tcp::resolver::results_type results) {
                              self->on_resolved(ec, std::move(results));
                            });
  }

 private:
  void on_resolved(error_code ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec) return fail("cannot resolve " + owner_.endpoint.host + ": " + ec.message());
    auto self = shared_from_this();
    stream_.async_connect(
        results, [self](error_code ec2, const tcp::endpoint&) { self->on_connected(ec2); });
  }

  void on_connected(error_code ec) {
    if (finished_) return;
    if (ec) return fail("cannot connect: " + ec.message());
    auto self = shared_from_this();
    http::async_write(stream_, req_,
                      [self](error_code ec2, std::size_t) { self->on_written(ec2); });
  }

  void on_written(error_code ec) {
    if (finished_) return;
    if (ec) return fail("sending the request: " + ec.message());
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, parser_,
                     [self](error_code ec2, std::size_t) { self->on_read(ec2); });
  }

  void on_read(error_code ec) {
    if (finished_) return;
    if (ec) return fail("reading the answer: " + ec.message());
    supervisor_response response;
    response.status = static_cast<int>(parser_.get().result_int());
    response.body = std::move(parser_.get().body());
    finish(std::move(response));
  }

  void fail(std::string what) {
    supervisor_response response;
    response.error = std::move(what);
    finish(std::move(response));
  }

  void finish(supervisor_response response) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    auto done = std::move(pending_.done);
    owner_.exchange_finished();
    if (!owner_.stopped.load()) done(std::move(response));
  }

  supervisor_client::impl& owner_;
  pending_request pending_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool finished_ = false;
};

}  // namespace

void supervisor_client::impl::run_thread() {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      // A callback threw: log it and keep serving the others.
      log.log(broker::log_level::error, std::string("Supervisor client: ") + e.what());
    }
  }
}

void supervisor_client::impl::start_or_queue(pending_request p) {
  p.due = std::chrono::steady_clock::now() + p.request.deadline;
  if (in_flight < limits.max_in_flight) {
    start(std::move(p));
    return;
  }
  if (waiting.size() < limits.max_waiting) {
    waiting.push_back(std::move(p));
    return;
  }
  supervisor_response response;
  response.error =
      "too many requests waiting for the Supervisor (" + std::to_string(limits.max_waiting) + ")";
  p.done(std::move(response));
}

void supervisor_client::impl::start(pending_request p) {
  ++in_flight;
  std::make_shared<exchange>(*this, std::move(p))->run();
}

void supervisor_client::impl::exchange_finished() {
  --in_flight;
  if (!waiting.empty() && !stopped.load()) {
    pending_request next = std::move(waiting.front());
    waiting.pop_front();
    // Started from a fresh handler, so a caller's `done` never runs inside another's.
    asio::post(io, [this, next = std::move(next)]() mutable { start(std::move(next)); });
  }
}

supervisor_client::supervisor_client(supervisor_endpoint endpoint, std::string token,
                                     broker::logger& log, supervisor_client_limits limits)
    : impl_(std::make_unique<impl>(std::move(endpoint), std::move(token), log, limits)) {
  impl_->thread = std::thread([this] { impl_->run_thread(); });
}

supervisor_client::~supervisor_client() {
  stop();
}

void supervisor_client::send(supervisor_request request,
                             std::function<void(supervisor_response)> done) {
  if (impl_->stopped.load()) {
    supervisor_response response;
    response.error = "the Supervisor client has stopped";
    done(std::move(response));
    return;
  }
  asio::post(impl_->io,
             [i = impl_.get(), p = pending_request{std::move(request), std::move(done)}]() mutable {
               i->start_or_queue(std::move(p));
             });
}

void supervisor_client::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (impl_->stopped.load()) return;
  asio::post(impl_->io, [i = impl_.get(), delay, fn = std::move(fn)]() mutable {
    auto timer = std::make_shared<asio::steady_timer>(i->io, delay);
    timer->async_wait([timer, fn = std::move(fn)](error_code ec) {
      if (!ec) fn();
    });
  });
}

void supervisor_client::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const supervisor_endpoint& supervisor_client::endpoint() const {
  return impl_->endpoint;
}

}  // namespace addon
