#pragma once
// The broker core's figures as Prometheus metrics (GET /metrics): connections by transport and
// protocol, messages and bytes in and out, retained messages, queues, drops and limit hits.

#include "broker/prometheus_text.hpp"

namespace broker {

class broker_core;

void write_broker_metrics(broker_core& core, prometheus_text& out);

}  // namespace broker
