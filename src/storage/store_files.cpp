#include "storage/store_files.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace storage {
namespace {

constexpr std::string_view log_prefix = "log-";
constexpr std::string_view snapshot_prefix = "snapshot-";
constexpr std::string_view tmp_suffix = ".tmp";
constexpr std::string_view aside_marker = ".corrupt-";
constexpr std::size_t gen_digits = 20;

bool parse_gen(std::string_view digits, std::uint64_t& gen) {
  if (digits.size() != gen_digits) return false;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), gen);
  return ec == std::errc{} && ptr == digits.data() + digits.size();
}

// Larger writes mean fewer system calls; 1 MiB also suits SD cards' erase blocks.
constexpr std::size_t snapshot_chunk = 1 << 20;

}  // namespace

std::string file_name(file_kind kind, std::uint64_t gen) {
  char digits[gen_digits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(gen));
  return std::string(kind == file_kind::log ? log_prefix : snapshot_prefix) + digits;
}

std::string path_in(const std::string& dir, std::string_view name) {
  std::string p = dir;
  p += '/';
  p += name;
  return p;
}

std::error_code list_store_dir(const std::string& dir, dir_listing& out) {
  out = dir_listing{};
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return ec;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return ec;
    const std::string name = it->path().filename().string();
    std::error_code size_ec;
    const std::uint64_t size = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
    store_file f{name, file_kind::log, 0, size_ec ? 0 : size};
    if (name.find(aside_marker) != std::string::npos) {
      ++out.set_aside_files;
      out.set_aside_bytes += f.size;
    } else if (name.ends_with(tmp_suffix)) {
      out.temporaries.push_back(name);
    } else if (name.starts_with(log_prefix) &&
               parse_gen(std::string_view(name).substr(log_prefix.size()), f.gen)) {
      out.logs.push_back(f);
    } else if (name.starts_with(snapshot_prefix) &&
               parse_gen(std::string_view(name).substr(snapshot_prefix.size()), f.gen)) {
      f.kind = file_kind::snapshot;
      out.snapshots.push_back(f);
    }
  }
  const auto by_gen = [](const store_file& a, const store_file& b) { return a.gen < b.gen; };
  std::sort(out.snapshots.begin(), out.snapshots.end(), by_gen);
  std::sort(out.logs.begin(), out.logs.end(), by_gen);
  return {};
}

std::error_code create_log(const std::string& dir, std::uint64_t gen, unique_fd& out) {
  unique_fd fd;
  const std::string path = path_in(dir, file_name(file_kind::log, gen));
  if (auto ec = create_exclusive(path, fd)) return ec;
  const auto header = encode_file_header(file_kind::log, gen);
  std::error_code ec = write_all(fd.get(), {header.data(), header.size()});
  if (!ec) ec = sync_data(fd.get());
  if (!ec) ec = sync_directory(dir);
  if (ec) {
    fd.reset();
    remove_path(path);
    return ec;
  }
  out = std::move(fd);
  return {};
}

std::error_code set_aside(const std::string& dir, const std::string& name, std::string& new_name) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string base =
      name + std::string(aside_marker) +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  new_name = base;
  std::error_code ec;
  for (int n = 1; std::filesystem::exists(path_in(dir, new_name), ec); ++n) {
    new_name = base + "-" + std::to_string(n);
  }
  if (ec) return ec;
  if ((ec = rename_path(path_in(dir, name), path_in(dir, new_name)))) return ec;
  return sync_directory(dir);
}

snapshot_result write_snapshot(const std::string& dir, std::uint64_t gen, const live_map& records,
                               const std::atomic<bool>* cancel) {
  snapshot_result result;
  const std::string final_path = path_in(dir, file_name(file_kind::snapshot, gen));
  const std::string tmp_path = final_path + std::string(tmp_suffix);
  remove_path(tmp_path);  // a leftover from a crash would make O_EXCL fail
  unique_fd fd;
  if ((result.error = create_exclusive(tmp_path, fd))) return result;

  const auto fail = [&](std::error_code ec) {
    fd.reset();
    remove_path(tmp_path);
    result.error = ec;
    return result;
  };
  // Room for one chunk, or for the whole snapshot when it is smaller: a store of a few records
  // (every recovery of a small or damaged store) should not allocate and touch a whole MiB.
  std::size_t wanted = file_header_size + 4096;
  for (auto it = records.begin(); it != records.end() && wanted < snapshot_chunk; ++it) {
    wanted += frame_size(it->first, it->second.size());
  }
  std::string buffer;
  buffer.reserve(std::min(wanted, snapshot_chunk + 4096));
  const auto header = encode_file_header(file_kind::snapshot, gen);
  buffer.append(header.data(), header.size());
  std::uint64_t frame_bytes = 0;
  std::string scratch;  // the bytes of a shared value
  for (const auto& [key, stored] : records) {
    const std::string_view value = stored.bytes(scratch);
    append_frame(buffer, record_type::put, key, value);
    frame_bytes += frame_size(key, value);
    ++result.records;
    if (buffer.size() >= snapshot_chunk) {
      if (cancel != nullptr && cancel->load()) {
        return fail(std::make_error_code(std::errc::operation_canceled));
      }
      if (auto ec = write_all(fd.get(), buffer)) return fail(ec);
      result.bytes += buffer.size();
      buffer.clear();
    }
  }
  append_frame(buffer, record_type::snapshot_end, {},
               encode_snapshot_end(result.records, frame_bytes));
  if (auto ec = write_all(fd.get(), buffer)) return fail(ec);
  result.bytes += buffer.size();
  // Order matters: the data must be on disk before the rename can publish it, and the rename
  // must be on disk before the caller deletes the files this snapshot replaces.
  if (auto ec = sync_data(fd.get())) return fail(ec);
  fd.reset();
  if (auto ec = rename_path(tmp_path, final_path)) return fail(ec);
  result.error = sync_directory(dir);
  return result;
}

}  // namespace storage
