#include "storage/crc32c.hpp"

#include <gtest/gtest.h>

#include <string>

namespace storage {
namespace {

TEST(crc32c, matches_the_published_check_value) {
  // The standard check input of the CRC catalogues; CRC-32C of "123456789" is 0xE3069283.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(crc32c, matches_rfc3720_test_vectors) {
  // iSCSI (RFC 3720, B.4): 32 bytes of zeros, of 0xFF, and ascending bytes.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(crc32c, extending_in_pieces_equals_one_pass) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const std::uint32_t whole = crc32c(data);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    const std::uint32_t first = crc32c(std::string_view(data).substr(0, cut));
    EXPECT_EQ(crc32c_extend(first, data.data() + cut, data.size() - cut), whole) << cut;
  }
}

}  // namespace
}  // namespace storage
