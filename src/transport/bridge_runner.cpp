#include "transport/bridge_runner.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "bridge/bridge_engine.hpp"
#include "transport/bridge_stream.hpp"

namespace transport {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using bridge::bridge_state;

namespace {

// Resolving, connecting and the TLS handshake together must finish within this.
constexpr std::chrono::seconds connect_timeout{10};
// A closing connection gets this long to flush its last bytes (DISCONNECT) to the remote.
constexpr std::chrono::seconds linger_limit{5};
// Reading from the remote pauses while this much waits to be written to it.
constexpr std::size_t max_pending_write = 4 * 1024 * 1024;

class bridge_link final : public broker::transport_link,
                          public std::enable_shared_from_this<bridge_link> {
 public:
  using clock = std::chrono::steady_clock;

  bridge_link(bridge::bridge_settings settings, broker::broker_core& core, broker::logger& log,
              asio::io_context& context)
      : settings_(std::move(settings)),
        core_(core),
        log_(log),
        context_(context),
        resolver_(context),
        step_timer_(context),
        engine_timer_(context),
        engine_(settings_, core, *this),
        use_private_(settings_.try_private),
        random_(std::random_device{}()) {
    status_.name = settings_.name;
    status_.since = std::chrono::system_clock::now();
  }

  // --- transport_link, for the local connection: any thread ---
  void wake() override {
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(context_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->wake_pending_.store(false, std::memory_order_release);
        self->engine_.on_local_wake();
        self->after_event();
      }
    });
  }
  void post(std::function<void()> fn) override {
    asio::post(context_, [weak = weak_from_this(), fn = std::move(fn)] {
      if (auto self = weak.lock()) {
        fn();
        self->engine_.on_local_wake();
        self->after_event();
      }
    });
  }
  bool internal() const override { return true; }
  std::shared_ptr<void> lifetime() override { return engine_.local_lifetime(); }

  // --- on the bridges' thread ---
  void start() {
    engine_.start();
    if (settings_.tls.enabled()) {
      std::string error;
      tls_context_ = make_bridge_tls_context(settings_.tls, error);
      if (!tls_context_) {
        log(broker::log_level::error, error + "; the bridge is not started");
        set_state(bridge_state::stopped, error);
        return;
      }
    }
    attempt();
  }

  void stop() {
    stopping_ = true;
    step_timer_.cancel();
    if (engine_.current_phase() == bridge::bridge_engine::phase::connected && stream_) {
      engine_.shut_down();  // notification 0 and DISCONNECT, then the connection closes
      after_event();
      return;
    }
    end_connection("the broker is stopping");
  }

  bridge::bridge_status status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
  }

 private:
  void log(broker::log_level level, const std::string& text) {
    log_.log(level, "bridge " + settings_.name + ": " + text);
  }

  const bridge::remote_address& address() const { return settings_.addresses[index_]; }

  void set_state(bridge_state state, std::string error = {}) {
    bool changed = false;
    {
      std::lock_guard lock(status_mutex_);
      if (status_.state != state) {
        status_.state = state;
        status_.since = std::chrono::system_clock::now();
        changed = true;
      }
      status_.address = address().text();
      if (!error.empty()) status_.last_error = std::move(error);
      if (state == bridge_state::connected && changed) ++status_.connections;
    }
    // $SYS/broker/bridges/<name>/state: connecting, connected, waiting or stopped.
    if (changed) {
      core_.publish_sys_entry("$SYS/broker/bridges/" + settings_.name + "/state",
                              bridge::name_of(state));
    }
  }

  void update_counters() {
    const bridge::bridge_counters& c = engine_.counters();
    std::lock_guard lock(status_mutex_);
    status_.messages_received = c.received;
    status_.messages_sent = c.sent;
    status_.messages_unmapped = c.unmapped;
    status_.messages_too_large = c.too_large;
  }

  void attempt() {
    if (stopping_) return;
    in_attempt_ = true;
    set_state(bridge_state::connecting);
    const std::uint64_t generation = ++generation_;
    step_timer_.expires_after(connect_timeout);
    step_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->generation_) return;
      self->end_connection("no connection within " + std::to_string(connect_timeout.count()) +
                           " s");
    });
    resolver_.async_resolve(
        address().host, std::to_string(address().port),
        [self = shared_from_this(), generation](error_code ec, tcp::resolver::results_type r) {
          if (generation != self->generation_) return;
          if (ec)
            return self->end_connection("cannot resolve " + self->address().host + ": " +
                                        ec.message());
          self->connect(std::move(r), generation);
        });
  }

  void connect(tcp::resolver::results_type endpoints, std::uint64_t generation) {
    socket_.emplace(context_);
    asio::async_connect(
        *socket_, endpoints,
        [self = shared_from_this(), generation](error_code ec, const tcp::endpoint&) {
          if (generation != self->generation_) return;
          if (ec) return self->end_connection(ec.message());
          error_code ignored;
          self->socket_->set_option(tcp::no_delay(true), ignored);
          self->stream_ = make_bridge_stream(std::move(*self->socket_), self->tls_context_,
                                             self->address().host, !self->settings_.tls.insecure);
          self->socket_.reset();
          self->stream_->async_open([self, generation](const std::string& error, bool) {
            if (generation != self->generation_) return;
            if (!error.empty()) return self->end_connection(error);
            self->on_open();
          });
        });
  }

  void on_open() {
    step_timer_.cancel();
    engine_.on_remote_open(clock::now(), use_private_);
    read();
    after_event();
  }

  void read() {
    if (!stream_) return;
    reading_ = true;
    stream_->async_read([self = shared_from_this(), generation = generation_](
                            error_code ec, std::span<const std::uint8_t> bytes) {
      if (generation != self->generation_) return;
      self->reading_ = false;
      if (ec) {
        return self->end_connection(ec == asio::error::eof ? "the remote closed the connection"
                                                           : ec.message());
      }
      self->engine_.on_remote_bytes(bytes, clock::now());
      self->after_event();
      if (generation == self->generation_ && self->write_buffer_.size() <= max_pending_write) {
        self->read();
      }
    });
  }

  // After anything that may have given the engine output, a close decision or a new deadline.
  void after_event() {
    update_counters();
    if (!stream_) return;
    if (engine_.current_phase() == bridge::bridge_engine::phase::connected) {
      set_state(bridge_state::connected);
      backoff_ = std::chrono::seconds(0);
      tried_ = 0;
    }
    flush();
    if (!stream_) return;
    if (engine_.should_close()) {
      if (!writing_) return end_connection(engine_.close_reason());
      if (!lingering_) {
        lingering_ = true;
        const std::uint64_t generation = generation_;
        step_timer_.expires_after(linger_limit);
        step_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
          if (ec || generation != self->generation_) return;
          self->end_connection(self->engine_.close_reason());
        });
      }
      return;
    }
    arm_engine_timer();
  }

  void flush() {
    if (writing_) return;
    write_buffer_.clear();
    engine_.take_remote_output(write_buffer_);
    if (write_buffer_.empty()) return;
    writing_ = true;
    write_view_[0] = asio::const_buffer(write_buffer_.data(), write_buffer_.size());
    stream_->async_write(write_view_, [self = shared_from_this(), generation = generation_](
                                          error_code ec, std::size_t) {
      if (generation != self->generation_) return;
      self->writing_ = false;
      if (ec) return self->end_connection("write failed: " + ec.message());
      self->engine_.on_local_wake();  // room again: local messages may follow
      self->after_event();
      if (!self->reading_ && self->stream_ && !self->engine_.should_close()) self->read();
    });
  }

  void arm_engine_timer() {
    const clock::time_point due = engine_.deadline();
    if (due == clock::time_point::max()) {
      engine_timer_.cancel();
      return;
    }
    engine_timer_.expires_at(due);
    engine_timer_.async_wait([self = shared_from_this(), generation = generation_](error_code ec) {
      if (ec || generation != self->generation_) return;
      self->engine_.on_timer(clock::now());
      self->after_event();
    });
  }

  // The attempt or the connection is over, for `reason`: clean up, then decide what is next.
  void end_connection(const std::string& reason) {
    ++generation_;
    step_timer_.cancel();
    engine_timer_.cancel();
    resolver_.cancel();
    if (socket_) {
      error_code ignored;
      socket_->close(ignored);
      socket_.reset();
    }
    if (stream_) {
      stream_->close();
      stream_.reset();
    }
    writing_ = false;
    reading_ = false;
    lingering_ = false;
    const bool was_connected = connected_once_now();
    const bool refused_protocol = engine_.refused_protocol();
    engine_.on_remote_closed();  // ends the local side too
    update_counters();
    const bool was_attempting = in_attempt_;
    in_attempt_ = false;
    if (was_attempting) {
      if (was_connected) {
        log(broker::log_level::info, "disconnected from " + address().text() + ": " + reason);
      } else {
        log(broker::log_level::warning, "cannot connect to " + address().text() + ": " + reason);
      }
    }
    if (stopping_) {
      set_state(bridge_state::stopped, was_attempting ? reason : std::string());
      return;
    }
    if (settings_.start == bridge::start_type::once && was_connected) {
      log(broker::log_level::info, "start_type once: not connecting again");
      set_state(bridge_state::stopped, reason);
      return;
    }
    if (refused_protocol && use_private_) {
      // Not every broker knows Mosquitto's bridge marker: try the plain protocol level.
      use_private_ = false;
      log(broker::log_level::notice,
          "the remote refused try_private (Mosquitto's bridge marker); trying again without it");
      asio::post(context_, [self = shared_from_this()] { self->attempt(); });
      return;
    }
    const std::size_t n = settings_.addresses.size();
    if (!was_connected && ++tried_ < n) {
      // Fail-over: the next address at once.
      index_ = (index_ + 1) % n;
      set_state(bridge_state::connecting, reason);
      asio::post(context_, [self = shared_from_this()] { self->attempt(); });
      return;
    }
    tried_ = 0;
    // round_robin false: the first address is the main one and is tried first again.
    index_ = settings_.round_robin ? (index_ + 1) % n : 0;
    const std::chrono::seconds wait = next_wait(was_connected);
    log(broker::log_level::info, "reconnect in " + std::to_string(wait.count()) + " s");
    {
      std::lock_guard lock(status_mutex_);
      status_.retry_in = wait;
    }
    set_state(bridge_state::waiting, reason);
    const std::uint64_t generation = generation_;
    step_timer_.expires_after(wait);
    step_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->generation_) return;
      self->attempt();
    });
  }

  bool connected_once_now() const {
    std::lock_guard lock(status_mutex_);
    return status_.state == bridge_state::connected;
  }

  // restart_timeout <base> <cap>: Mosquitto's jittered backoff, a random wait between base and
  // three times the last one, at most cap; after a connection that worked, base again.
  // restart_timeout <n>: always n.
  std::chrono::seconds next_wait(bool was_connected) {
    const std::chrono::seconds base = settings_.restart_base;
    if (!settings_.restart_cap || was_connected || backoff_.count() == 0) {
      backoff_ = base;
      return base;
    }
    const auto high = std::min(settings_.restart_cap->count(), backoff_.count() * 3);
    std::uniform_int_distribution<long long> pick(base.count(), std::max(high, base.count()));
    backoff_ = std::chrono::seconds(pick(random_));
    return backoff_;
  }

  bridge::bridge_settings settings_;
  broker::broker_core& core_;
  broker::logger& log_;
  asio::io_context& context_;
  tcp::resolver resolver_;
  asio::steady_timer step_timer_;    // connect deadline, linger, or the wait before a retry
  asio::steady_timer engine_timer_;  // the engine's deadline
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<tcp::socket> socket_;  // while connecting
  std::shared_ptr<byte_stream> stream_;
  std::string write_buffer_;
  asio::const_buffer write_view_[1];
  bool writing_ = false;
  bool reading_ = false;
  bool lingering_ = false;
  bool in_attempt_ = false;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // bumped when an attempt ends: late completions are ignored
  std::size_t index_ = 0;         // the address in use
  std::size_t tried_ = 0;         // addresses that failed in this round
  std::chrono::seconds backoff_{0};
  std::atomic<bool> wake_pending_{false};
  mutable std::mutex status_mutex_;
  bridge::bridge_status status_;
  bridge::bridge_engine engine_;  // after settings_: it holds a reference to them
  bool use_private_;
  std::mt19937 random_;
};

}  // namespace

struct bridge_runner::impl {
  impl(std::vector<bridge::bridge_settings> bridges, broker::broker_core& c, broker::logger& l)
      : core(c), log(l) {
    for (auto& b : bridges) {
      links.push_back(std::make_shared<bridge_link>(std::move(b), core, log, context));
    }
  }

  broker::broker_core& core;
  broker::logger& log;
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::shared_ptr<bridge_link>> links;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  bool stopped = false;
};

bridge_runner::bridge_runner(std::vector<bridge::bridge_settings> bridges,
                             broker::broker_core& core, broker::logger& log)
    : impl_(std::make_unique<impl>(std::move(bridges), core, log)) {}

bridge_runner::~bridge_runner() {
  stop(std::chrono::milliseconds(2000));
}

void bridge_runner::start() {
  if (impl_->links.empty() || impl_->thread.joinable()) return;
  impl_->work.emplace(asio::make_work_guard(impl_->context));
  for (auto& link : impl_->links) {
    asio::post(impl_->context, [link] { link->start(); });
  }
  impl_->thread = std::thread([i = impl_.get()] {
    while (true) {
      try {
        i->context.run();
        break;
      } catch (const std::exception& e) {
        i->log.log(broker::log_level::error, std::string("bridges: unexpected error: ") + e.what());
      }
    }
    std::lock_guard lock(i->mutex);
    i->finished = true;
    i->finished_cv.notify_all();
  });
}

void bridge_runner::stop(std::chrono::milliseconds limit) {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->thread.joinable()) return;
  for (auto& link : impl_->links) {
    asio::post(impl_->context, [link] { link->stop(); });
  }
  impl_->work.reset();
  {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->finished_cv.wait_for(lock, limit, [this] { return impl_->finished; })) {
      impl_->log.log(broker::log_level::warning,
                     "bridges: not all stopped within " + std::to_string(limit.count()) + " ms");
      impl_->context.stop();
    }
  }
  impl_->thread.join();
}

std::vector<bridge::bridge_status> bridge_runner::status() const {
  std::vector<bridge::bridge_status> out;
  out.reserve(impl_->links.size());
  for (const auto& link : impl_->links) out.push_back(link->status());
  return out;
}

}  // namespace transport
