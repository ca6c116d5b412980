#pragma once
// Writes the Prometheus text exposition format (version 0.0.4): one "# HELP" and "# TYPE" line
// per metric family, then its samples. Label values are escaped as the format requires
// (backslash, double quote, newline). No I/O: the HTTP server sends what take() returns.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace broker {

class prometheus_text {
 public:
  using label = std::pair<std::string_view, std::string_view>;

  // Starts a family; `type` is "counter" or "gauge". Counter names end in _total.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::uint64_t value, std::initializer_list<label> labels = {});
  void sample(std::string_view name, double value, std::initializer_list<label> labels = {});

  // A family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, std::uint64_t value);
  void gauge(std::string_view name, std::string_view help, std::uint64_t value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void start_sample(std::string_view name, std::initializer_list<label> labels);
  std::string out_;
};

}  // namespace broker
