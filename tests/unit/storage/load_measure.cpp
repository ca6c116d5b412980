// Measures what issue 5 asks about the store: load time of 1,000,000 records of 100 bytes and
// the bytes written per record. Not a test (prints, asserts nothing). Usage:
//   storage_load_measure [directory [reopen]]
// Default: a new directory under /tmp, removed after. With "reopen", only the load of an
// existing directory is measured (for profiling).
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "storage/log_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Retained messages as a hub sees them: a fixed set of topics updated over and over. Reports the
// bytes written per update, compactions included.
int measure_updates() {
  std::string tmpl = "/tmp/storage-updates-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::string dir = tmpl;
  constexpr int topics = 10'000;
  constexpr int updates = 1'000'000;
  storage::log_store_options options;
  auto opened = storage::log_store::open(dir, options, {}, {});
  if (!opened.store) return 1;
  auto& store = *opened.store;
  std::string value(100, 'x');
  const auto start = clock_type::now();
  for (int i = 0; i < updates; ++i) {
    value[i % value.size()] = static_cast<char>('a' + i % 26);
    const std::string key =
        "r/homeassistant/sensor/device_" + std::to_string(i % topics) + "/state";
    while (!store.put(key, value, clock_type::now() + std::chrono::seconds(5)).ok()) {
    }
  }
  store.flush(clock_type::now() + std::chrono::seconds(60));
  const double took = seconds_since(start);
  // Let the last compaction finish, so its writes are counted.
  auto st = store.stats();
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t dead = st.snapshot_bytes + st.log_bytes - st.live_bytes;
    if (dead <= std::max<std::uint64_t>(options.compaction_min_dead_bytes, st.live_bytes)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = store.stats();
  }
  std::printf(
      "%d updates of %d retained topics (100-byte values) in %.2f s: %llu commits, %llu "
      "compactions, %.1f bytes written per update (%.1f of them log, %.1f snapshot)\n",
      updates, topics, took, static_cast<unsigned long long>(st.commits),
      static_cast<unsigned long long>(st.compactions),
      static_cast<double>(st.bytes_written) / updates,
      static_cast<double>(st.log_bytes_written) / updates,
      static_cast<double>(st.snapshot_bytes_written) / updates);
  store.close(clock_type::now() + std::chrono::seconds(60));
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool remove_after = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl = "/tmp/storage-load-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
    remove_after = true;
  }
  const auto log = [](std::string_view line) {
    std::printf("  | %.*s\n", static_cast<int>(line.size()), line.data());
  };
  constexpr int records = 1'000'000;
  constexpr std::size_t value_size = 100;

  storage::log_store_options options;
  std::uint64_t written = 0, records_written = 0, commits = 0, compactions = 0;
  const bool write_phase = !(argc > 2 && std::string(argv[2]) == "reopen");
  if (write_phase) {
    auto opened = storage::log_store::open(dir, options, log, {});
    if (!opened.store) {
      std::fprintf(stderr, "open failed: %s\n", opened.error.c_str());
      return 1;
    }
    auto& store = *opened.store;
    const auto start = clock_type::now();
    std::string value(value_size, 'x');
    for (int i = 0; i < records; ++i) {
      value[i % value_size] = static_cast<char>('a' + i % 26);
      const std::string key = "r/homeassistant/sensor/device_" + std::to_string(i) + "/state";
      // A full queue means the disk is behind: wait for it, as a producer would.
      while (!store.put(key, value, clock_type::now() + std::chrono::seconds(5)).ok()) {
      }
    }
    const double enqueue = seconds_since(start);
    store.flush(clock_type::now() + std::chrono::seconds(60));
    const double durable = seconds_since(start);
    const auto st = store.stats();
    written = st.bytes_written;
    records_written = st.records_written;
    commits = st.commits;
    compactions = st.compactions;
    std::printf("wrote %d records of %zu-byte values: enqueued in %.2f s, durable after %.2f s\n",
                records, value_size, enqueue, durable);
    store.close(clock_type::now() + std::chrono::seconds(60));
  }
  if (write_phase) {
    std::printf("commits %llu, compactions %llu, bytes written %llu = %.1f per record\n",
                static_cast<unsigned long long>(commits),
                static_cast<unsigned long long>(compactions),
                static_cast<unsigned long long>(written),
                static_cast<double>(written) / static_cast<double>(records_written));
  }

  // Reopen twice: the first may follow a compaction still pending; the second is a plain start.
  for (int pass = 1; pass <= 2; ++pass) {
    std::uint64_t visited = 0, bytes = 0;
    const auto start = clock_type::now();
    auto opened = storage::log_store::open(dir, options, log,
                                           [&](std::string_view key, std::string_view value) {
                                             ++visited;
                                             bytes += key.size() + value.size();
                                             return storage::shared_value{};
                                           });
    const double took = seconds_since(start);
    if (!opened.store) {
      std::fprintf(stderr, "reopen failed: %s\n", opened.error.c_str());
      return 1;
    }
    std::uintmax_t on_disk = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.is_regular_file()) on_disk += e.file_size();
    }
    std::printf(
        "open %d: %llu records (%.1f MB of keys and values) loaded in %.3f s; %.1f MB on disk\n",
        pass, static_cast<unsigned long long>(visited), static_cast<double>(bytes) / 1e6, took,
        static_cast<double>(on_disk) / 1e6);
    opened.store->close(clock_type::now() + std::chrono::seconds(60));
  }
  if (remove_after) std::filesystem::remove_all(dir);
  return write_phase ? measure_updates() : 0;
}
