#include "app/host_resources.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace app {

namespace {

constexpr std::size_t mib = 1024 * 1024;

// A cgroup limit file holds a number, or "max" (v2) or a huge number (v1) for "no limit".
std::size_t read_limit(const char* path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return 0;
  return value;
}

}  // namespace

std::size_t available_memory_bytes() {
  std::size_t physical = 0;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    physical = static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
  }
  std::size_t limit = read_limit("/sys/fs/cgroup/memory.max");                        // cgroup v2
  if (limit == 0) limit = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");  // v1
  if (limit != 0 && (physical == 0 || limit < physical)) return limit;
  return physical;
}

std::size_t default_total_buffer_bytes(std::size_t available_memory) {
  if (available_memory == 0) return 256 * mib;
  return std::clamp(available_memory / 4, 64 * mib, 4096 * mib);
}

std::size_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(-1)
                                         : static_cast<std::size_t>(limit.rlim_cur);
}

bool pin_large_allocation_threshold() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return false;
  // Setting it turns off glibc's sliding threshold (mallopt(3)).
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(large_allocation_bytes)) == 1;
#else
  return false;
#endif
}

}  // namespace app
