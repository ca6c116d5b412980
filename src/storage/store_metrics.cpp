#include "storage/store_metrics.hpp"

namespace storage {

void write_store_metrics(const store_stats& s, broker::prometheus_text& out) {
  out.gauge("mqtt_broker_store_size_bytes",
            "Bytes of the store's files: the last snapshot and the logs written since.",
            s.snapshot_bytes + s.log_bytes);
  out.gauge("mqtt_broker_store_live_records",
            "Records the store holds now (retained messages, session parts).", s.live_records);
  out.counter("mqtt_broker_store_written_bytes_total",
              "Bytes written to the store's files, snapshots and compactions included.",
              s.bytes_written);
  out.counter("mqtt_broker_store_written_records_total", "Records written to the store.",
              s.records_written);
  out.counter("mqtt_broker_store_commits_total",
              "fdatasync calls that made a group of changes "
              "durable.",
              s.commits);
  out.counter("mqtt_broker_store_compactions_total", "Compactions of the store's logs.",
              s.compactions);
  out.counter("mqtt_broker_store_write_errors_total", "Failed writes to the store's files.",
              s.write_errors);
  out.gauge("mqtt_broker_store_queued_bytes", "Bytes of changes waiting to be written.",
            s.queued_bytes);
  out.counter("mqtt_broker_store_backpressure_rejections_total",
              "Changes the store refused because its write queue was full.",
              s.backpressure_rejections);
}

}  // namespace storage
