#include "app/host_resources.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_MALLOC 1
#endif

#if defined(__GLIBC__)

// Blocks glibc has mapped on their own, now.
std::size_t mapped_blocks() {
  return mallinfo2().hblks;
}

// Whether a fresh block of `size` is mapped on its own (it touches the block, so that no compiler
// can leave the allocation out).
bool allocation_is_mapped(std::size_t size) {
  const std::size_t before = mapped_blocks();
  auto* block = static_cast<volatile char*>(std::malloc(size));
  block[0] = 1;
  block[size - 1] = 1;
  const bool mapped = mapped_blocks() == before + 1;
  std::free(const_cast<char*>(block));
  return mapped;
}

TEST(host_resources, large_blocks_stay_mapped_after_one_is_freed) {
#if defined(SANITIZER_MALLOC)
  GTEST_SKIP() << "a sanitizer's malloc, not glibc's, serves this build";
#endif
  ASSERT_EQ(std::getenv("MALLOC_MMAP_THRESHOLD_"), nullptr) << "the test needs glibc's defaults";
  ASSERT_TRUE(app::pin_large_allocation_threshold());
  const std::size_t large = 4 * app::large_allocation_bytes;
  // Left to itself, glibc would move its threshold above `large` on the first free, and the
  // second block would come from the heap.
  EXPECT_TRUE(allocation_is_mapped(large));
  EXPECT_TRUE(allocation_is_mapped(large));
  EXPECT_TRUE(allocation_is_mapped(app::large_allocation_bytes));
  EXPECT_FALSE(allocation_is_mapped(app::large_allocation_bytes / 4));
}

TEST(host_resources, a_threshold_set_by_the_user_is_kept) {
  ASSERT_EQ(setenv("MALLOC_MMAP_THRESHOLD_", "65536", 1), 0);
  const bool pinned = app::pin_large_allocation_threshold();
  unsetenv("MALLOC_MMAP_THRESHOLD_");
  EXPECT_FALSE(pinned);
}

#endif

TEST(host_resources, buffer_budget_is_a_quarter_of_memory_within_bounds) {
  constexpr std::size_t mib = 1024 * 1024;
  EXPECT_EQ(app::default_total_buffer_bytes(0), 256 * mib);
  EXPECT_EQ(app::default_total_buffer_bytes(128 * mib), 64 * mib);
  EXPECT_EQ(app::default_total_buffer_bytes(2048 * mib), 512 * mib);
  EXPECT_EQ(app::default_total_buffer_bytes(std::size_t{64} * 1024 * mib), 4096 * mib);
}

}  // namespace
