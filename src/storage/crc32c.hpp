#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace storage {

// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78). Chosen over the zlib CRC-32 because it
// detects more error patterns in the short records a store writes, and CPUs that may later get a
// hardware path (SSE4.2, ARMv8 CRC) compute this polynomial.
//
// `crc` is the result for the bytes before `data` (0 to start): crc32c(a + b) ==
// crc32c_extend(crc32c(a), b), so a record can be checked in pieces without copying it.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

}  // namespace storage
