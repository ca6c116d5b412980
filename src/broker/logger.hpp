#pragma once
// One line per event, for the add-on's log tab: "2026-11-25 08:52:06 info [client-id] message".
// Thread-safe; passed by reference to whoever logs (no global logger).

#include <mutex>
#include <optional>
#include <ostream>
#include <string_view>

namespace broker {

enum class log_level { trace, debug, info, notice, warning, error, fatal };

std::optional<log_level> parse_log_level(std::string_view name);
const char* name_of(log_level level);

class logger {
 public:
  logger(log_level min_level, std::ostream& out) : min_level_(min_level), out_(&out) {}

  bool enabled(log_level level) const { return level >= min_level_; }
  void set_level(log_level level) { min_level_ = level; }

  // `client_id` may be empty for broker-wide events.
  void log(log_level level, std::string_view client_id, std::string_view message);
  void log(log_level level, std::string_view message) { log(level, {}, message); }

 private:
  log_level min_level_;
  std::ostream* out_;
  std::mutex mutex_;
};

}  // namespace broker
