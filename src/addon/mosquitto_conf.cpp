#include "addon/mosquitto_conf.hpp"

#include <algorithm>
#include <charconv>

#include "mqtt/topic.hpp"

namespace addon {
namespace {

using bridge::bridge_settings;

constexpr std::string_view blanks = " \t";

std::string_view trim(std::string_view s) {
  const std::size_t start = s.find_first_not_of(blanks);
  if (start == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(" \t\r\n\f\v");
  return s.substr(start, end - start + 1);
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t start = s.find_first_not_of(blanks);
    if (start == std::string_view::npos) break;
    const std::size_t end = s.find_first_of(blanks, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    s = s.substr(end);
  }
  return out;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Mosquitto writes an empty topic part as "".
std::string unquote_empty(std::string_view s) {
  return s == "\"\"" ? std::string() : std::string(s);
}

bool has_wildcard(std::string_view s) {
  return s.find_first_of("+#") != std::string_view::npos;
}

// 'text', built by appending (g++ 12 warns falsely about "'" + std::string).
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

// host[:port] or [v6-address][:port]
std::string parse_address(std::string_view text, bridge::remote_address& out) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return quoted(text) + ": missing ']'";
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return quoted(text) + ": expected ':' after ']'";
      port = rest.substr(1);
    }
  } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return quoted(text) + ": no host name";
  out.host = std::string(host);
  out.port = 1883;
  if (!port.empty() || text.ends_with(':')) {
    unsigned value = 0;
    if (!parse_number(port, value) || value == 0 || value > 65535) {
      return quoted(text) + ": the port must be a number from 1 to 65535";
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return {};
}

std::string parse_topic(std::string_view value, const std::string& where,
                        bridge::topic_mapping& t) {
  const std::vector<std::string_view> w = words(value);
  if (w.empty() || w.size() > 5) {
    return "topic takes <pattern> [out|in|both [<qos> [<local-prefix> <remote-prefix>]]]";
  }
  t.origin = where;
  t.pattern = unquote_empty(w[0]);
  if (w.size() >= 2) {
    if (w[1] == "out") {
      t.dir = bridge::direction::out;
    } else if (w[1] == "in") {
      t.dir = bridge::direction::in;
    } else if (w[1] == "both") {
      t.dir = bridge::direction::both;
    } else {
      return "topic direction must be in, out or both (got '" + std::string(w[1]) + "')";
    }
  }
  if (w.size() >= 3) {
    unsigned q = 0;
    if (!parse_number(w[2], q) || q > 2) {
      return "topic QoS must be 0, 1 or 2 (got '" + std::string(w[2]) + "')";
    }
    t.qos = static_cast<mqtt::qos>(q);
  }
  if (w.size() == 4) return "topic has a local prefix but no remote prefix";
  if (w.size() == 5) {
    t.local_prefix = unquote_empty(w[3]);
    t.remote_prefix = unquote_empty(w[4]);
    if (has_wildcard(t.local_prefix) || has_wildcard(t.remote_prefix)) {
      return "topic prefixes must not contain + or #";
    }
  }
  if (t.pattern.empty()) {
    // With an empty pattern each prefix is a whole topic (Mosquitto).
    if (t.local_prefix.empty() || t.remote_prefix.empty()) {
      return "an empty topic pattern (\"\") needs a local and a remote prefix";
    }
    if (!mqtt::valid_topic_name(t.local_prefix) || !mqtt::valid_topic_name(t.remote_prefix)) {
      return "with an empty pattern the prefixes must be valid topic names";
    }
    return {};
  }
  if (!mqtt::valid_topic_filter(t.local_filter()) || !mqtt::valid_topic_filter(t.remote_filter())) {
    return "'" + t.pattern +
           "' with its prefixes is not a valid topic filter ('+' and '#' alone in their level, '#' "
           "last)";
  }
  return {};
}

// Directives that belong to a bridge and that this broker does not implement: read, logged once,
// ignored (the bridge still starts).
constexpr std::string_view unsupported_bridge_directives[] = {
    "bridge_attempt_unsubscribe",
    "bridge_bind_address",
    "bridge_identity",
    "bridge_max_packet_size",
    "bridge_max_topic_alias",
    "bridge_outgoing_retain",
    "bridge_psk",
    "bridge_receive_maximum",
    "bridge_reload_type",
    "bridge_require_ocsp",
    "bridge_session_expiry_interval",
    "idle_timeout",
    "local_password",
    "local_username",
    "threshold",
};

// Of those, the ones that make a bridge safer: ignoring one would connect without what the user
// asked for (a pre-shared key instead of certificates, an OCSP check), so that bridge is refused.
constexpr std::string_view refused_bridge_directives[] = {
    "bridge_identity",
    "bridge_psk",
    "bridge_require_ocsp",
};

template <std::size_t N>
bool listed(const std::string_view (&list)[N], std::string_view directive) {
  return std::find(std::begin(list), std::end(list), directive) != std::end(list);
}

}  // namespace

bool parse_conf_bool(std::string_view value, bool& out) {
  if (value == "true" || value == "1") {
    out = true;
    return true;
  }
  if (value == "false" || value == "0") {
    out = false;
    return true;
  }
  return false;
}

mosquitto_conf_reader::mosquitto_conf_reader(std::string hostname)
    : hostname_(std::move(hostname)) {}

void mosquitto_conf_reader::ignore_once(std::string_view directive, const std::string& where,
                                        const char* why) {
  if (!ignored_seen_.insert(std::string(directive)).second) return;
  result_.warnings.push_back(where + ": '" + std::string(directive) + "' " + why +
                             ", ignored (also later ones)");
}

void mosquitto_conf_reader::read(std::string_view text, const std::string& name) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.find_first_of(blanks);
    const std::string_view directive = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));
    handle(directive, value, name + ":" + std::to_string(line_number));
  }
  // A bridge ends with its file.
  in_bridge_ = false;
}

void mosquitto_conf_reader::handle(std::string_view directive, std::string_view value,
                                   const std::string& where) {
  if (directive == "acl_file") {
    if (value.empty()) {
      result_.warnings.push_back(where + ": acl_file without a path, ignored");
    } else {
      result_.acl_files.push_back({std::string(value), where});
    }
    return;
  }
  if (directive == "connection") {
    open_bridge b;
    b.settings.origin = where;
    b.settings.name = std::string(value);
    in_bridge_ = true;
    if (value.empty() || value.find_first_of(blanks) != std::string_view::npos) {
      b.invalid = true;
      result_.bridge_errors.push_back(where + ": connection needs one name without spaces");
    } else if (std::any_of(bridges_.begin(), bridges_.end(), [&](const open_bridge& other) {
                 return other.settings.name == value;
               })) {
      b.invalid = true;
      result_.bridge_errors.push_back(where + ": a bridge named '" + std::string(value) +
                                      "' exists already; this one is not started");
    }
    bridges_.push_back(std::move(b));
    return;
  }
  if (listed(unsupported_bridge_directives, directive)) {
    if (in_bridge_ && listed(refused_bridge_directives, directive)) {
      refuse(bridges_.back(), where,
             "'" + std::string(directive) +
                 "' is not supported by this broker's bridges, and the bridge would connect "
                 "without it");
      return;
    }
    ignore_once(directive, where, "is not supported by this broker's bridges");
    return;
  }
  if (!in_bridge_) {
    bridge_settings probe;
    if (apply_bridge_directive(probe, directive, value, where) != "unknown") {
      result_.bridge_errors.push_back(where + ": '" + std::string(directive) +
                                      "' outside a bridge (no `connection` line before it in "
                                      "this file)");
      return;
    }
    ignore_once(directive, where,
                "is not supported in the customize folder (only acl_file and bridges are read; "
                "the add-on's options set the rest)");
    return;
  }
  open_bridge& b = bridges_.back();
  const std::string error = apply_bridge_directive(b.settings, directive, value, where);
  if (error == "unknown") {
    if (directive.starts_with("bridge_")) {
      // Mosquitto refuses an unknown directive; ignoring a misspelt bridge_cafile would send the
      // remote's password in clear text.
      refuse(b, where, "unknown bridge directive '" + std::string(directive) + "'");
      return;
    }
    ignore_once(directive, where,
                "is not supported in the customize folder (only acl_file and bridges are read; "
                "the add-on's options set the rest)");
    return;
  }
  if (!error.empty()) refuse(b, where, error);
}

void mosquitto_conf_reader::refuse(open_bridge& b, const std::string& where,
                                   const std::string& error) {
  if (b.invalid) return;  // one error per bridge
  b.invalid = true;
  result_.bridge_errors.push_back(where + ": " + error + "; bridge '" + b.settings.name +
                                  "' not started");
}

std::string mosquitto_conf_reader::apply_bridge_directive(bridge_settings& b,
                                                          std::string_view directive,
                                                          std::string_view value,
                                                          const std::string& where) {
  const auto need_value = [&]() -> std::string {
    return value.empty() ? std::string(directive) + " needs a value" : std::string();
  };
  const auto boolean = [&](bool& out) -> std::string {
    if (parse_conf_bool(value, out)) return {};
    return std::string(directive) + " must be true or false (got '" + std::string(value) + "')";
  };
  if (directive == "address" || directive == "addresses") {
    const std::vector<std::string_view> list = words(value);
    if (list.empty()) return std::string(directive) + " needs host[:port]";
    for (std::string_view item : list) {
      bridge::remote_address a;
      if (std::string e = parse_address(item, a); !e.empty()) return "address " + e;
      b.addresses.push_back(std::move(a));
    }
    return {};
  }
  if (directive == "topic") {
    bridge::topic_mapping t;
    if (std::string e = parse_topic(value, where, t); !e.empty()) return e;
    b.topics.push_back(std::move(t));
    return {};
  }
  if (directive == "round_robin") return boolean(b.round_robin);
  if (directive == "remote_username" || directive == "username") {
    if (auto e = need_value(); !e.empty()) return e;
    b.remote_username = std::string(value);
    return {};
  }
  if (directive == "remote_password" || directive == "password") {
    if (auto e = need_value(); !e.empty()) return e;
    b.remote_password = std::string(value);
    return {};
  }
  if (directive == "remote_clientid" || directive == "clientid") {
    if (auto e = need_value(); !e.empty()) return e;
    b.remote_clientid = std::string(value);
    return {};
  }
  if (directive == "local_clientid") {
    if (auto e = need_value(); !e.empty()) return e;
    b.local_clientid = std::string(value);
    return {};
  }
  if (directive == "bridge_protocol_version") {
    if (value == "mqttv31") {
      b.version = mqtt::protocol_version::v3_1;
    } else if (value == "mqttv311") {
      b.version = mqtt::protocol_version::v3_1_1;
    } else if (value == "mqttv50") {
      b.version = mqtt::protocol_version::v5;
    } else {
      return "bridge_protocol_version must be mqttv31, mqttv311 or mqttv50 (got '" +
             std::string(value) + "')";
    }
    return {};
  }
  if (directive == "cleansession") return boolean(b.cleansession);
  if (directive == "local_cleansession") {
    bool v = false;
    if (auto e = boolean(v); !e.empty()) return e;
    b.local_cleansession = v;
    return {};
  }
  if (directive == "try_private") return boolean(b.try_private);
  if (directive == "notifications") return boolean(b.notifications);
  if (directive == "notifications_local_only") return boolean(b.notifications_local_only);
  if (directive == "notification_topic") {
    if (!mqtt::valid_topic_name(value)) {
      return "notification_topic must be a topic name without + or # (got '" + std::string(value) +
             "')";
    }
    b.notification_topic = std::string(value);
    return {};
  }
  if (directive == "keepalive_interval") {
    unsigned v = 0;
    if (!parse_number(value, v) || v > 65535) {
      return "keepalive_interval must be a number of seconds from 0 to 65535 (got '" +
             std::string(value) + "')";
    }
    b.keepalive = static_cast<std::uint16_t>(v);
    return {};
  }
  if (directive == "restart_timeout") {
    const std::vector<std::string_view> w = words(value);
    unsigned base = 0;
    unsigned cap = 0;
    if (w.empty() || w.size() > 2 || !parse_number(w[0], base) || base == 0 || base > 86400 ||
        (w.size() == 2 && (!parse_number(w[1], cap) || cap < base || cap > 86400))) {
      return "restart_timeout takes <seconds> or <base> <cap> (1 to 86400, cap not below base)";
    }
    b.restart_base = std::chrono::seconds(base);
    b.restart_cap = w.size() == 2 ? std::optional(std::chrono::seconds(cap)) : std::nullopt;
    return {};
  }
  if (directive == "start_type") {
    if (value == "automatic") {
      b.start = bridge::start_type::automatic;
    } else if (value == "once") {
      b.start = bridge::start_type::once;
    } else if (value == "lazy") {
      ignore_once("start_type lazy", where,
                  "is not supported (the bridge starts automatically instead)");
      b.start = bridge::start_type::automatic;
    } else {
      return "start_type must be automatic, lazy or once (got '" + std::string(value) + "')";
    }
    return {};
  }
  if (directive == "bridge_cafile" || directive == "bridge_capath" ||
      directive == "bridge_certfile" || directive == "bridge_keyfile" ||
      directive == "bridge_alpn") {
    if (auto e = need_value(); !e.empty()) return e;
    std::string& field = directive == "bridge_cafile"     ? b.tls.cafile
                         : directive == "bridge_capath"   ? b.tls.capath
                         : directive == "bridge_certfile" ? b.tls.certfile
                         : directive == "bridge_keyfile"  ? b.tls.keyfile
                                                          : b.tls.alpn;
    field = std::string(value);
    return {};
  }
  if (directive == "bridge_insecure") return boolean(b.tls.insecure);
  if (directive == "bridge_tls_version") {
    if (value != "tlsv1.3" && value != "tlsv1.2" && value != "tlsv1.1") {
      return "bridge_tls_version must be tlsv1.3, tlsv1.2 or tlsv1.1 (got '" + std::string(value) +
             "')";
    }
    b.tls.tls_version = std::string(value);
    return {};
  }
  return "unknown";
}

mosquitto_conf mosquitto_conf_reader::finish() {
  std::set<std::string, std::less<>> local_ids;
  for (open_bridge& open : bridges_) {
    if (open.invalid) continue;
    bridge_settings& b = open.settings;
    std::string error;
    if (b.addresses.empty()) {
      error = "no address";
    } else if (b.topics.empty()) {
      error = "no topic line";
    } else if (b.remote_password && !b.remote_username) {
      error = "remote_password without remote_username";  // [MQTT-3.1.2-22]
    } else if (b.tls.certfile.empty() != b.tls.keyfile.empty()) {
      error = "bridge_certfile and bridge_keyfile go together";
    } else if (!b.tls.enabled() && (!b.tls.certfile.empty() || b.tls.insecure)) {
      error = "TLS options without bridge_cafile or bridge_capath (which turn TLS on)";
    }
    if (b.remote_clientid.empty()) b.remote_clientid = hostname_ + "." + b.name;
    if (b.local_clientid.empty()) b.local_clientid = "local." + b.remote_clientid;
    if (b.notification_topic.empty()) {
      b.notification_topic = "$SYS/broker/connection/" + b.remote_clientid + "/state";
    }
    if (error.empty() && !local_ids.insert(b.local_clientid).second) {
      error = "local_clientid '" + b.local_clientid + "' is used by another bridge";
    }
    if (!error.empty()) {
      result_.bridge_errors.push_back(b.origin + ": bridge '" + b.name + "': " + error +
                                      "; not started");
      continue;
    }
    result_.bridges.push_back(std::move(b));
  }
  bridges_.clear();
  return std::move(result_);
}

}  // namespace addon
