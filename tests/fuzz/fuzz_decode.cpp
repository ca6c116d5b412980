// libFuzzer target: the packet decoder (mqtt::packet_reader and mqtt::decode_packet) on any bytes.
// Built twice: FUZZ_PROTOCOL_V5 = 0 reads the stream as 3.1.1 (or 3.1, chosen by the first byte),
// 1 as 5.0. The input is a byte stream as a client would send it; the first byte also chooses
// how the stream is cut into reads.
//
// Beyond "no crash, no sanitizer report", three properties are checked on every input:
// - cutting the stream into reads changes nothing: a reader fed in pieces, reading each PUBLISH
//   as views (as the broker does once connected), yields the same packets and the same error as
//   one fed everything at once that decodes whole packets;
// - every packet decoded without error survives encode() then decode() unchanged;
// - the reader never holds more than one read plus one unfinished packet.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/packet_reader.hpp"

#ifndef FUZZ_PROTOCOL_V5
#error "define FUZZ_PROTOCOL_V5 to 0 or 1"
#endif

namespace {

// Small, so lengths near the limit are reachable; the limit itself is what is being tested.
constexpr std::size_t max_packet_size = 4096;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_decode: %s\n", what);
  std::abort();
}

mqtt::protocol_version version_of(std::uint8_t control) {
  if (FUZZ_PROTOCOL_V5) return mqtt::protocol_version::v5;
  return (control & 0x80) != 0 ? mqtt::protocol_version::v3_1 : mqtt::protocol_version::v3_1_1;
}

// A CONNECT is encoded in its own version; every other packet in the stream's.
void check_round_trip(const mqtt::packet& p, mqtt::protocol_version stream_version) {
  const auto* connect = std::get_if<mqtt::connect_packet>(&p);
  const mqtt::protocol_version v = connect ? connect->version : stream_version;
  std::string bytes;
  mqtt::encode(p, v, bytes);
  mqtt::packet_reader again(bytes.size() + 8);
  again.set_version(v);
  again.feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  auto r = again.next();
  if (r.state != mqtt::packet_reader::status::packet) fail("re-encoded packet does not decode");
  if (!(r.pkt == p)) fail("re-encoded packet decodes to something else");
  if (r.wire_size != bytes.size()) fail("re-encoded packet: wire size differs");
  if (again.next().state != mqtt::packet_reader::status::need_more) fail("bytes after packet");
}

struct outcome {
  std::vector<mqtt::packet> packets;
  mqtt::decode_error error = mqtt::decode_error::none;
  bool failed = false;
};

// Drains the reader; returns false once it is in error. With `views`, as the broker reads a
// connected client: a PUBLISH as views of the reader's bytes (copied here into a packet, so it
// compares with the other pass).
bool drain(mqtt::packet_reader& reader, outcome& out, std::size_t last_read, bool views = false) {
  mqtt::publish_view view;
  while (true) {
    auto r = views ? reader.next(view) : reader.next();
    if (r.state == mqtt::packet_reader::status::need_more) {
      // What is kept: the unfinished packet only, never more than the limit and a read.
      if (reader.buffered() > max_packet_size + 5 + last_read) fail("reader buffers too much");
      return true;
    }
    if (r.state == mqtt::packet_reader::status::error) {
      if (r.error == mqtt::decode_error::none) fail("error without a code");
      out.failed = true;
      out.error = r.error;
      return false;
    }
    if (r.wire_size < 2 || r.wire_size > max_packet_size + 5) fail("implausible wire size");
    if (r.state == mqtt::packet_reader::status::publish) {
      if (!views) fail("a PUBLISH view nobody asked for");
      out.packets.push_back(mqtt::to_packet(view));
      continue;
    }
    out.packets.push_back(std::move(r.pkt));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  const mqtt::protocol_version version = version_of(control);

  // All at once.
  outcome whole;
  {
    mqtt::packet_reader reader(max_packet_size);
    reader.set_version(version);
    reader.feed(stream);
    drain(reader, whole, stream.size());
    // Once in error, the reader stays there and keeps nothing more.
    if (whole.failed) {
      reader.feed(stream);
      if (reader.next().state != mqtt::packet_reader::status::error) fail("error not sticky");
    }
  }

  // In pieces of 1..16 bytes, sizes cycling from the control byte, PUBLISH read as views.
  outcome pieces;
  {
    mqtt::packet_reader reader(max_packet_size);
    reader.set_version(version);
    std::size_t at = 0;
    std::uint32_t step = control;
    while (at < stream.size()) {
      step = step * 1103515245u + 12345u;
      const std::size_t n = std::min<std::size_t>(1 + ((step >> 16) & 15), stream.size() - at);
      reader.feed(stream.subspan(at, n));
      at += n;
      if (!drain(reader, pieces, n, true)) break;
    }
  }

  if (whole.failed != pieces.failed || whole.error != pieces.error) {
    fail("reads cut differently give a different error");
  }
  if (whole.packets != pieces.packets) fail("reads cut differently give different packets");

  // The stream's version after CONNECT is what the reader used from there on; replaying with
  // decode_packet() per packet would need the framing again, so round-trip the values instead.
  mqtt::protocol_version current = version;
  for (const auto& p : whole.packets) {
    if (const auto* c = std::get_if<mqtt::connect_packet>(&p)) current = c->version;
    check_round_trip(p, current);
  }

  // decode_packet() directly on the whole input as one body, with the first byte as the header:
  // the per-packet decoders see bodies no framing would give them (any length).
  if (stream.size() >= 1) {
    auto r = mqtt::decode_packet(stream[0], stream.subspan(1), version);
    if (r.error == mqtt::decode_error::none) {
      const auto* c = std::get_if<mqtt::connect_packet>(&r.pkt);
      check_round_trip(r.pkt, c ? c->version : version);
    }
  }
  return 0;
}
