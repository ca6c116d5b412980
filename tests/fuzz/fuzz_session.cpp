// libFuzzer target: the Sans-I/O connection state machine with the broker core behind it, driven
// as a transport drives it. Up to four connections share one core, so takeovers, wills, retained
// messages, persistent sessions and QoS flows between clients are all reachable. The input is a
// script (session_script.hpp); make_fuzz_corpus writes valid sessions to start from.
//
// Checked on every input, beyond "no crash, no sanitizer report, no leak":
// - every byte the broker writes to a client decodes as MQTT packets of the client's version;
// - once the socket is closed, nothing more is written;
// - after every connection has closed, no client counts as connected.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker_core.hpp"
#include "broker/connection.hpp"
#include "mqtt/packet_reader.hpp"
#include "session_script.hpp"

namespace {

using namespace fuzz::session_script;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_packet_size = 2048;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_session: %s\n", what);
  std::abort();
}

class null_buffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

class fuzz_authenticator : public broker::authenticator {
 public:
  explicit fuzz_authenticator(bool deferred) : deferred_(deferred) {}
  void authenticate(const broker::credentials& who,
                    std::function<void(broker::auth_result)> done) override {
    const broker::auth_result verdict = judge(who);
    if (deferred_ && who.username && *who.username != user) {
      pending_.push_back([done = std::move(done), verdict] { done(verdict); });
      return;
    }
    done(verdict);
  }
  void answer() {
    auto fns = std::move(pending_);
    pending_.clear();
    for (auto& fn : fns) fn();
  }

 private:
  static broker::auth_result judge(const broker::credentials& who) {
    if (!who.username) return broker::auth_result::not_authorized;
    if (*who.username == user && who.password == std::string(password)) {
      return broker::auth_result::accepted;
    }
    if (who.username->starts_with("hub")) return broker::auth_result::unavailable;
    return broker::auth_result::bad_credentials;
  }
  bool deferred_;
  std::vector<std::function<void()>> pending_;
};

// Topics under "private" are neither writable nor readable; subscribing to a filter that starts
// with it is refused.
class fuzz_authorizer : public broker::authorizer {
 public:
  bool can_publish(const broker::client_identity&, std::string_view topic) const override {
    return !topic.starts_with("private");
  }
  bool can_subscribe(const broker::client_identity&, std::string_view filter) const override {
    return !filter.starts_with("private");
  }
  bool can_receive(const broker::client_identity&, std::string_view topic) const override {
    return !topic.starts_with("private");
  }
};

// Accepts every change; durability is reported when the script says so.
class fuzz_persistence : public broker::persistence {
 public:
  void retained_stored(const broker::message_ptr&) override {}
  void retained_erased(std::string_view) override {}
  void session_stored(std::string_view, std::string_view) override {}
  void session_erased(std::string_view) override {}
  void session_expiry_stored(std::string_view, std::uint32_t,
                             std::optional<std::chrono::system_clock::time_point>) override {}
  void subscription_stored(std::string_view, const mqtt::subscription&) override {}
  void subscription_erased(std::string_view, std::string_view) override {}
  void delivery_stored(std::string_view, const broker::stored_delivery&) override {}
  void delivery_erased(std::string_view, std::uint64_t) override {}
  void incoming_qos2_stored(std::string_view, std::uint16_t) override {}
  void incoming_qos2_erased(std::string_view, std::uint16_t) override {}
  void when_durable(std::function<void()> fn) override { waiting_.push_back(std::move(fn)); }
  void durable() {
    auto fns = std::move(waiting_);
    waiting_.clear();
    for (auto& fn : fns) fn();
  }

 private:
  std::vector<std::function<void()>> waiting_;
};

// One socket: the transport_link the connection talks to, and the client's view of the bytes.
class fuzz_socket : public broker::transport_link {
 public:
  fuzz_socket(broker::broker_core& core, int index)
      : conn_(std::make_shared<broker::connection>(core, *this,
                                                   "127.0.0.1:" + std::to_string(50000 + index))),
        sent_(max_packet_size),
        received_(16 * 1024 * 1024) {}
  ~fuzz_socket() override { close(); }

  void wake() override {}
  std::shared_ptr<void> lifetime() override { return conn_; }
  void post(std::function<void()> fn) override {
    // As the real transport does: work posted to a closed socket is dropped.
    if (!closed_) posted_.push_back(std::move(fn));
  }

  bool closed() const { return closed_; }

  void send(std::span<const std::uint8_t> bytes) {
    if (closed_) return;
    conn_->on_bytes(bytes);
    // The client's version: the first CONNECT it sent decides how the broker's answers are laid
    // out.
    sent_.feed(bytes);
    while (!version_known_) {
      auto r = sent_.next();
      if (r.state != mqtt::packet_reader::status::packet) break;
      if (std::holds_alternative<mqtt::connect_packet>(r.pkt)) {
        received_.set_version(std::get<mqtt::connect_packet>(r.pkt).version);
      }
      version_known_ = true;
    }
    take();
  }

  // The transport writes what is queued; once should_close() and flushed, it closes.
  void take() {
    if (closed_) return;
    broker::output_batch out;
    conn_->take_output(out);
    for (const auto& seg : out.segments()) {
      const auto view = out.view(seg);
      received_.feed(std::span(reinterpret_cast<const std::uint8_t*>(view.data()), view.size()));
    }
    while (true) {
      auto r = received_.next();
      if (r.state == mqtt::packet_reader::status::need_more) break;
      if (r.state == mqtt::packet_reader::status::error) {
        std::fprintf(stderr, "broker wrote an undecodable packet: %s\n", mqtt::describe(r.error));
        fail("broker output does not decode");
      }
    }
    if (conn_->should_close()) close();
  }

  void close() {
    if (closed_) return;
    conn_->on_closed();
    closed_ = true;
    posted_.clear();
    // Closed means closed: nothing is written after on_closed().
    broker::output_batch out;
    conn_->take_output(out);
    if (!out.empty()) fail("output after on_closed()");
  }

  void timer(clock_type::time_point now) {
    if (closed_) return;
    conn_->on_timer(now);
    take();
  }

  // The executor runs what was posted.
  bool run() {
    if (posted_.empty()) return false;
    auto fns = std::move(posted_);
    posted_.clear();
    for (auto& fn : fns) fn();
    take();
    return true;
  }

 private:
  std::shared_ptr<broker::connection> conn_;
  std::vector<std::function<void()>> posted_;
  bool closed_ = false;
  mqtt::packet_reader sent_;
  bool version_known_ = false;
  mqtt::packet_reader received_;
};

class script_reader {
 public:
  script_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    n = std::min(n, size_ - at_);
    std::span<const std::uint8_t> out(data_ + at_, n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  script_reader script(data, size);
  const std::uint8_t setup = script.byte();

  null_buffer sink;
  std::ostream log_out(&sink);
  broker::logger log(broker::log_level::trace, log_out);
  fuzz_authenticator auth((setup & deferred_auth) != 0);
  fuzz_authorizer acl;
  fuzz_persistence store;

  broker::broker_config config;
  // Small limits, so that inputs of a few kilobytes reach every one of them.
  config.max_packet_size = max_packet_size;
  config.max_inflight = 2;
  config.max_queued_messages = 4;
  config.max_queued_bytes = 256;
  config.max_incoming_qos2 = 3;
  config.strict_durability = (setup & strict_durability) != 0;
  const bool persistent = (setup & persistence) != 0 || config.strict_durability;

  {
    broker::broker_core core(config, auth, log, (setup & access_control) ? &acl : nullptr,
                             persistent ? &store : nullptr);
    std::unique_ptr<fuzz_socket> sockets[max_connections];
    int opened = 0;
    const auto start = clock_type::now();

    for (int steps = 0; !script.done() && steps < 512; ++steps) {
      const std::uint8_t b = script.byte();
      const int i = (b >> 4) % max_connections;
      auto& socket = sockets[i];
      switch (static_cast<op>(b & 0x0F)) {
        case op::send: {
          std::size_t n = script.byte();
          n |= static_cast<std::size_t>(script.byte()) << 8;
          const auto bytes = script.bytes(n);
          if (!socket || socket->closed()) {
            socket.reset();  // the old socket's connection is destroyed before a new one opens
            socket = std::make_unique<fuzz_socket>(core, opened++);
          }
          socket->send(bytes);
          break;
        }
        case op::take:
          if (socket) socket->take();
          break;
        case op::close:
          if (socket) socket->close();
          break;
        case op::timer: {
          const std::uint8_t s = script.byte();
          if (socket) socket->timer(start + std::chrono::seconds(s));
          break;
        }
        case op::answer:
          auth.answer();
          break;
        case op::durable:
          store.durable();
          break;
        case op::tick:
          core.tick(start + std::chrono::seconds(10 * script.byte()));
          break;
        case op::run:
          for (auto& s : sockets) {
            if (s) s->run();
          }
          break;
        default:
          break;
      }
    }

    // Whatever is still pending arrives, then every socket closes.
    auth.answer();
    store.durable();
    for (bool more = true; more;) {
      more = false;
      for (auto& s : sockets) {
        if (s && s->run()) more = true;
      }
    }
    for (auto& s : sockets) {
      if (s) s->close();
    }
    if (core.stats().clients_connected != 0) fail("clients still counted as connected");
    for (auto& s : sockets) s.reset();
    store.durable();  // callbacks registered by the closes; their connections are gone
  }
  return 0;
}
