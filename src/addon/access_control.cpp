#include "addon/access_control.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "addon/acl_file.hpp"
#include "addon/mosquitto_conf.hpp"
#include "addon/text_file.hpp"

namespace addon {
namespace {

namespace fs = std::filesystem;

// Configuration files are small; anything larger is a mistake, not a configuration.
constexpr std::size_t max_config_file_bytes = 4 * 1024 * 1024;

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

// "/ssl/x" names the add-on's ssl folder: map it to --ssl-dir; the rest as for acl files.
std::string resolve_bridge_path(const std::string& value, const fs::path& folder,
                                const fs::path& share, const fs::path& ssl) {
  if (value.empty()) return value;
  constexpr std::string_view ssl_prefix = "/ssl/";
  if (std::string_view(value).substr(0, ssl_prefix.size()) == ssl_prefix) {
    return (ssl / fs::path(value.substr(ssl_prefix.size()))).string();
  }
  return resolve_acl_path(value, folder, share).string();
}

}  // namespace

customize_result read_customize_folder(const customize_paths& paths, const std::string& folder) {
  customize_result result;
  const fs::path share(paths.share_dir);
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
  mosquitto_conf_reader reader(paths.hostname);
  for (const fs::path& conf : confs) {
    const text_file f = read_text_file(conf.string(), max_config_file_bytes);
    if (!f.text) {
      // The file may hold an acl_file directive: starting without it could open every topic.
      result.error = "customize: cannot read " + conf.string() + ": " + f.error;
      return result;
    }
    reader.read(*f.text, conf.string());
  }
  mosquitto_conf conf = reader.finish();
  for (const conf_acl_file& a : conf.acl_files) {
    acl_paths.push_back(resolve_acl_path(a.value, dir, share));
  }
  result.warnings = std::move(conf.warnings);
  result.bridge_errors = std::move(conf.bridge_errors);
  const fs::path ssl(paths.ssl_dir);
  for (bridge::bridge_settings& b : conf.bridges) {
    for (std::string* file : {&b.tls.cafile, &b.tls.capath, &b.tls.certfile, &b.tls.keyfile}) {
      *file = resolve_bridge_path(*file, dir, share, ssl);
    }
  }
  result.bridges = std::move(conf.bridges);
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

access_control_result load_access_control(const options& o, const customize_paths& paths) {
  access_control_result result;
  std::vector<acl_rule> rules = o.acl;
  std::vector<std::string> files;
  if (o.customize.active) {
    customize_result c = read_customize_folder(paths, o.customize.folder);
    result.warnings = std::move(c.warnings);
    result.bridges = std::move(c.bridges);
    result.bridge_errors = std::move(c.bridge_errors);
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
