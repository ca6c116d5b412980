#include "addon/options_view.hpp"

#include <json/json.h>

namespace addon {

namespace {

constexpr const char* masked = "********";

const char* access_name(acl_access a) {
  switch (a) {
    case acl_access::deny:
      return "deny";
    case acl_access::read:
      return "read";
    case acl_access::write:
      return "write";
    case acl_access::readwrite:
      return "readwrite";
  }
  return "?";
}

}  // namespace

std::string options_view_json(const options& o, const std::vector<listener_port>& listeners,
                              bool standalone) {
  Json::Value opts(Json::objectValue);
  Json::Value logins(Json::arrayValue);
  for (const login& l : o.logins) {
    Json::Value entry(Json::objectValue);
    entry["username"] = l.username;
    entry["password"] = masked;  // a pre-hashed one too: it is still a secret to crack
    entry["password_pre_hashed"] = l.password_pre_hashed;
    logins.append(entry);
  }
  opts["logins"] = logins;
  opts["require_certificate"] = o.require_certificate;
  opts["certfile"] = o.certfile;
  opts["keyfile"] = o.keyfile;
  opts["cafile"] = o.effective_cafile();
  opts["customize"]["active"] = o.customize.active;
  opts["customize"]["folder"] = o.customize.folder;
  opts["log_level"] = broker::name_of(o.log_level);
  Json::Value acl(Json::arrayValue);
  for (const acl_rule& r : o.acl) {
    Json::Value entry(Json::objectValue);
    if (r.scope == acl_scope::user) entry["username"] = r.username;
    entry["topic"] = r.topic;
    entry["access"] = access_name(r.access);
    acl.append(entry);
  }
  opts["acl"] = acl;
  opts["durability"] = o.durability == durability_mode::strict ? "strict" : "default";
  opts["max_queued_messages"] = static_cast<Json::UInt64>(o.max_queued_messages);
  opts["max_queued_mb"] = static_cast<Json::UInt64>(o.max_queued_mb);
  opts["max_client_buffer_mb"] = static_cast<Json::UInt64>(o.max_client_buffer_mb);
  // Unset: sized from the host's memory at start (the log line "limits:" gives the figure).
  opts["max_total_buffer_mb"] = o.max_total_buffer_mb
                                    ? Json::Value(static_cast<Json::UInt64>(*o.max_total_buffer_mb))
                                    : Json::Value("by memory");
  opts["max_connections"] = static_cast<Json::UInt64>(o.max_connections);
  opts["connect_timeout"] = static_cast<Json::UInt64>(o.connect_timeout);

  Json::Value root(Json::objectValue);
  root["options"] = opts;
  Json::Value ports(Json::arrayValue);
  for (const listener_port& l : listeners) {
    Json::Value entry(Json::objectValue);
    entry["kind"] = l.kind;
    entry["port"] = l.port;
    ports.append(entry);
  }
  root["listeners"] = ports;
  root["standalone"] = standalone;
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, root);
}

}  // namespace addon
