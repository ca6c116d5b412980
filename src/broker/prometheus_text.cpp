#include "broker/prometheus_text.hpp"

#include <cmath>
#include <cstdio>

namespace broker {

namespace {

void append_escaped(std::string& out, std::string_view value, bool quote_too) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_too) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

void prometheus_text::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);  // HELP escapes only backslash and newline
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void prometheus_text::start_sample(std::string_view name, std::initializer_list<label> labels) {
  out_ += name;
  if (labels.size() == 0) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    append_escaped(out_, value, true);
    out_ += '"';
  }
  out_ += "} ";
}

void prometheus_text::sample(std::string_view name, std::uint64_t value,
                             std::initializer_list<label> labels) {
  start_sample(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void prometheus_text::sample(std::string_view name, double value,
                             std::initializer_list<label> labels) {
  start_sample(name, labels);
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    out_ += text;
  }
  out_ += '\n';
}

void prometheus_text::counter(std::string_view name, std::string_view help, std::uint64_t value) {
  family(name, "counter", help);
  sample(name, value);
}

void prometheus_text::gauge(std::string_view name, std::string_view help, std::uint64_t value) {
  family(name, "gauge", help);
  sample(name, value);
}

}  // namespace broker
