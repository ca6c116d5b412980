#include "broker/broker_metrics.hpp"

#include "broker/broker_core.hpp"

namespace broker {

void write_broker_metrics(broker_core& core, prometheus_text& out) {
  const broker_stats s = core.stats();
  const connection_totals t = core.totals();

  out.family("mqtt_broker_info", "gauge", "The broker's version, as a label; always 1.");
  out.sample("mqtt_broker_info", std::uint64_t{1}, {{"version", core.config().version}});

  out.family("mqtt_broker_connections", "gauge",
             "Connected MQTT clients by transport (mqtt, ws, mqtts, wss) and protocol version.");
  // Every transport and protocol appears, at 0 when unused, so a dashboard's series exist.
  for (const char* transport : {"mqtt", "ws", "mqtts", "wss"}) {
    for (const char* protocol : {"3.1", "3.1.1", "5.0"}) {
      auto it = t.connections.find({transport, protocol});
      out.sample("mqtt_broker_connections", it == t.connections.end() ? 0 : it->second,
                 {{"transport", transport}, {"protocol", protocol}});
    }
  }
  out.gauge("mqtt_broker_sessions", "Sessions, connected or kept for an offline client.",
            s.sessions);
  out.gauge("mqtt_broker_offline_sessions",
            "Persistent sessions kept while their client is offline.", t.offline_sessions);
  out.counter("mqtt_broker_messages_received_total", "PUBLISH packets received from clients.",
              s.messages_received);
  out.counter("mqtt_broker_messages_sent_total", "PUBLISH packets sent to clients.",
              s.messages_sent);
  out.counter("mqtt_broker_received_bytes_total", "Bytes of MQTT packets received.",
              s.bytes_received);
  out.counter("mqtt_broker_sent_bytes_total", "Bytes of MQTT packets sent.", s.bytes_sent);
  out.gauge("mqtt_broker_retained_messages", "Retained messages.", s.retained_messages);
  out.gauge("mqtt_broker_subscriptions", "Subscriptions of all sessions.", s.subscriptions);
  out.gauge("mqtt_broker_queued_messages",
            "Messages waiting for their client behind the in-flight window.", t.queued);
  out.gauge("mqtt_broker_inflight_messages", "QoS 1 and 2 messages sent and not yet acknowledged.",
            t.inflight);
  out.counter("mqtt_broker_dropped_messages_total",
              "Messages dropped because a client's queue was full.", s.publish_dropped);

  const topic_monitor_figures monitor = core.monitor_figures();
  out.gauge("mqtt_broker_ui_topics", "Topics the web UI's topic tree tracks.", monitor.topics);
  out.counter("mqtt_broker_ui_untracked_messages_total",
              "Messages on topics beyond the web UI's topic cap, not shown in its tree.",
              monitor.untracked_messages);
  out.gauge("mqtt_broker_ui_payload_bytes", "Payload bytes the web UI's topic tree holds.",
            monitor.payload_bytes);

  const limit_stats& l = s.limits;
  out.family("mqtt_broker_limit_dropped_messages_total", "counter",
             "Messages dropped by a limit: a connected client's buffer (client_budget), every "
             "client's buffers together (total_budget), an offline session's queue (offline).");
  out.sample("mqtt_broker_limit_dropped_messages_total", l.dropped_client_budget,
             {{"limit", "client_budget"}});
  out.sample("mqtt_broker_limit_dropped_messages_total", l.dropped_total_budget,
             {{"limit", "total_budget"}});
  out.sample("mqtt_broker_limit_dropped_messages_total", l.dropped_offline, {{"limit", "offline"}});
  out.counter("mqtt_broker_limit_disconnected_clients_total",
              "Clients disconnected because their QoS 1/2 messages passed their buffer.",
              l.disconnected_for_budget);
  out.counter("mqtt_broker_limit_refused_connections_total",
              "Connections refused at accept: max_connections were open.", l.connections_refused);
  out.counter("mqtt_broker_limit_connect_timeouts_total",
              "Connections closed for sending no CONNECT (or no login answer) in connect_timeout.",
              l.connect_timeouts);
  out.counter("mqtt_broker_limit_throttled_logins_total",
              "Login attempts held back by the password-guessing throttle.", l.logins_throttled);
  out.family("mqtt_broker_limit_refused_total", "counter",
             "What a limit refused to keep: new subscriptions past max_subscriptions or the "
             "per-client bound (subscriptions), new sessions past max_sessions (sessions), "
             "retained messages past max_retained_bytes (retained).");
  out.sample("mqtt_broker_limit_refused_total", l.subscriptions_refused,
             {{"limit", "subscriptions"}});
  out.sample("mqtt_broker_limit_refused_total", l.sessions_refused, {{"limit", "sessions"}});
  out.sample("mqtt_broker_limit_refused_total", l.retained_refused, {{"limit", "retained"}});
  out.counter("mqtt_broker_limit_input_budget_closed_total",
              "Connections closed because packets still arriving passed max_total_buffer_mb.",
              l.input_budget_closed);
  out.gauge("mqtt_broker_buffered_bytes", "Bytes of messages waiting in every session together.",
            l.buffered_bytes);
  out.gauge("mqtt_broker_open_connections",
            "MQTT sockets open, connected or not yet (what max_connections bounds).",
            l.connections_open);
  out.gauge("mqtt_broker_max_connections", "The max_connections option in force.",
            core.config().max_connections);
  out.gauge("mqtt_broker_max_buffered_bytes",
            "The bound on mqtt_broker_buffered_bytes (max_total_buffer_mb, or sized by memory).",
            core.config().max_total_buffer_bytes);

  event_log& events = core.events();
  out.family("mqtt_broker_events_total", "counter",
             "Notable events by kind: refused logins, other refused connections, limit hits "
             "(queue full, packet too large, reply backlog, data before CONNACK).");
  for (event_kind kind :
       {event_kind::login_refused, event_kind::connect_refused, event_kind::limit}) {
    out.sample("mqtt_broker_events_total", events.count(kind), {{"kind", name_of(kind)}});
  }
}

}  // namespace broker
