#pragma once

#include <cstdint>
#include <functional>
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

// A whole file read into memory, for the loader (which decodes records in place and, after
// damage, resynchronises with random access). read(), not mmap: a bad sector of an SD card is
// EIO here, where through a mapping it was SIGBUS and the broker died at every start.
struct file_contents {
  std::string bytes;
  // Bytes that could not be read (I/O errors): zeros in `bytes`, so the loader sees them as
  // damage and resynchronises behind them, as after any corruption.
  std::uint64_t unreadable = 0;
};

// Reads `size` bytes at `offset` into `out` (short only at the end of the file), or fails
// with errno set. ::pread, or a stand-in in tests.
using pread_fn = std::function<long(char* out, std::size_t size, std::uint64_t offset)>;

// Reads `size` bytes with `read`: in chunks, and a chunk that fails page by page, each page that
// still fails zero-filled and counted. Stops early at the end of the file.
file_contents read_tolerant(std::uint64_t size, const pread_fn& read);

// read_tolerant() of the file at `path`; fails only when it cannot be opened or examined.
std::error_code read_whole_file(const std::string& path, file_contents& out);

}  // namespace storage
