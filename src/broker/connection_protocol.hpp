#pragma once
// The MQTT protocol rules of one connection, as functions over its connection_state.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "broker/logger.hpp"
#include "broker/output_batch.hpp"

namespace broker {

struct connection_state;

// Decodes and handles every whole packet buffered in the reader.
void process_input(connection_state& st);
// A CONNECT the login throttle holds (connection_state::held): checked once the throttle lets
// it, or its refusal sent once due. Call when the connection's deadline passes.
void resume_login(connection_state& st, std::chrono::steady_clock::time_point now);
// Moves replies and queued PUBLISH packets into `out`.
void collect_output(connection_state& st, output_batch& out);
// What ends a connection from outside (the web UI's disconnect, a takeover, QoS 1/2 past its
// budget): closes it now. collect_output() does this first; call it also when no output can be
// taken because a write is stuck.
void notice_close_requests(connection_state& st);
// Whether one of those is pending; any thread may ask.
bool close_requested(const connection_state& st);
// Ends the connection once its output is flushed; `reason` goes to the log. A 5.0 client that
// got its CONNACK is sent DISCONNECT with `code` first, when it is not 0.
void close_with(connection_state& st, log_level level, std::string reason, std::uint8_t code = 0);

}  // namespace broker
