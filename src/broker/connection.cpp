#include "broker/connection.hpp"

#include <string_view>

#include "broker/broker_core.hpp"
#include "broker/broker_state.hpp"
#include "broker/connection_protocol.hpp"
#include "broker/connection_state.hpp"
#include "mqtt/reason_code.hpp"

namespace broker {

connection::connection(broker_core& core, transport_link& link, std::string remote_address,
                       std::string transport)
    : state_(core.state(), link, std::move(remote_address), core.config().max_packet_size,
             std::move(transport)) {}

namespace {

// Unfinished packets are held until their last byte arrives, up to max_packet_size each: a
// client could hold that much on every connection. What all connections hold past this much
// each counts against max_total_buffer_bytes, as the messages waiting for clients do; under it
// (every everyday packet) the shared counter is not touched, and max_connections bounds it.
constexpr std::size_t input_threshold = 16 * 1024;

void count_input(connection_state& st) {
  const std::size_t held = st.reader.buffered();
  const std::size_t now = held > input_threshold ? held : 0;
  connection_extras* x = st.extras();
  const std::size_t counted = x ? x->input_counted : 0;
  if (now == counted) return;
  auto& total = st.broker.counters().limits.input_bytes;
  if (now < counted) {
    total.fetch_sub(counted - now, std::memory_order_relaxed);
    x->input_counted = now;
    return;
  }
  const std::uint64_t after =
      total.fetch_add(now - counted, std::memory_order_relaxed) + now - counted;
  st.more().input_counted = now;
  const std::size_t budget = st.broker.config().max_total_buffer_bytes;
  if (after <= budget) return;
  limit_counters::add(st.broker.counters().limits.input_budget_closed);
  const log_level level = st.broker.episodes().input_budget.begins(connection::clock::now())
                              ? log_level::warning
                              : log_level::debug;
  close_with(st, level,
             "a packet still arriving (" + std::to_string(held) +
                 " bytes so far) would take what all connections hold of unfinished packets past " +
                 std::to_string(budget) + " bytes (max_total_buffer_mb)",
             mqtt::reason::quota_exceeded);
}

}  // namespace

connection::~connection() {
  on_closed();
}

void connection::on_bytes(std::span<const std::uint8_t> bytes) {
  connection_state& st = state_;
  if (st.stage == connection_state::phase::closing || st.stage == connection_state::phase::closed) {
    return;
  }
  st.last_received = clock::now();
  st.broker.counters().bytes_received.add(bytes.size());
  // Decoded in place; an unfinished packet, or what waits for a login to be checked, is copied
  // before the transport reuses its read buffer.
  st.reader.lend(bytes);
  process_input(state_);
  st.reader.keep_rest();
  count_input(st);
}

void connection::take_output(output_batch& out) {
  collect_output(state_, out);
}

void connection::notice_close_requests() {
  broker::notice_close_requests(state_);
}

bool connection::close_requested() const {
  return broker::close_requested(state_);
}

bool connection::should_close() const {
  return state_.stage == connection_state::phase::closing ||
         state_.stage == connection_state::phase::closed;
}

void connection::on_closed() {
  connection_state& st = state_;
  if (st.stage == connection_state::phase::closed) return;
  if (connection_extras* x = st.extras(); x && x->input_counted > 0) {
    st.broker.counters().limits.input_bytes.fetch_sub(x->input_counted, std::memory_order_relaxed);
    x->input_counted = 0;
  }
  const bool was_attached = st.stage == connection_state::phase::connected ||
                            (st.stage == connection_state::phase::closing && st.announced);
  st.stage = connection_state::phase::closed;
  if (was_attached) {
    const char* version = st.version == mqtt::protocol_version::v5       ? "5.0"
                          : st.version == mqtt::protocol_version::v3_1_1 ? "3.1.1"
                                                                         : "3.1";
    st.broker.log().log(
        log_level::info, st.client_id,
        "disconnected: " +
            (st.extras() && st.extras()->close_reason ? *st.extras()->close_reason
                                                      : std::string("connection lost")) +
            " [MQTT " + version + "]");
  }
  st.broker.detach(st);
}

void connection::shut_down() {
  close_with(state_, log_level::info, "broker shutting down", mqtt::reason::server_shutting_down);
}

connection::clock::time_point connection::deadline() const {
  const connection_state& st = state_;
  switch (st.stage) {
    case connection_state::phase::awaiting_connect:
      return st.since.opened + st.broker.config().connect_timeout;
    case connection_state::phase::authenticating:
      // A login the throttle holds comes back at its own time, within the CONNECT deadline.
      return st.held()
                 ? std::min(st.held()->until, st.since.opened + st.broker.config().connect_timeout)
                 : st.since.opened + st.broker.config().connect_timeout;
    case connection_state::phase::connected:
      if (st.keep_alive == 0) return clock::time_point::max();
      // 1.5 times the keep-alive without a packet ends the connection [MQTT-3.1.2-24].
      return st.last_received + std::chrono::milliseconds(st.keep_alive * 1500);
    default:
      return clock::time_point::max();
  }
}

void connection::on_timer(clock::time_point now) {
  connection_state& st = state_;
  if (now < deadline()) return;
  if (st.stage == connection_state::phase::connected) {
    close_with(st, log_level::info,
               "keep-alive timeout (" + std::to_string(st.keep_alive) +
                   " s, nothing received for 1.5 times that)",
               mqtt::reason::keep_alive_timeout);
  } else if (st.stage == connection_state::phase::authenticating && st.held() &&
             now < st.since.opened + st.broker.config().connect_timeout) {
    resume_login(state_, now);
  } else if (st.stage != connection_state::phase::closing &&
             st.stage != connection_state::phase::closed) {
    limit_counters::add(st.broker.counters().limits.connect_timeouts);
    // Thousands of sockets that say nothing are one event worth one line, not thousands.
    const bool first = st.broker.episodes().connect_timeout.begins(now);
    const std::string what = st.stage == connection_state::phase::authenticating
                                 ? "login not answered within "
                                 : "no CONNECT within ";
    if (first) {
      st.broker.events().add(event_kind::limit, st.client_id,
                             what + std::to_string(st.broker.config().connect_timeout.count()) +
                                 " ms, from " + st.remote_address +
                                 " (further ones: connect_timeouts in /metrics)");
    }
    close_with(st, first ? log_level::info : log_level::debug,
               what + std::to_string(st.broker.config().connect_timeout.count()) + " ms, from " +
                   st.remote_address +
                   (first ? " (further ones are counted in "
                            "$SYS/broker/limits/connections/connect_timeout)"
                          : ""));
  }
}

std::string_view connection::client_id() const {
  return state_.client_id;
}
const std::string& connection::remote_address() const {
  return state_.remote_address;
}

}  // namespace broker
