#include "store_test_support.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace storage::test {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/storage-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

log_fn log_capture::fn() {
  return [this](std::string_view line) {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
  };
}

std::vector<std::string> log_capture::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string log_capture::joined() const {
  std::string all;
  for (const auto& line : lines()) all += line + "\n";
  return all;
}

bool log_capture::contains(std::string_view text) const {
  return joined().find(text) != std::string::npos;
}

opened_store open_store(const std::string& dir, const log_store_options& options, log_fn log) {
  opened_store out;
  auto result = log_store::open(dir, options, std::move(log),
                                [&](std::string_view key, std::string_view value) {
                                  out.records.emplace(std::string(key), std::string(value));
                                  return shared_value{};
                                });
  EXPECT_EQ(result.error, "");
  EXPECT_NE(result.store, nullptr);
  out.store = std::move(result.store);
  return out;
}

contents read_store(const std::string& dir, log_fn log) {
  opened_store s = open_store(dir, {}, std::move(log));
  if (s.store) {
    EXPECT_TRUE(s.store->close(in(std::chrono::seconds(5))));
  }
  return s.records;
}

std::vector<std::string> list_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> files_starting_with(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> names;
  for (auto& name : list_files(dir)) {
    if (name.starts_with(prefix)) names.push_back(name);
  }
  return names;
}

std::uint64_t total_size(const std::string& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

}  // namespace storage::test
