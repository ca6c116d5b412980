#include "addon/system_users.hpp"
#include "addon/json_text.hpp"
#include "addon/text_file.hpp"

#include <fcntl.h>
#include <json/json.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace addon {

namespace {

constexpr std::size_t password_length = 64;

std::string errno_text() {
  return std::strerror(errno);
}

// Returns what is wrong with the file's content, or an empty string.
std::string parse_users(const std::string& text, system_users& out) {
  const std::optional<Json::Value> parsed = parse_json(text, {.fail_if_extra = true});
  if (!parsed || !parsed->isObject()) return "not a JSON object";
  const Json::Value& root = *parsed;
  for (const std::string_view name : {homeassistant_user_name, addons_user_name}) {
    const std::string key(name);
    const Json::Value& user = root[key];
    if (!user.isObject() || !user["password"].isString() || user["password"].asString().empty()) {
      return "no " + key + ".password string";
    }
    (name == homeassistant_user_name ? out.homeassistant_password : out.addons_password) =
        user["password"].asString();
  }
  return {};
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes a temporary file, syncs it and renames it into place, so a crash never leaves a
// half-written file that the next start would have to refuse.
// Returns what went wrong, or nothing; `error` gets the errno of it.
std::string write_users(const std::string& data_dir, const std::string& path,
                        const system_users& users, int& error) {
  Json::Value root(Json::objectValue);
  root[std::string(homeassistant_user_name)]["password"] = users.homeassistant_password;
  root[std::string(addons_user_name)]["password"] = users.addons_password;
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  const std::string text = Json::writeString(builder, root) + "\n";

  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = errno;
    return "cannot create " + temp + ": " + errno_text();
  }
  // A stale temporary file from a crash keeps its old mode through O_TRUNC.
  if (::fchmod(fd, 0600) != 0 || !write_all(fd, text) || ::fsync(fd) != 0) {
    error = errno;
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(temp.c_str());
    return "cannot write " + temp + ": " + why;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    error = errno;
    const std::string why = errno_text();
    ::unlink(temp.c_str());
    return "cannot create " + path + ": " + why;
  }
  const int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

bool is_system_user_name(std::string_view username) {
  return username == homeassistant_user_name || username == addons_user_name;
}

std::optional<std::string> generate_password() {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // Bytes >= 248 are rejected so each of the 62 characters is equally likely (248 = 4 * 62).
  constexpr unsigned limit = 248;
  std::string password;
  unsigned char random[96];
  while (password.size() < password_length) {
    if (RAND_bytes(random, sizeof random) != 1) return std::nullopt;
    for (const unsigned char b : random) {
      if (b >= limit || password.size() == password_length) continue;
      password.push_back(alphabet[b % alphabet.size()]);
    }
  }
  return password;
}

system_users_result load_or_create_system_users(const std::string& data_dir) {
  system_users_result result;
  result.path = data_dir + "/" + std::string(system_users_file_name);
  const std::string advice = ": fix it or delete it to generate new credentials";

  const text_file file = read_text_file(result.path, 64 * 1024);
  if (file.text) {
    system_users users;
    const std::string problem = parse_users(*file.text, users);
    if (!problem.empty()) {
      result.error = result.path + " is corrupt (" + problem + ")" + advice;
      return result;
    }
    result.value = std::move(users);
    return result;
  }
  if (!file.missing) {
    result.error = "cannot read " + result.path + ": " + file.error + advice;
    return result;
  }

  std::optional<std::string> homeassistant = generate_password();
  std::optional<std::string> addons = generate_password();
  if (!homeassistant || !addons) {
    result.error = "cannot generate system user passwords: the OpenSSL random generator failed";
    return result;
  }
  system_users users{std::move(*homeassistant), std::move(*addons)};
  int error = 0;
  if (std::string problem = write_users(data_dir, result.path, users, error); !problem.empty()) {
    if (error != ENOSPC && error != EDQUOT) {
      result.error = std::move(problem);
      return result;
    }
    result.not_saved = std::move(problem);
  }
  result.value = std::move(users);
  result.created = true;
  return result;
}

}  // namespace addon
