#include "storage/file_ops.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace storage {
namespace {

std::error_code errno_code() {
  return {errno, std::generic_category()};
}

}  // namespace

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void unique_fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::error_code write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_code();
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code sync_data(int fd) {
  // No retry on failure: after a failed fsync Linux may have dropped the dirty pages, so a second
  // fsync can succeed without the data being on disk. The caller starts a new file instead.
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno_code();
  }
  return {};
}

std::error_code sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_code();
  unique_fd guard(fd);
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno_code();
  }
  return {};
}

std::error_code open_append(const std::string& path, unique_fd& out) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno_code();
  out = unique_fd(fd);
  return {};
}

std::error_code create_exclusive(const std::string& path, unique_fd& out) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno_code();
  out = unique_fd(fd);
  return {};
}

std::error_code rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_code();
  return {};
}

std::error_code remove_path(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_code();
  return {};
}

std::error_code make_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return ec;
}

std::error_code lock_directory(const std::string& dir, unique_fd& out) {
  const std::string path = dir + "/lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_code();
  unique_fd guard(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return errno_code();
  out = std::move(guard);
  return {};
}

file_contents read_tolerant(std::uint64_t size, const pread_fn& read) {
  constexpr std::size_t chunk = 1 << 20;
  constexpr std::size_t page = 4096;
  file_contents out;
  out.bytes.resize(size);
  // Reads [at, at + n) whole, or returns false at the first error; `got` ends short at EOF.
  const auto read_span = [&](std::uint64_t at, std::size_t n, std::size_t& got) {
    got = 0;
    while (got < n) {
      const long r = read(out.bytes.data() + at + got, n - got, at + got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return false;
      if (r == 0) return true;  // the file is shorter than it was: stop there
      got += static_cast<std::size_t>(r);
    }
    return true;
  };
  std::uint64_t at = 0;
  while (at < size) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - at));
    std::size_t got = 0;
    if (read_span(at, n, got)) {
      at += got;
      if (got < n) break;
      continue;
    }
    // Somewhere in this chunk the disk fails: page by page, keeping what can be read.
    for (std::uint64_t p = at; p < at + n; p += page) {
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(page, at + n - p));
      std::size_t part = 0;
      if (!read_span(p, len, part)) {
        std::fill_n(out.bytes.data() + p, len, '\0');
        out.unreadable += len;
      }
    }
    at += n;
  }
  out.bytes.resize(static_cast<std::size_t>(at));
  return out;
}

std::error_code read_whole_file(const std::string& path, file_contents& out) {
  out = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_code();
  unique_fd guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_code();
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  out = read_tolerant(static_cast<std::uint64_t>(st.st_size),
                      [fd](char* to, std::size_t n, std::uint64_t offset) {
                        return static_cast<long>(::pread(fd, to, n, static_cast<off_t>(offset)));
                      });
  return {};
}

}  // namespace storage
