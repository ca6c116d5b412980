// read_tolerant: the loader's reads, with a disk that fails in places (a bad sector of an SD
// card) simulated by a stand-in for pread.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "storage/file_ops.hpp"

namespace storage {
namespace {

// A file of `size` bytes, each byte its offset's low byte plus one (never zero).
std::string file_of(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i % 251) + 1);
  return s;
}

// pread over `file`, failing with `error` for any read that touches [bad_from, bad_to).
pread_fn reader(const std::string& file, std::uint64_t bad_from = 0, std::uint64_t bad_to = 0,
                int error = EIO) {
  return [&file, bad_from, bad_to, error](char* out, std::size_t n, std::uint64_t at) -> long {
    if (at < bad_to && at + n > bad_from) {
      errno = error;
      return -1;
    }
    if (at >= file.size()) return 0;
    const std::size_t got = std::min<std::size_t>(n, file.size() - at);
    std::memcpy(out, file.data() + at, got);
    return static_cast<long>(got);
  };
}

TEST(read_tolerant, a_healthy_file_is_read_whole_across_chunks) {
  const std::string file = file_of((3 << 20) + 5);
  const file_contents c = read_tolerant(file.size(), reader(file));
  EXPECT_EQ(c.bytes, file);
  EXPECT_EQ(c.unreadable, 0u);
}

TEST(read_tolerant, an_unreadable_page_becomes_zeros_and_the_rest_is_kept) {
  const std::string file = file_of((3 << 20) + 5);
  const std::uint64_t bad = (1 << 20) + 3 * 4096;  // one page in the second chunk
  const file_contents c = read_tolerant(file.size(), reader(file, bad, bad + 4096));
  ASSERT_EQ(c.bytes.size(), file.size());
  EXPECT_EQ(c.unreadable, 4096u);
  EXPECT_EQ(c.bytes.substr(bad, 4096), std::string(4096, '\0'));
  EXPECT_EQ(c.bytes.substr(0, bad), file.substr(0, bad));
  EXPECT_EQ(c.bytes.substr(bad + 4096), file.substr(bad + 4096));
}

TEST(read_tolerant, a_failing_last_partial_page_is_counted_by_its_length) {
  const std::string file = file_of(10000);  // pages 0-4095, 4096-8191, 8192-9999
  const file_contents c = read_tolerant(file.size(), reader(file, 9000, 9001));
  EXPECT_EQ(c.unreadable, 10000u - 8192u);
  EXPECT_EQ(c.bytes.substr(0, 8192), file.substr(0, 8192));
}

TEST(read_tolerant, a_file_shorter_than_announced_ends_where_it_ends) {
  const std::string file = file_of(5000);
  const file_contents c = read_tolerant(8000, reader(file));
  EXPECT_EQ(c.bytes, file);
  EXPECT_EQ(c.unreadable, 0u);
}

TEST(read_tolerant, interrupted_reads_are_retried) {
  const std::string file = file_of(9000);
  int interruptions = 3;
  const pread_fn plain = reader(file);
  const file_contents c =
      read_tolerant(file.size(), [&](char* out, std::size_t n, std::uint64_t at) -> long {
        if (interruptions-- > 0) {
          errno = EINTR;
          return -1;
        }
        return plain(out, n, at);
      });
  EXPECT_EQ(c.bytes, file);
  EXPECT_EQ(c.unreadable, 0u);
}

TEST(read_whole_file, a_missing_file_is_an_error) {
  file_contents c;
  EXPECT_TRUE(read_whole_file("/nonexistent/dir/file", c));
}

}  // namespace
}  // namespace storage
