// libFuzzer target: the durable store's recovery over arbitrary file contents (frame scan,
// resynchronisation, snapshot checks, the recovered state written as a new snapshot, damaged files
// set aside), then the broker's records read back from it and restored into a broker core. The
// input is a set of files (store_image.hpp), written to a fresh directory on tmpfs (/dev/shm when
// present) per input and removed after it.
//
// Checked on every input, beyond "no crash, no sanitizer report, no leak":
// - damaged data never makes recovery fail (only an unusable directory may);
// - recovery leaves a clean store: recovered again, it finds no damage and the same records.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "broker/broker_core.hpp"
#include "storage/broker_store.hpp"
#include "storage/record_frame.hpp"
#include "storage/state_loader.hpp"
#include "storage/store_files.hpp"
#include "storage/store_recovery.hpp"
#include "store_image.hpp"

namespace {

namespace fs = std::filesystem;
using namespace fuzz::store_image;

void remove_work_dir();

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_store: %s\n", what.c_str());
  remove_work_dir();  // the input reproduces the files; abort() runs no exit handler
  std::abort();
}

class null_buffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

class refuse_all : public broker::authenticator {
 public:
  void authenticate(const broker::credentials&,
                    std::function<void(broker::auth_result)> done) override {
    done(broker::auth_result::not_authorized);
  }
};

constexpr std::string_view work_dir_prefix = "mqtt-broker-fuzz-store-";

const fs::path& work_base() {
  static const fs::path base =
      fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  return base;
}

// One directory per process, so that parallel fuzzers (-jobs, -fork, CI's --jobs 2) never share
// one. It exists only while an input runs.
const fs::path& work_dir() {
  static const fs::path dir =
      work_base() / (std::string(work_dir_prefix) + std::to_string(::getpid()));
  return dir;
}

void remove_work_dir() {
  std::error_code ec;
  fs::remove_all(work_dir(), ec);
}

// An input that ends the process (a crash, a sanitizer report, a timeout) leaves its directory
// behind: libFuzzer leaves through _Exit, so no exit handler runs. The next run removes those of
// processes that are gone.
void remove_dead_work_dirs() {
  std::error_code ec;
  for (fs::directory_iterator it(work_base(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(work_dir_prefix)) continue;
    const std::string_view digits = std::string_view(name).substr(work_dir_prefix.size());
    pid_t pid = 0;
    const auto [end_of_number, parse_ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (parse_ec != std::errc{} || end_of_number != digits.data() + digits.size() || pid <= 0) {
      continue;
    }
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_ec;
    fs::remove_all(it->path(), remove_ec);
  }
}

void write_files(const fs::path& dir, const std::uint8_t* data, std::size_t size) {
  std::map<std::string, std::string> files;
  std::size_t at = 0;
  while (at < size) {
    const std::uint8_t name = data[at++];
    std::size_t n = at < size ? data[at++] : 0;
    n |= static_cast<std::size_t>(at < size ? data[at++] : 0) << 8;
    n = std::min(n, size - at);
    const std::string_view content(reinterpret_cast<const char*>(data + at), n);
    at += n;

    const auto kind = (name & snapshot) ? storage::file_kind::snapshot : storage::file_kind::log;
    const std::uint64_t gen = (name & generation_mask) + 1;
    std::string file = storage::file_name(kind, gen);
    if (name & temporary) file += ".tmp";
    std::string bytes;
    if (name & with_header) {
      const auto header = storage::encode_file_header(kind, gen);
      bytes.assign(header.data(), header.size());
    }
    bytes.append(content);
    files[file] = std::move(bytes);
  }
  for (const auto& [file, bytes] : files) {
    std::ofstream out(dir / file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fail("cannot write " + (dir / file).string());
  }
}

storage::recovered_store recover(const fs::path& dir) {
  storage::recovered_store out;
  storage::unique_fd lock;
  if (storage::lock_directory(dir.string(), lock)) fail("cannot lock the store directory");
  const std::string error = storage::recover_store(
      dir.string(), [](std::string_view) {}, out);
  if (!error.empty()) fail("recovery failed on damaged data: " + error);
  out.active_log.reset();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  remove_dead_work_dirs();
  remove_work_dir();  // a process that had our pid before us
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& dir = work_dir();
  std::error_code ec;
  if (!fs::create_directory(dir, ec)) fail("cannot create " + dir.string() + ": " + ec.message());
  // Removed when the input is done, whichever way: -max_total_time and -runs end the process
  // through _Exit, which runs no exit handler.
  struct remove_at_end {
    ~remove_at_end() { remove_work_dir(); }
  } remove_at_end;
  write_files(dir, data, size);

  null_buffer sink;
  std::ostream log_out(&sink);
  broker::logger log(broker::log_level::trace, log_out);
  refuse_all auth;

  // Recovery writes the recovered state as a new snapshot and sets damaged files aside; after
  // that the directory holds a clean store with the same records.
  const storage::recovered_store first = recover(dir);
  const storage::recovered_store second = recover(dir);
  if (second.damaged_files != 0) fail("recovery left damage behind");
  if (second.records != first.records) fail("recovered again, the records differ");

  // The broker's records, restored into a broker core the way storage::broker_store does.
  {
    storage::state_loader loader;
    std::string scratch;
    for (const auto& [key, value] : second.records) loader.load(key, value.bytes(scratch));
    loader.drop_leftovers([](const std::string&) {});
    broker::broker_core core(broker::broker_config{}, auth, log);
    loader.restore_into(core);
  }

  // The broker's own way in, with its threads, on about one input in eight.
  if (through_broker_store(std::string_view(reinterpret_cast<const char*>(data), size))) {
    std::string error;
    auto store = storage::broker_store::open(dir.string(), {}, log, error);
    if (!store) fail("broker_store::open failed: " + error);
    if (store->stats().damaged_files != 0) fail("broker_store found damage after recovery");
    broker::broker_core core(broker::broker_config{}, auth, log, nullptr, store.get());
    store->restore_into(core);
    if (!store->close(std::chrono::steady_clock::now() + std::chrono::seconds(30))) {
      fail("broker_store::close could not write everything");
    }
  }
  return 0;
}
