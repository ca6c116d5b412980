#pragma once
// The parts of Mosquitto's configuration syntax that the customize folder may hold, so files
// written for the Mosquitto add-on work unchanged: `acl_file` lines and bridges (`connection`
// and the directives after it). Everything else (listeners, persistence, logging...) belongs to
// the add-on's own options: such a directive is reported once and ignored.
//
// I/O-free: the caller reads the files and passes their text, in the order Mosquitto's
// include_dir reads them (sorted by name). A bad line makes only its bridge invalid: the error
// names the file and line, the other bridges and the acl files are unaffected.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bridge_settings.hpp"

namespace addon {

struct conf_acl_file {
  std::string value;  // the path as written
  std::string where;  // "<file>:<line>"
};

struct mosquitto_conf {
  std::vector<conf_acl_file> acl_files;
  std::vector<bridge::bridge_settings> bridges;  // valid ones, with defaults filled in
  std::vector<std::string> warnings;             // directives ignored, once per name
  // One line per bridge that cannot start: "<file>:<line>: <what>; bridge '<name>' not started".
  std::vector<std::string> bridge_errors;
};

class mosquitto_conf_reader {
 public:
  // `hostname` makes the default remote client id, "<hostname>.<connection>", as in Mosquitto.
  explicit mosquitto_conf_reader(std::string hostname);

  // One file's text; `name` (its path) prefixes every message. Never throws.
  void read(std::string_view text, const std::string& name);
  // After the last file.
  mosquitto_conf finish();

 private:
  struct open_bridge {
    bridge::bridge_settings settings;
    bool invalid = false;
  };
  void handle(std::string_view directive, std::string_view value, const std::string& where);
  // Returns an error text, empty when the line is fine.
  std::string apply_bridge_directive(bridge::bridge_settings& b, std::string_view directive,
                                     std::string_view value, const std::string& where);
  void ignore_once(std::string_view directive, const std::string& where, const char* why);
  // The bridge is not started; the first error of each bridge is reported.
  void refuse(open_bridge& b, const std::string& where, const std::string& error);

  std::string hostname_;
  mosquitto_conf result_;
  std::vector<open_bridge> bridges_;
  bool in_bridge_ = false;  // a `connection` line was seen in the current file
  std::set<std::string, std::less<>> ignored_seen_;
};

// Whether `value` is one of Mosquitto's booleans (true/false, 1/0); sets `out`.
bool parse_conf_bool(std::string_view value, bool& out);

}  // namespace addon
