#include "storage/file_ops.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

mapped_file::mapped_file(mapped_file&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapped_file& mapped_file::operator=(mapped_file&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void mapped_file::reset() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

std::error_code mapped_file::open(const std::string& path, mapped_file& out) {
  out.reset();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_code();
  unique_fd guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_code();
  if (st.st_size == 0) return {};  // mmap refuses length 0; an empty view is right
  int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
  flags |= MAP_POPULATE;  // the whole file is read anyway: one read-ahead instead of page faults
#endif
  void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, flags, fd, 0);
  if (p == MAP_FAILED) return errno_code();
  ::madvise(p, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
  out.data_ = static_cast<const char*>(p);
  out.size_ = static_cast<std::size_t>(st.st_size);
  return {};
}

}  // namespace storage
