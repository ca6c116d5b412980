#pragma once
// Builds the broker's access control from the `acl` option and, when `customize.active`, from the
// `acl_file` directives of the Mosquitto configuration files in <share-dir>/<customize.folder>/.

#include <memory>
#include <string>
#include <vector>

#include "addon/acl.hpp"
#include "addon/acl_rule.hpp"
#include "addon/options.hpp"
#include "bridge/bridge_settings.hpp"

namespace addon {

struct customize_result {
  std::vector<std::string> acl_files;  // resolved paths, in the order found
  std::vector<acl_rule> rules;         // from those files
  // One line per unsupported directive (once per directive name), per acl_file remark, or for a
  // missing folder.
  std::vector<std::string> warnings;
  std::string error;  // an acl_file that cannot be read or is invalid: the broker must not start
  // Bridges (Mosquitto's `connection` sections), their file paths resolved like acl_file's.
  std::vector<bridge::bridge_settings> bridges;
  // A bridge that cannot start, "<file>:<line>: <what>": logged, the broker still serves.
  std::vector<std::string> bridge_errors;
};

// Where the customize folder's relative and add-on paths lead. `hostname` makes the default
// bridge client id, as in Mosquitto.
struct customize_paths {
  std::string share_dir;
  std::string ssl_dir = "/ssl";
  std::string hostname = "mqtt-broker";
};

// Reads every `*.conf` in <share_dir>/<folder>/ (sorted by name, like Mosquitto's include_dir),
// follows each `acl_file <path>` (absolute, or relative to that folder; "/share/..." is resolved
// against `share_dir`, since the add-on sees the share folder there) and parses those files;
// reads the bridges too (bridge file paths: "/ssl/..." against `ssl_dir` as well).
customize_result read_customize_folder(const customize_paths& paths, const std::string& folder);

struct access_control_result {
  std::unique_ptr<acl_authorizer> acl;  // null when `error` is set
  std::vector<std::string> warnings;
  std::string summary;  // one line for the log: where the rules came from, or "no rules"
  std::string error;
  std::vector<bridge::bridge_settings> bridges;  // from the customize folder
  std::vector<std::string> bridge_errors;
};

access_control_result load_access_control(const options& o, const customize_paths& paths);
inline access_control_result load_access_control(const options& o, const std::string& share_dir) {
  return load_access_control(o, customize_paths{share_dir});
}

}  // namespace addon
