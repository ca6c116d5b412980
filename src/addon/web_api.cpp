#include "addon/web_api.hpp"

#include <json/json.h>

#include <algorithm>
#include <charconv>

#include "addon/base64.hpp"
#include "addon/json_text.hpp"
#include "broker/broker_metrics.hpp"
#include "mqtt/topic.hpp"
#include "ui/ui_assets.hpp"

namespace addon {

namespace {

Json::UInt64 millis(std::chrono::system_clock::time_point t) {
  return static_cast<Json::UInt64>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

std::string to_text(const Json::Value& v) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  writer["emitUTF8"] = true;
  return Json::writeString(writer, v);
}

web_response json(int status, const Json::Value& v) {
  return {status, "application/json", to_text(v)};
}

web_response error(int status, std::string_view message) {
  Json::Value v(Json::objectValue);
  v["error"] = std::string(message);
  return json(status, v);
}

std::uint64_t number_or(std::string_view query, std::string_view name, std::uint64_t fallback) {
  const std::optional<std::string> text = query_value(query, name);
  if (!text) return fallback;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size()) return fallback;
  return n;
}

Json::Value client_json(const broker::client_info& c) {
  Json::Value v(Json::objectValue);
  v["client_id"] = c.client_id;
  v["username"] = c.username;
  v["connected"] = c.connected;
  v["address"] = c.address;
  v["protocol"] = c.protocol;
  v["transport"] = c.transport;
  v["clean_session"] = c.clean_session;
  v["keep_alive"] = c.keep_alive;
  v["since"] = c.connected ? Json::Value(millis(c.since)) : Json::Value();
  v["subscriptions"] = static_cast<Json::UInt64>(c.subscriptions);
  v["queued"] = static_cast<Json::UInt64>(c.queued);
  v["inflight"] = static_cast<Json::UInt64>(c.inflight);
  v["dropped"] = static_cast<Json::UInt64>(c.dropped);
  v["messages_in"] = static_cast<Json::UInt64>(c.messages_in);
  v["messages_out"] = static_cast<Json::UInt64>(c.messages_out);
  return v;
}

// `limit`: payload bytes included (base64); "truncated" says when the payload is longer.
Json::Value topic_json(const broker::topic_entry& e, std::size_t limit) {
  Json::Value v(Json::objectValue);
  v["topic"] = e.topic;
  v["size"] = static_cast<Json::UInt64>(e.payload_size);
  v["qos"] = static_cast<int>(e.qos);
  v["retained"] = e.retained;
  v["cleared"] = e.cleared;
  v["messages"] = static_cast<Json::UInt64>(e.messages);
  v["updated"] = millis(e.updated);
  v["seq"] = static_cast<Json::UInt64>(e.seq);
  if (e.payload_kept) {
    const std::string_view p = e.payload();
    v["payload"] = encode_base64(p.substr(0, limit));
    v["truncated"] = p.size() > limit;
  } else {
    v["payload"] = Json::Value();  // not kept: over the UI's payload budget
    v["truncated"] = e.payload_size > 0;
  }
  return v;
}

Json::Value event_json(const broker::broker_event& e) {
  Json::Value v(Json::objectValue);
  v["seq"] = static_cast<Json::UInt64>(e.seq);
  v["time"] = millis(e.time);
  v["kind"] = broker::name_of(e.kind);
  v["client_id"] = e.client_id;
  v["text"] = e.text;
  return v;
}

Json::Value bridge_json(const bridge::bridge_status& b) {
  Json::Value v(Json::objectValue);
  v["name"] = b.name;
  v["state"] = bridge::name_of(b.state);
  v["address"] = b.address;
  v["last_error"] = b.last_error;
  v["since"] = millis(b.since);
  v["retry_in"] = static_cast<Json::Int64>(b.retry_in.count());
  v["connections"] = static_cast<Json::UInt64>(b.connections);
  v["messages_received"] = static_cast<Json::UInt64>(b.messages_received);
  v["messages_sent"] = static_cast<Json::UInt64>(b.messages_sent);
  v["messages_unmapped"] = static_cast<Json::UInt64>(b.messages_unmapped);
  v["messages_too_large"] = static_cast<Json::UInt64>(b.messages_too_large);
  return v;
}

std::string page_with_base(std::string_view page, std::string_view ingress) {
  // Every URL the page uses is relative, so the base decides them all.
  constexpr std::string_view marker = "<base href=\"./\">";
  std::string out(page);
  const std::size_t at = out.find(marker);
  if (at != std::string::npos) {
    out.replace(at, marker.size(), "<base href=\"" + std::string(ingress) + "/\">");
  }
  return out;
}

}  // namespace

std::string safe_ingress_path(std::string_view header) {
  if (header.empty() || header.front() != '/' || header.size() > 512) return {};
  for (char c : header) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '.' || c == '~' || c == '-';
    if (!ok) return {};
  }
  while (!header.empty() && header.back() == '/') header.remove_suffix(1);
  return std::string(header);
}

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      unsigned value = 0;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void web_api::count_limit(limit l) {
  limit_hits_[static_cast<std::size_t>(l)].fetch_add(1, std::memory_order_relaxed);
}

web_api::web_api(broker::broker_core& core, std::string options_json, metrics_source extra_metrics)
    : core_(core),
      options_json_(std::move(options_json)),
      extra_metrics_(std::move(extra_metrics)) {}

web_response web_api::handle(const web_request& request) {
  const std::size_t question = request.target.find('?');
  const std::string_view path = request.target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : request.target.substr(question + 1);
  // Someone uses the UI (a Prometheus scrape does not count): the topic tree records.
  if (path != "/metrics") core_.watch();
  if (request.method == "GET" || request.method == "HEAD") {
    return get(path, query, safe_ingress_path(request.ingress_path));
  }
  if (request.method == "POST") {
    if (!path.starts_with("/api/")) return error(405, "method not allowed");
    // A bare media type, or one with parameters ("application/json; charset=utf-8").
    const std::string_view type = request.content_type.substr(0, request.content_type.find(';'));
    if (type != "application/json") {
      return error(415, "POST bodies must be JSON (Content-Type: application/json)");
    }
    return post(path, request.body);
  }
  return error(405, "method not allowed");
}

web_response web_api::get(std::string_view path, std::string_view query, std::string_view ingress) {
  if (path == "/" || path == "/index.html") {
    const ui::asset* page = ui::find_asset("/index.html");
    if (!page) return error(500, "the page is missing from this build");
    return {200, std::string(page->content_type), page_with_base(page->body, ingress)};
  }
  if (path == "/metrics") {
    broker::prometheus_text text;
    broker::write_broker_metrics(core_, text);
    text.family("mqtt_broker_ui_limit_hits_total", "counter",
                "Requests and connections of the ingress port refused or ended at a bound.");
    constexpr const char* names[] = {"connections", "websockets", "header_size", "body_size",
                                     "deadline"};
    for (std::size_t i = 0; i < limit_hits_.size(); ++i) {
      text.sample("mqtt_broker_ui_limit_hits_total", limit_hits_[i].load(std::memory_order_relaxed),
                  {{"limit", names[i]}});
    }
    if (extra_metrics_) extra_metrics_(text);
    return {200, "text/plain; version=0.0.4; charset=utf-8", text.take()};
  }
  if (path == "/api/status") return {200, "application/json", live_status()};
  if (path == "/api/clients") {
    std::vector<broker::client_info> list = core_.clients(max_clients + 1);
    Json::Value v(Json::objectValue);
    v["truncated"] = list.size() > max_clients;
    if (list.size() > max_clients) list.resize(max_clients);
    v["version"] = static_cast<Json::UInt64>(core_.clients_version());
    Json::Value clients(Json::arrayValue);
    for (const auto& c : list) clients.append(client_json(c));
    v["clients"] = clients;
    return json(200, v);
  }
  if (path == "/api/topics") {
    const std::string filter = query_value(query, "filter").value_or("#");
    if (!mqtt::valid_topic_filter(filter)) return error(400, "invalid topic filter");
    broker::topic_query q;
    q.filter = filter;
    q.since = number_or(query, "since", 0);
    q.limit = std::min<std::uint64_t>(number_or(query, "limit", max_topics), max_topics);
    const broker::topic_query_result r = core_.topics(q);
    Json::Value v(Json::objectValue);
    v["seq"] = static_cast<Json::UInt64>(r.seq);
    v["truncated"] = r.truncated;
    Json::Value topics(Json::arrayValue);
    for (const auto& e : r.entries) topics.append(topic_json(e, preview_bytes));
    v["topics"] = topics;
    return json(200, v);
  }
  if (path == "/api/topic") {
    const std::optional<std::string> name = query_value(query, "name");
    if (!name) return error(400, "name= is required");
    const std::optional<broker::topic_entry> e = core_.topic(*name);
    if (!e) return error(404, "no such topic");
    return json(200, topic_json(*e, max_topic_bytes));
  }
  if (path == "/api/events") {
    Json::Value v(Json::objectValue);
    Json::Value events(Json::arrayValue);
    for (const auto& e : core_.events().since(number_or(query, "since", 0), max_events)) {
      events.append(event_json(e));
    }
    v["events"] = events;
    v["last"] = static_cast<Json::UInt64>(core_.events().last_seq());
    return json(200, v);
  }
  if (path == "/api/options") return {200, "application/json", options_json_};
  if (path == "/api/bridges") {
    Json::Value v(Json::objectValue);
    Json::Value list(Json::arrayValue);
    if (bridges_) {
      for (const auto& b : bridges_()) list.append(bridge_json(b));
    }
    v["bridges"] = list;
    return json(200, v);
  }
  if (const ui::asset* a = ui::find_asset(path)) {
    web_response r{200, std::string(a->content_type), std::string(a->body)};
    r.cacheable = true;
    return r;
  }
  return error(404, "not found");
}

web_response web_api::post(std::string_view path, std::string_view body) {
  std::string parse_error;
  const std::optional<Json::Value> parsed = parse_json(body, {true, true, false}, &parse_error);
  if (!parsed || !parsed->isObject()) {
    return error(400, parsed ? "the body must be a JSON object" : "invalid JSON: " + parse_error);
  }
  const Json::Value& v = *parsed;
  const auto text = [&](const char* key) -> std::optional<std::string> {
    if (!v.isMember(key) || !v[key].isString()) return std::nullopt;
    return v[key].asString();
  };
  if (path == "/api/publish") {
    std::optional<std::string> topic = text("topic");
    if (!topic) return error(400, "topic (a string) is required");
    std::string payload = text("payload").value_or("");
    int qos = 0;
    if (v.isMember("qos")) {
      if (!v["qos"].isInt()) return error(400, "qos must be 0, 1 or 2");
      qos = v["qos"].asInt();
    }
    bool retain = false;
    if (v.isMember("retain")) {
      if (!v["retain"].isBool()) return error(400, "retain must be true or false");
      retain = v["retain"].asBool();
    }
    const std::string problem = core_.publish(std::move(*topic), std::move(payload), qos, retain);
    if (!problem.empty()) return error(400, problem);
    Json::Value ok(Json::objectValue);
    ok["ok"] = true;
    return json(200, ok);
  }
  if (path == "/api/disconnect") {
    const std::optional<std::string> id = text("client_id");
    if (!id) return error(400, "client_id (a string) is required");
    if (!core_.disconnect(*id)) return error(404, "no connected client with that id");
    core_.events().add(broker::event_kind::client, *id, "disconnected from the web UI");
    Json::Value ok(Json::objectValue);
    ok["ok"] = true;
    return json(200, ok);
  }
  if (path == "/api/delete-retained") {
    const std::optional<std::string> topic = text("topic");
    if (!topic) return error(400, "topic (a string) is required");
    if (!core_.delete_retained(*topic)) return error(404, "no retained message on that topic");
    Json::Value ok(Json::objectValue);
    ok["ok"] = true;
    return json(200, ok);
  }
  return error(404, "not found");
}

std::string web_api::live_status() {
  core_.watch();  // an open page asks every second
  const broker::broker_stats s = core_.stats();
  Json::Value v(Json::objectValue);
  v["version"] = core_.config().version;
  v["clients_version"] = static_cast<Json::UInt64>(core_.clients_version());
  v["topics_seq"] = static_cast<Json::UInt64>(core_.topics_version());
  v["events_seq"] = static_cast<Json::UInt64>(core_.events().last_seq());
  v["clients_connected"] = static_cast<Json::UInt64>(s.clients_connected);
  v["sessions"] = static_cast<Json::UInt64>(s.sessions);
  v["messages_received"] = static_cast<Json::UInt64>(s.messages_received);
  v["messages_sent"] = static_cast<Json::UInt64>(s.messages_sent);
  v["bytes_received"] = static_cast<Json::UInt64>(s.bytes_received);
  v["bytes_sent"] = static_cast<Json::UInt64>(s.bytes_sent);
  v["retained_messages"] = static_cast<Json::UInt64>(s.retained_messages);
  v["subscriptions"] = static_cast<Json::UInt64>(s.subscriptions);
  v["dropped"] = static_cast<Json::UInt64>(s.publish_dropped);
  // Each bridge's state: the page fetches /api/bridges when this changes.
  Json::Value bridges(Json::arrayValue);
  if (bridges_) {
    for (const auto& b : bridges_()) bridges.append(b.name + ":" + bridge::name_of(b.state));
  }
  v["bridges"] = bridges;
  return to_text(v);
}

}  // namespace addon
