#include "broker/logger.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <string>

namespace broker {

namespace {
constexpr std::array<const char*, 7> level_names = {"trace",   "debug", "info", "notice",
                                                    "warning", "error", "fatal"};
}

std::optional<log_level> parse_log_level(std::string_view name) {
  for (std::size_t i = 0; i < level_names.size(); ++i) {
    if (name == level_names[i]) return static_cast<log_level>(i);
  }
  return std::nullopt;
}

const char* name_of(log_level level) {
  return level_names[static_cast<std::size_t>(level)];
}

void logger::log(log_level level, std::string_view client_id, std::string_view message) {
  if (!enabled(level)) return;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  localtime_r(&now, &parts);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &parts);

  std::string line;
  line.reserve(48 + client_id.size() + message.size());
  line += stamp;
  line += ' ';
  line += name_of(level);
  line += ' ';
  if (!client_id.empty()) {
    line += '[';
    line += client_id;
    line += "] ";
  }
  line += message;
  line += '\n';
  std::lock_guard lock(mutex_);
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->flush();
}

}  // namespace broker
