#include "addon/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace addon {

text_file read_text_file(const std::string& path, std::size_t max_bytes) {
  text_file result;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.missing = errno == ENOENT;
    result.error = std::strerror(errno);
    return result;
  }
  std::string text;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      result.error = std::strerror(errno);
      ::close(fd);
      return result;
    }
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      result.error = "larger than " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return result;
    }
  }
  ::close(fd);
  result.text = std::move(text);
  return result;
}

}  // namespace addon
