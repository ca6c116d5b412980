#pragma once
// Incremental decoding: bytes go in as they arrive (a packet may be split across reads, a read may
// hold many packets); whole packets come out one at a time. Never throws on bad input.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "mqtt/decode_error.hpp"
#include "mqtt/packet.hpp"

namespace mqtt {

class packet_reader {
 public:
  // Packets whose total size (fixed header and remaining length, as 5.0's Maximum Packet Size
  // counts it) exceeds max_packet_size are refused before their body is buffered, so a hostile
  // length cannot make the reader allocate.
  explicit packet_reader(std::size_t max_packet_size);

  // The version negotiated by CONNECT; until set, 3.1.1 is assumed. next() sets it itself from a
  // CONNECT it decodes without error, so packets pipelined behind CONNECT decode right.
  void set_version(protocol_version v) { version_ = v; }
  protocol_version version() const { return version_; }

  // Copies `bytes` into the reader's buffer.
  void feed(std::span<const std::uint8_t> bytes);
  // Lends `bytes` instead: next() decodes straight from them, and keep_rest() must be called
  // before they go away, which copies what is left (an unfinished packet) into the buffer. A
  // read that ends on a packet boundary is never copied, and a reader with nothing unfinished
  // holds no buffer at all (an idle connection costs less).
  void lend(std::span<const std::uint8_t> bytes);
  void keep_rest();

  // publish: the packet was a PUBLISH, decoded into the view next() was given.
  enum class status { packet, publish, need_more, error };
  struct result {
    status state = status::need_more;
    packet pkt;
    decode_error error = decode_error::none;
    std::size_t wire_size = 0;  // bytes the packet took on the wire, header included
  };
  // After an error the reader stays in error: the connection must close. An error result still
  // carries what was decoded (for unsupported_protocol_level, the CONNECT with its level byte).
  result next();
  // The same, but a PUBLISH goes into `publish`, as views of the reader's bytes (status
  // publish): valid until the next feed(), lend() or keep_rest().
  result next(publish_view& publish);

  std::size_t buffered() const { return buffer_.size() - consumed_ + lent_.size(); }
  // Memory the buffer holds: at most about one read plus one unfinished packet, because consumed
  // bytes are dropped at the next feed().
  std::size_t capacity() const { return buffer_.capacity(); }

 private:
  result next_packet(publish_view* publish);

  // Ordered so that no padding sits between the fields: every connection holds a reader.
  std::string buffer_;
  std::size_t consumed_ = 0;
  // Between lend() and keep_rest(), what of the lent bytes is not decoded yet; empty otherwise.
  std::span<const std::uint8_t> lent_;
  std::uint32_t max_packet_size_;
  protocol_version version_ = protocol_version::v3_1_1;
  decode_error failed_ = decode_error::none;
};

}  // namespace mqtt
