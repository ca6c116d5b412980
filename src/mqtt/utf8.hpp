#pragma once
// UTF-8 Encoded Strings as MQTT defines them [MQTT-1.5.3].

#include <string_view>

namespace mqtt {

// Well-formed UTF-8 (RFC 3629: no overlong forms, nothing above U+10FFFF), no UTF-16 surrogate
// halves [MQTT-1.5.3-1] and no U+0000 [MQTT-1.5.3-2]. Other control characters and
// non-characters are allowed: the spec lets a receiver accept them.
bool valid_utf8(std::string_view s);

}  // namespace mqtt
