#pragma once
// The MQTT protocol rules of one connection, as functions over its connection_state.

#include <memory>
#include <string>

#include "broker/logger.hpp"
#include "broker/output_batch.hpp"

namespace broker {

struct connection_state;

// Decodes and handles every whole packet buffered in the reader.
void process_input(const std::shared_ptr<connection_state>& st);
// Moves replies and queued PUBLISH packets into `out`.
void collect_output(connection_state& st, output_batch& out);
// Ends the connection once its output is flushed; `reason` goes to the log.
void close_with(connection_state& st, log_level level, std::string reason);

}  // namespace broker
