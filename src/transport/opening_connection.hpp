#pragma once
// A TLS or WebSocket connection during its handshake. It is in the session registry, so shutdown
// closes it like a session; a deadline drops clients that connect and say nothing (or too
// slowly); once the stream is open it becomes a stream_session, which from then on only sees
// bytes. A failed handshake never reaches the broker core.

#include <chrono>
#include <memory>
#include <string>

#include "broker/broker_core.hpp"
#include "broker/logger.hpp"
#include "transport/byte_stream.hpp"
#include "transport/connection_slot.hpp"
#include "transport/session_registry.hpp"

namespace transport {

struct opening_context {
  broker::broker_core& core;
  session_registry& registry;
  broker::logger& log;
  std::chrono::milliseconds deadline;  // for the whole handshake
};

// Call on the stream's executor. `kind` (ws, mqtts, wss) and `remote_address` name the
// connection in log lines.
void open_then_serve(std::shared_ptr<byte_stream> stream, const opening_context& context,
                     std::string kind, std::string remote_address, connection_slot slot);

}  // namespace transport
