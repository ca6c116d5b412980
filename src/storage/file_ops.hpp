#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace storage {

// The POSIX calls the store's crash safety rests on, each returning an error code, never
// throwing. Kept apart so the ordering arguments in log_store read as a sequence of named steps.

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Writes every byte, retrying short writes and EINTR.
std::error_code write_all(int fd, std::string_view bytes);
// fdatasync: the data and the size of the file, enough for an appended log.
std::error_code sync_data(int fd);
// fsync of a directory: makes a create, rename or unlink inside it durable.
std::error_code sync_directory(const std::string& dir);

std::error_code open_append(const std::string& path, unique_fd& out);
// O_CREAT | O_EXCL, mode 0600: retained messages may be private.
std::error_code create_exclusive(const std::string& path, unique_fd& out);
std::error_code rename_path(const std::string& from, const std::string& to);
std::error_code remove_path(const std::string& path);
// Creates the directory (and its parents) if missing.
std::error_code make_directory(const std::string& dir);
// Takes an exclusive flock on <dir>/lock, so two brokers never append to the same log. The lock
// goes with the descriptor, also when the process is killed.
std::error_code lock_directory(const std::string& dir, unique_fd& out);

// A read-only view of a whole file. mmap rather than read(): the loader decodes records in place
// and resynchronising after damage needs random access.
class mapped_file {
 public:
  mapped_file() = default;
  ~mapped_file() { reset(); }
  mapped_file(mapped_file&& other) noexcept;
  mapped_file& operator=(mapped_file&& other) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  static std::error_code open(const std::string& path, mapped_file& out);
  std::string_view bytes() const { return {data_, size_}; }
  void reset();

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace storage
