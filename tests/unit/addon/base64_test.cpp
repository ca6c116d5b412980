#include "addon/base64.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

TEST(base64, decodes_rfc4648_vectors) {
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("Zg=="), "f");
  EXPECT_EQ(decode_base64("Zm8="), "fo");
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
  EXPECT_EQ(decode_base64("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_base64("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar");
}

TEST(base64, decodes_binary_bytes_and_both_high_characters) {
  EXPECT_EQ(decode_base64("AAEC/w=="), std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(decode_base64("+/+/"), std::string("\xfb\xff\xbf"));
}

TEST(base64, rejects_malformed_text) {
  EXPECT_FALSE(decode_base64("Zg"));        // no padding
  EXPECT_FALSE(decode_base64("Zg=a"));      // padding in the middle
  EXPECT_FALSE(decode_base64("Zg==Zm9v"));  // padding before the end
  EXPECT_FALSE(decode_base64("Z==="));      // three padding characters
  EXPECT_FALSE(decode_base64("Zm9v YmFy"));
  EXPECT_FALSE(decode_base64("Zm9-"));  // url-safe alphabet is not standard base64
}

TEST(base64, encode_round_trips) {
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(decode_base64(encode_base64(s)), s);
  }
  EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
}

}  // namespace
}  // namespace addon
