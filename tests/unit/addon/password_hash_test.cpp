#include "addon/password_hash.hpp"

#include <gtest/gtest.h>

namespace addon {
namespace {

// The expected strings below were computed independently with Python's hashlib, e.g.
//   hashlib.pbkdf2_hmac('sha512', b's3cret', b'add-on salt 16by', 1000, 64)
// then base64.b64encode of the salt and of the key.
constexpr const char* s3cret_1000 =
    "PBKDF2$sha512$1000$YWRkLW9uIHNhbHQgMTZieQ==$je8pGyLCr4LdRrd6WbFOB9zIpaCuhJsVLUy3xi+tE1LBBVOk"
    "I3rHc3VabK98EERuYCJqCxlfw5ApyHqlXU4K4A==";
constexpr const char* correct_horse_100000 =
    "PBKDF2$sha512$100000$YWRkLW9uIHNhbHQgMTZieQ==$kjQ4cR9tmirxt2qSVeffFjVpkNDiIl3Ql+yQeFnCJILsh"
    "SZ9ClWLePFdd3ixfNWjvuQCvfkcApWWBKlh9c02Hw==";
// hashlib.pbkdf2_hmac('sha512', b'pw', b'\x00\x01\x02\xff', 7, 20): a 20-byte key.
constexpr const char* pw_short_key = "PBKDF2$sha512$7$AAEC/w==$sszEUJS+6knU0NGosX5grITl2Tg=";
// hashlib.pbkdf2_hmac('sha512', b's3cret', b'YWRkLW9uIHNhbHQgMTZieQ==', 1000, 64): the salt used
// as its base64 text instead of its bytes. Must NOT verify: the salt is decoded before use.
constexpr const char* s3cret_undecoded_salt =
    "PBKDF2$sha512$1000$YWRkLW9uIHNhbHQgMTZieQ==$iMIzZ4i6L+jAv9BeHOylF8bNkls5zEVk8fcMycGEjF6r4M3s"
    "dmaygF3kUY67lBOokuod4Z1ujnRuoUCl/dN3MQ==";

pbkdf2_sha512 parse_ok(const char* text) {
  pbkdf2_parse_result parsed = parse_pbkdf2_sha512(text);
  EXPECT_TRUE(parsed.hash) << parsed.error;
  return parsed.hash.value_or(pbkdf2_sha512{});
}

TEST(password_hash, parses_the_mosquitto_addon_format) {
  const pbkdf2_sha512 hash = parse_ok(s3cret_1000);
  EXPECT_EQ(hash.iterations, 1000u);
  EXPECT_EQ(hash.salt, "add-on salt 16by");
  EXPECT_EQ(hash.key.size(), 64u);
}

TEST(password_hash, verifies_the_right_password_only) {
  const pbkdf2_sha512 hash = parse_ok(s3cret_1000);
  EXPECT_TRUE(verify_password(hash, "s3cret"));
  EXPECT_FALSE(verify_password(hash, "s3cret "));
  EXPECT_FALSE(verify_password(hash, "S3cret"));
  EXPECT_FALSE(verify_password(hash, ""));
}

TEST(password_hash, verifies_with_the_default_addon_iteration_count) {
  EXPECT_TRUE(verify_password(parse_ok(correct_horse_100000), "correct horse"));
}

TEST(password_hash, key_length_follows_the_stored_hash) {
  const pbkdf2_sha512 hash = parse_ok(pw_short_key);
  EXPECT_EQ(hash.key.size(), 20u);
  EXPECT_TRUE(verify_password(hash, "pw"));
  EXPECT_FALSE(verify_password(hash, "px"));
}

TEST(password_hash, salt_is_decoded_before_use) {
  EXPECT_FALSE(verify_password(parse_ok(s3cret_undecoded_salt), "s3cret"));
}

TEST(password_hash, rejects_malformed_strings_with_a_reason) {
  const char* bad[] = {
      "",
      "s3cret",
      "PBKDF2$sha512$1000$YWJj",              // too few parts
      "PBKDF2$sha512$1000$YWJj$YWJj$YWJj",    // too many parts
      "BCRYPT$sha512$1000$YWJj$YWJj",         // wrong scheme
      "PBKDF2$sha256$1000$YWJj$YWJj",         // unsupported digest
      "PBKDF2$sha512$0$YWJj$YWJj",            // zero iterations
      "PBKDF2$sha512$-5$YWJj$YWJj",           // negative
      "PBKDF2$sha512$10x$YWJj$YWJj",          // not a number
      "PBKDF2$sha512$99999999999$YWJj$YWJj",  // absurd
      "PBKDF2$sha512$1000$$YWJj",             // empty salt
      "PBKDF2$sha512$1000$YWJ$YWJj",          // salt not base64
      "PBKDF2$sha512$1000$YWJj$",             // empty hash
      "PBKDF2$sha512$1000$YWJj$YW*j",         // hash not base64
  };
  for (const char* text : bad) {
    const pbkdf2_parse_result parsed = parse_pbkdf2_sha512(text);
    EXPECT_FALSE(parsed.hash) << text;
    EXPECT_FALSE(parsed.error.empty()) << text;
  }
}

TEST(password_hash, secrets_equal_compares_whole_contents) {
  EXPECT_TRUE(secrets_equal("p", "p"));
  EXPECT_TRUE(secrets_equal("", ""));
  EXPECT_FALSE(secrets_equal("p", "P"));
  EXPECT_FALSE(secrets_equal("p", "pp"));
  EXPECT_FALSE(secrets_equal("pp", "p"));
  EXPECT_FALSE(secrets_equal(std::string("a\0b", 3), "a"));
}

}  // namespace
}  // namespace addon
