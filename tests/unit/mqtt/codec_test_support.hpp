#pragma once
// Helpers for the codec tests: bytes written as the spec's tables show them, and one-call encode
// and decode of a whole packet.

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

namespace mqtt::test {

// Bytes from a list of numbers and strings: wire({0x10, 0x02}) + "MQTT".
inline std::string wire(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// "10 0e 00 04": failures show bytes the way the spec does.
inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0F]);
  }
  return out;
}

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::string encoded(const packet& p, protocol_version v) {
  std::string out;
  encode(p, v, out);
  return out;
}

// Decodes one whole packet, fixed header included, with decode_packet(). The remaining length in
// the bytes must cover exactly the rest: these helpers test the body rules, reader_test the
// framing.
inline decode_result decode_wire(std::string_view bytes, protocol_version v) {
  std::size_t length = 0;
  std::size_t i = 1;
  for (int shift = 0; i < bytes.size(); shift += 7) {
    const auto b = static_cast<std::uint8_t>(bytes[i++]);
    length |= static_cast<std::size_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  EXPECT_EQ(length, bytes.size() - i) << "test bytes have a wrong remaining length: " << hex(bytes);
  return decode_packet(static_cast<std::uint8_t>(bytes[0]), as_bytes(bytes.substr(i)), v);
}

inline decode_error decode_error_of(std::string_view bytes, protocol_version v) {
  return decode_wire(bytes, v).error;
}

// Both directions at once: `p` encodes to exactly `bytes`, and `bytes` decode to exactly `p`.
inline ::testing::AssertionResult matches_golden(const packet& p, std::string_view bytes,
                                                 protocol_version v) {
  const std::string out = encoded(p, v);
  if (out != bytes) {
    return ::testing::AssertionFailure()
           << "encode gave " << hex(out) << "\n    expected " << hex(bytes);
  }
  const decode_result r = decode_wire(bytes, v);
  if (r.error != decode_error::none) {
    return ::testing::AssertionFailure() << "decode failed: " << describe(r.error);
  }
  if (!(r.pkt == p)) {
    return ::testing::AssertionFailure()
           << "decode gave a different " << name_of(type_of(r.pkt)) << " than the one encoded";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mqtt::test

namespace mqtt {
// gtest prints a decode_error by its message rather than a number.
inline void PrintTo(decode_error e, std::ostream* os) {
  *os << describe(e);
}
}  // namespace mqtt
