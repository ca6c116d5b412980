// kill -9 at random moments: every change the child was told is durable survives.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "storage/log_store.hpp"
#include "store_test_support.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

std::string key_of(int round, std::uint64_t i) {
  return "c/" + std::to_string(round) + "/" + std::to_string(i);
}
std::string value_of(int round, std::uint64_t i) {
  return std::string(20 + (i * 7 + static_cast<std::uint64_t>(round)) % 80, 'a' + i % 26);
}
std::string erased_key_of(int round, std::uint64_t i) {
  return "e/" + std::to_string(round) + "/" + std::to_string(i);
}

void report(int fd, std::uint64_t i) {
  // 8 bytes: atomic on a pipe, so reports from the writer thread and the main thread never mix.
  [[maybe_unused]] ssize_t n = ::write(fd, &i, sizeof i);
}

// The child: appends changes as fast as it can and reports, through the pipe, each index up to
// which everything is durable: after flush() returned ok, and from when_durable() callbacks.
[[noreturn]] void run_child(const std::string& dir, int round, int fd) {
  log_store_options options;
  options.commit_interval = 2ms;
  options.compaction_min_dead_bytes = 32 * 1024;
  auto opened = log_store::open(dir, options, {}, {});
  if (!opened.store) ::_exit(3);
  log_store& store = *opened.store;
  const auto stop = std::chrono::steady_clock::now() + 10s;  // bounded if the parent fails
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < stop; ++i) {
    const write_result r = store.put(key_of(round, i), value_of(round, i));
    if (!r.ok()) ::_exit(4);
    store.put("hot", std::to_string(i));  // dead records, so compactions start (and get killed)
    if (i % 10 == 0) {
      store.put(erased_key_of(round, i), "short-lived");
      store.erase(erased_key_of(round, i));
    }
    if (i % 50 == 49) store.when_durable(r.seq, [fd, i] { report(fd, i); });
    if (i % 25 == 24 && store.flush(std::chrono::steady_clock::now() + 5s) == flush_status::ok) {
      report(fd, i);
    }
  }
  ::_exit(0);
}

// Waits up to `limit` for the child's first report: the child is then past its start (slow
// under a sanitizer on a loaded machine), so the kill lands among its writes. -1 if none came.
std::int64_t first_report(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  std::uint64_t value = 0;
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return -1;
  if (::read(fd, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) return -1;
  return static_cast<std::int64_t>(value);
}

// Reads every report until the child's end of the pipe is closed; -1 if none.
std::int64_t highest_report(int fd) {
  std::int64_t highest = -1;
  std::uint64_t value = 0;
  while (::read(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
    highest = std::max(highest, static_cast<std::int64_t>(value));
  }
  return highest;
}

void check_round(const contents& stored, int round, std::int64_t durable) {
  SCOPED_TRACE("round " + std::to_string(round) + ", durable up to " + std::to_string(durable));
  std::uint64_t present = 0;
  while (stored.count(key_of(round, present)) == 1) {
    EXPECT_EQ(stored.at(key_of(round, present)), value_of(round, present));
    ++present;
  }
  // What was reported durable is there; past it, what survived is a prefix (no holes).
  EXPECT_GE(static_cast<std::int64_t>(present), durable + 1);
  const auto prefix = "c/" + std::to_string(round) + "/";
  std::uint64_t in_round = 0;
  for (auto it = stored.lower_bound(prefix); it != stored.end() && it->first.starts_with(prefix);
       ++it) {
    ++in_round;
  }
  EXPECT_EQ(in_round, present);
  // An erase reported durable stays erased.
  for (std::int64_t i = 0; i <= durable; i += 10) {
    EXPECT_EQ(stored.count(erased_key_of(round, static_cast<std::uint64_t>(i))), 0u) << i;
  }
}

TEST(log_store_crash, every_change_reported_durable_survives_kill_9) {
  temp_dir dir;
  std::mt19937 rng(20241125);
  std::vector<std::int64_t> durable;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      run_child(dir.path(), round, fds[1]);
    }
    ::close(fds[1]);
    // Odd rounds kill at 10-60 ms, wherever the child is (opening, recovering, writing); even
    // rounds first wait for its first report, so every run kills some rounds among durable
    // writes however slow the child starts.
    const std::int64_t first = round % 2 == 0 ? first_report(fds[0], 5s) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds((round % 2 == 0 ? 0 : 10) + rng() % 50));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);
    durable.push_back(std::max(first, highest_report(fds[0])));
    ::close(fds[0]);

    const contents stored = read_store(dir.path());
    for (int r = 0; r <= round; ++r) check_round(stored, r, durable[static_cast<std::size_t>(r)]);
    if (HasFailure()) break;
  }
  std::int64_t reported = 0;
  for (auto d : durable) reported += d + 1;
  std::printf("kill -9 rounds: %zu, changes reported durable: %lld\n", durable.size(),
              static_cast<long long>(reported));
  EXPECT_GT(reported, 0);  // the test did exercise something
}

}  // namespace
}  // namespace storage::test
