#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/log_store.hpp"

namespace storage::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Collects the store's log lines; safe to call from the writer thread.
class log_capture {
 public:
  log_fn fn();
  std::vector<std::string> lines() const;
  std::string joined() const;
  bool contains(std::string_view text) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

using contents = std::map<std::string, std::string>;

struct opened_store {
  std::unique_ptr<log_store> store;
  contents records;  // what open() handed to the visitor
};

// Opens `dir`; fails the current test (and returns a null store) if open() reports an error.
opened_store open_store(const std::string& dir, const log_store_options& options = {},
                        log_fn log = {});
// Opens, collects every record, closes.
contents read_store(const std::string& dir, log_fn log = {});

std::vector<std::string> list_files(const std::string& dir);
// Names in `dir` starting with `prefix`.
std::vector<std::string> files_starting_with(const std::string& dir, std::string_view prefix);
std::uint64_t total_size(const std::string& dir);
std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view bytes);

std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms);

}  // namespace storage::test
