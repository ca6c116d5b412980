// packet_reader: splits a byte stream into packets and decodes each.

#include "mqtt/packet_reader.hpp"

#include <algorithm>
#include <limits>

#include "mqtt/decode_detail.hpp"
#include "mqtt/decoder.hpp"

namespace mqtt {
namespace {

// A buffer that once held a large packet gives its memory back when it empties, so an idle
// connection costs little.
constexpr std::size_t retained_capacity = 64 * 1024;

}  // namespace

// No remaining length exceeds 268,435,455 [MQTT-1.5.5]: a limit above 32 bits refuses what one
// of 0xFFFFFFFF does.
packet_reader::packet_reader(std::size_t max_packet_size)
    : max_packet_size_(static_cast<std::uint32_t>(
          std::min<std::size_t>(max_packet_size, std::numeric_limits<std::uint32_t>::max()))) {}

void packet_reader::feed(std::span<const std::uint8_t> bytes) {
  // After an error the connection is closing: keep nothing more.
  if (failed_ != decode_error::none) return;
  // Drop what was consumed before appending, so the buffer holds at most one partial packet plus
  // the bytes of this feed.
  if (consumed_ == buffer_.size()) {
    if (buffer_.capacity() > retained_capacity) std::string().swap(buffer_);
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void packet_reader::lend(std::span<const std::uint8_t> bytes) {
  if (failed_ != decode_error::none) return;
  if (consumed_ < buffer_.size() || !lent_.empty()) {
    // The start of an unfinished packet is in the buffer: the rest joins it there.
    keep_rest();
    feed(bytes);
    return;
  }
  std::string().swap(buffer_);  // nothing unfinished: no buffer while the bytes are lent
  consumed_ = 0;
  lent_ = bytes;
}

void packet_reader::keep_rest() {
  if (lent_.empty()) return;
  const auto rest = lent_;
  lent_ = {};
  if (failed_ == decode_error::none && !rest.empty()) feed(rest);
}

packet_reader::result packet_reader::next() {
  return next_packet(nullptr);
}

packet_reader::result packet_reader::next(publish_view& publish) {
  return next_packet(&publish);
}

packet_reader::result packet_reader::next_packet(publish_view* publish) {
  result out;
  if (failed_ != decode_error::none) {
    out.state = status::error;
    out.error = failed_;
    return out;
  }
  const bool lent = !lent_.empty();
  const auto* data =
      lent ? lent_.data() : reinterpret_cast<const std::uint8_t*>(buffer_.data()) + consumed_;
  const std::size_t available = lent ? lent_.size() : buffer_.size() - consumed_;
  auto fail = [&](decode_error e) {
    failed_ = e;
    out.state = status::error;
    out.error = e;
    return out;
  };

  if (available == 0) return out;  // need_more
  // Garbage is refused on its first byte, without waiting for a length that may never come.
  if (const decode_error e = detail::check_fixed_header(data[0], version_);
      e != decode_error::none) {
    return fail(e);
  }
  // The fixed header: one byte, then the remaining length in at most four bytes [MQTT-1.5.5-1].
  std::size_t remaining_length = 0;
  std::size_t header_size = 0;
  for (std::size_t i = 0;; ++i) {
    if (i == 4) return fail(decode_error::malformed_remaining_length);
    if (1 + i >= available) return out;  // need_more
    const std::uint8_t b = data[1 + i];
    remaining_length |= static_cast<std::size_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      header_size = 2 + i;
      break;
    }
  }
  // Refused before a single byte of the body is buffered, whatever the length claims. The size
  // a 5.0 CONNACK announces is the whole packet's, fixed header included [MQTT-3.2.2-15].
  if (header_size + remaining_length > max_packet_size_) {
    return fail(decode_error::packet_too_large);
  }
  if (available - header_size < remaining_length) return out;  // need_more

  const std::span body(data + header_size, remaining_length);
  if (lent) {
    lent_ = lent_.subspan(header_size + remaining_length);
  } else {
    consumed_ += header_size + remaining_length;
  }
  out.wire_size = header_size + remaining_length;
  if (publish != nullptr && static_cast<packet_type>(data[0] >> 4) == packet_type::publish) {
    // The bytes stay where they are until the next feed(), lend() or keep_rest().
    *publish = publish_view{};
    if (const decode_error e = decode_publish_view(data[0], body, version_, *publish);
        e != decode_error::none) {
      return fail(e);
    }
    out.state = status::publish;
    return out;
  }
  decode_result decoded = decode_packet(data[0], body, version_);
  out.pkt = std::move(decoded.pkt);
  if (decoded.error != decode_error::none) {
    // The packet stays in the result: for an unsupported protocol level the broker still
    // answers CONNACK, using the version byte it holds.
    failed_ = decoded.error;
    out.state = status::error;
    out.error = decoded.error;
    return out;
  }
  // A CONNECT carries the version every later packet on this connection is laid out in.
  if (const auto* c = std::get_if<connect_packet>(&out.pkt)) version_ = c->version;
  out.state = status::packet;
  return out;
}

}  // namespace mqtt
