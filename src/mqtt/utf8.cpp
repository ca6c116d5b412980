#include "mqtt/utf8.hpp"

#include <cstdint>

namespace mqtt {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const auto* end = p + s.size();
  auto continuation = [&](const std::uint8_t* q) { return q < end && (*q & 0xC0) == 0x80; };
  while (p < end) {
    const std::uint8_t b = *p;
    if (b >= 0x01 && b <= 0x7F) {
      ++p;
      continue;
    }
    if (b == 0x00) return false;  // [MQTT-1.5.3-2]
    if (b >= 0xC2 && b <= 0xDF) {
      if (!continuation(p + 1)) return false;
      p += 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (!continuation(p + 1) || !continuation(p + 2)) return false;
      // E0 needs A0..BF (no overlong form); ED needs 80..9F (U+D800..U+DFFF are surrogates,
      // which MQTT forbids in any form [MQTT-1.5.3-1]).
      if (b == 0xE0 && p[1] < 0xA0) return false;
      if (b == 0xED && p[1] > 0x9F) return false;
      p += 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (!continuation(p + 1) || !continuation(p + 2) || !continuation(p + 3)) return false;
      if (b == 0xF0 && p[1] < 0x90) return false;  // overlong
      if (b == 0xF4 && p[1] > 0x8F) return false;  // above U+10FFFF
      p += 4;
    } else {
      return false;  // stray continuation byte, C0/C1 overlong lead, or F5..FF
    }
  }
  return true;
}

}  // namespace mqtt
