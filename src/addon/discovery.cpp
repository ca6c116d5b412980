#include "addon/discovery.hpp"

#include <json/json.h>

#include <algorithm>
#include <future>
#include <memory>

#include "addon/json_text.hpp"

namespace addon {
namespace {

using broker::log_level;

std::string to_json(const Json::Value& v) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, v);
}

Json::Value config_of(const discovery_settings& s, std::string_view user,
                      const std::string& password) {
  Json::Value config(Json::objectValue);
  config["host"] = s.host;
  config["port"] = static_cast<Json::UInt>(s.port);
  config["ssl"] = false;
  config["protocol"] = "3.1.1";
  config["username"] = std::string(user);
  config["password"] = password;
  return config;
}

const char* step_name(bool service) {
  return service ? "registering the mqtt service" : "sending the discovery message";
}

}  // namespace

std::chrono::milliseconds retry_delay(const discovery_settings& s, unsigned attempt,
                                      double jitter) {
  std::chrono::milliseconds delay = s.first_retry;
  for (unsigned i = 1; i < attempt && delay < s.max_retry; ++i) delay *= 2;
  delay = std::min(delay, s.max_retry);
  jitter = std::clamp(jitter, 0.8, 1.2);
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay.count() * jitter));
}

std::string discovery_body(const discovery_settings& s, const std::string& password) {
  Json::Value body(Json::objectValue);
  body["service"] = "mqtt";
  body["config"] = config_of(s, homeassistant_user_name, password);
  return to_json(body);
}

std::string service_body(const discovery_settings& s, const std::string& password) {
  return to_json(config_of(s, addons_user_name, password));
}

bool supervisor_accepted(const supervisor_response& r) {
  if (r.status < 200 || r.status > 299) return false;
  // A body that is not JSON does not undo a 2xx.
  const std::optional<Json::Value> root = parse_json(r.body, {});
  if (root && root->isObject() && (*root)["result"].isString()) {
    return (*root)["result"].asString() != "error";
  }
  return true;
}

std::string describe_failure(const supervisor_response& r) {
  if (r.status == 0) return r.error;
  std::string text = "HTTP " + std::to_string(r.status);
  const std::optional<Json::Value> root = parse_json(r.body, {});
  if (root && root->isObject() && (*root)["message"].isString()) {
    text += ": " + (*root)["message"].asString();
  }
  return text;
}

discovery::discovery(supervisor_transport& transport, const system_users& users,
                     discovery_settings s, broker::logger& log)
    : transport_(transport),
      users_(users),
      settings_(std::move(s)),
      log_(log),
      random_(std::random_device{}()) {}

void discovery::start() {
  attempt(step::discovery);
}

void discovery::attempt(step s) {
  if (stopping_.load()) return;
  if (s == step::discovery) {
    supervisor_request r{"POST", "/discovery",
                         discovery_body(settings_, users_.homeassistant_password),
                         settings_.request_deadline};
    transport_.send(std::move(r), [this](supervisor_response answer) {
      if (stopping_.load()) return;
      if (!supervisor_accepted(answer)) return failed(step::discovery, describe_failure(answer));
      succeeded_after_failures();
      log_.log(log_level::info, "Supervisor: discovery message sent (host " + settings_.host +
                                    ", port " + std::to_string(settings_.port) +
                                    ", user homeassistant)");
      attempt(step::service);
    });
    return;
  }
  // A stale registration from an earlier run may exist: remove it first, whatever the answer.
  supervisor_request r{"DELETE", "/services/mqtt", "", settings_.request_deadline};
  transport_.send(std::move(r), [this](supervisor_response) { post_service(); });
}

void discovery::post_service() {
  if (stopping_.load()) return;
  supervisor_request r{"POST", "/services/mqtt", service_body(settings_, users_.addons_password),
                       settings_.request_deadline};
  transport_.send(std::move(r), [this](supervisor_response answer) {
    if (stopping_.load()) return;
    if (!supervisor_accepted(answer)) return failed(step::service, describe_failure(answer));
    succeeded_after_failures();
    announced_.store(true);
    log_.log(log_level::info, "Supervisor: mqtt service registered for the other add-ons");
  });
}

void discovery::failed(step s, const std::string& what) {
  ++failures_;
  const std::chrono::milliseconds delay = retry_delay(settings_, failures_, next_jitter());
  // One warning per outage; the retries themselves only at debug level.
  const log_level level = failures_ == 1 ? log_level::warning : log_level::debug;
  if (log_.enabled(level)) {
    log_.log(level, std::string("Supervisor: ") + step_name(s == step::service) + " failed (" +
                        what + "); retrying in " + std::to_string(delay.count()) +
                        " ms, then with backoff up to " +
                        std::to_string(settings_.max_retry.count() / 1000) +
                        " s. MQTT is served meanwhile");
  }
  transport_.schedule(delay, [this, s] { attempt(s); });
}

void discovery::succeeded_after_failures() {
  if (failures_ == 0) return;
  log_.log(log_level::info,
           "Supervisor: answered after " + std::to_string(failures_) + " failed attempts");
  failures_ = 0;
}

double discovery::next_jitter() {
  return std::uniform_real_distribution<double>(0.8, 1.2)(random_);
}

bool discovery::withdraw(std::chrono::milliseconds deadline) {
  stopping_.store(true);
  auto answered = std::make_shared<std::promise<bool>>();
  std::future<bool> result = answered->get_future();
  supervisor_request r{"DELETE", "/services/mqtt", "", deadline};
  transport_.send(std::move(r), [answered, this](supervisor_response answer) {
    const bool ok = supervisor_accepted(answer);
    if (!ok) {
      log_.log(log_level::warning,
               "Supervisor: withdrawing the mqtt service failed: " + describe_failure(answer));
    }
    answered->set_value(ok);
  });
  // The request's own deadline answers first; the margin only covers a transport that stopped.
  if (result.wait_for(deadline + std::chrono::milliseconds(500)) != std::future_status::ready) {
    return false;
  }
  return result.get();
}

}  // namespace addon
