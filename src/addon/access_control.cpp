#include "addon/access_control.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "addon/acl_file.hpp"
#include "addon/text_file.hpp"

namespace addon {
namespace {

namespace fs = std::filesystem;

// Configuration files are small; anything larger is a mistake, not a configuration.
constexpr std::size_t max_config_file_bytes = 4 * 1024 * 1024;

std::string_view trim(std::string_view s) {
  const std::size_t start = s.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(start, end - start + 1);
}

// "/share/x" names the share folder as the add-on sees it: map it to --share-dir.
fs::path resolve_acl_path(std::string_view value, const fs::path& folder, const fs::path& share) {
  const fs::path p(value);
  if (p.is_relative()) return folder / p;
  constexpr std::string_view share_prefix = "/share/";
  if (value.substr(0, share_prefix.size()) == share_prefix) {
    return share / fs::path(value.substr(share_prefix.size()));
  }
  if (value == "/share") return share;
  return p;
}

// The directives of one Mosquitto .conf file that matter here.
void scan_conf(std::string_view text, const fs::path& conf, const fs::path& folder,
               const fs::path& share, std::vector<fs::path>& acl_files,
               std::set<std::string, std::less<>>& unsupported_seen,
               std::vector<std::string>& warnings) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.find_first_of(" \t");
    const std::string_view directive = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));
    const std::string where = conf.string() + ":" + std::to_string(line_number);
    if (directive == "acl_file") {
      if (value.empty()) {
        warnings.push_back(where + ": acl_file without a path, ignored");
      } else {
        acl_files.push_back(resolve_acl_path(value, folder, share));
      }
      continue;
    }
    if (unsupported_seen.insert(std::string(directive)).second) {
      warnings.push_back(where + ": '" + std::string(directive) +
                         "' is not supported by this broker, ignored (only acl_file is read from "
                         "the customize folder)");
    }
  }
}

}  // namespace

customize_result read_customize_folder(const std::string& share_dir, const std::string& folder) {
  customize_result result;
  const fs::path share(share_dir);
  const fs::path dir = share / folder;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    result.warnings.push_back("customize: " + dir.string() +
                              " is not a folder; no extra configuration read");
    return result;
  }
  std::vector<fs::path> confs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".conf") continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    confs.push_back(it->path());
  }
  if (ec) {
    result.error = "customize: cannot list " + dir.string() + ": " + ec.message();
    return result;
  }
  std::sort(confs.begin(), confs.end());

  std::vector<fs::path> acl_paths;
  std::set<std::string, std::less<>> unsupported_seen;
  for (const fs::path& conf : confs) {
    const text_file f = read_text_file(conf.string(), max_config_file_bytes);
    if (!f.text) {
      // The file may hold an acl_file directive: starting without it could open every topic.
      result.error = "customize: cannot read " + conf.string() + ": " + f.error;
      return result;
    }
    scan_conf(*f.text, conf, dir, share, acl_paths, unsupported_seen, result.warnings);
  }
  for (const fs::path& path : acl_paths) {
    const text_file f = read_text_file(path.string(), max_config_file_bytes);
    if (!f.text) {
      result.error = "customize: cannot read the acl_file " + path.string() + ": " + f.error;
      return result;
    }
    acl_file_result parsed = parse_acl_file(*f.text, path.string());
    if (!parsed.error.empty()) {
      result.error = "customize: invalid acl_file: " + parsed.error;
      return result;
    }
    for (std::string& w : parsed.warnings) result.warnings.push_back("customize: " + w);
    for (acl_rule& r : parsed.rules) result.rules.push_back(std::move(r));
    result.acl_files.push_back(path.string());
  }
  return result;
}

access_control_result load_access_control(const options& o, const std::string& share_dir) {
  access_control_result result;
  std::vector<acl_rule> rules = o.acl;
  std::vector<std::string> files;
  if (o.customize.active) {
    customize_result c = read_customize_folder(share_dir, o.customize.folder);
    result.warnings = std::move(c.warnings);
    if (!c.error.empty()) {
      result.error = std::move(c.error);
      return result;
    }
    for (acl_rule& r : c.rules) rules.push_back(std::move(r));
    files = std::move(c.acl_files);
  }
  // As in Mosquitto, an acl_file makes access control apply even when it holds no rule.
  const bool enforced = !rules.empty() || !files.empty();
  if (!enforced) {
    result.summary = "access control: no rules, every user may use every topic";
  } else {
    result.summary =
        "access control: " + std::to_string(o.acl.size()) + " rules from the acl option";
    for (const std::string& f : files) result.summary += ", acl_file " + f;
    result.summary += "; " + std::to_string(rules.size()) +
                      " rules in all (homeassistant and addons always have full access)";
    if (rules.empty()) {
      result.warnings.push_back(
          "access control: the acl_file holds no rules, so every user but homeassistant and "
          "addons is denied every topic");
    }
  }
  result.acl = std::make_unique<acl_authorizer>(rules, enforced);
  return result;
}

}  // namespace addon
