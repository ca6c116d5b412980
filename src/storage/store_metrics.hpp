#pragma once
// The store's figures as Prometheus metrics (GET /metrics): its size on disk, what it wrote (a
// rate in Prometheus: rate(mqtt_broker_store_written_bytes_total[5m])), its queue and errors.

#include "broker/prometheus_text.hpp"
#include "storage/store_options.hpp"

namespace storage {

void write_store_metrics(const store_stats& s, broker::prometheus_text& out);

}  // namespace storage
