#pragma once
// The input format of fuzz_session: a script of transport events for up to four connections to
// one broker core. Shared by the fuzz target, which reads it, and make_fuzz_corpus, which writes
// valid sessions in it. Any byte string is a valid script (a truncated step just ends it).
//
//   byte 0        setup: bit 0 strict durability, bit 1 authentication answers later (as the
//                 hub does), bit 2 access control on, bit 3 persistence on
//   then steps, each one byte `op | connection << 4` followed by the op's operands:
//     send       2-byte little-endian length n, then n bytes (fewer if the input ends): the
//                bytes arrive from the client, then the transport takes the output as it does
//                after every read (a fresh connection replaces a closed one first)
//     take       the transport writes what the connection has queued
//     close      the socket is gone (EOF, error, or closed after should_close())
//     timer      1 byte s: the connection's timer fires s seconds from now
//     answer     pending authentication answers arrive (hub users)
//     durable    the store reports every change so far durable (strict durability)
//     tick       1 byte s: broker_core::tick() s * 10 seconds from now ($SYS)
//     run        the connections' executors run what was posted to them
//   An op byte whose low nibble is not an op below is skipped.

#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz::session_script {

enum setup_bits : std::uint8_t {
  strict_durability = 1,
  deferred_auth = 2,
  access_control = 4,
  persistence = 8,
};

enum class op : std::uint8_t {
  send = 0,
  take = 1,
  close = 2,
  timer = 3,
  answer = 4,
  durable = 5,
  tick = 6,
  run = 7,
};

inline constexpr int max_connections = 4;

// The user the fuzz authenticator accepts; "hub" users get "server unavailable", others are
// refused as bad credentials, and no user name at all as not authorized.
inline constexpr std::string_view user = "u";
inline constexpr std::string_view password = "p";

// A writer for the generator.
class writer {
 public:
  explicit writer(std::uint8_t setup) { out_.push_back(static_cast<char>(setup)); }
  writer& step(op o, int conn) {
    out_.push_back(static_cast<char>(static_cast<std::uint8_t>(o) | (conn << 4)));
    return *this;
  }
  writer& send(int conn, std::string_view bytes) {
    step(op::send, conn);
    const std::size_t n = bytes.size() < 0xFFFF ? bytes.size() : 0xFFFF;
    out_.push_back(static_cast<char>(n & 0xFF));
    out_.push_back(static_cast<char>(n >> 8));
    out_.append(bytes.substr(0, n));
    return *this;
  }
  writer& with_byte(op o, int conn, std::uint8_t operand) {
    step(o, conn);
    out_.push_back(static_cast<char>(operand));
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace fuzz::session_script
