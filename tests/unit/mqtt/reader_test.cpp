// packet_reader: framing of a byte stream into packets, whatever the read boundaries.

#include <vector>

#include "codec_test_support.hpp"
#include "mqtt/packet_reader.hpp"

namespace mqtt::test {
namespace {

constexpr std::size_t max_size = 1024;

std::vector<packet> sample_packets() {
  publish_packet qos1;
  qos1.topic = "a/b";
  qos1.payload = std::string(300, 'p');  // two-byte remaining length
  qos1.qos = qos::at_least_once;
  qos1.packet_id = 9;
  subscribe_packet sub;
  sub.packet_id = 3;
  sub.subscriptions = {{"a/#", qos::exactly_once}};
  return {pingreq_packet{}, qos1, sub, pubrel_packet{9, 0, {}}, disconnect_packet{}};
}

std::string stream_of(const std::vector<packet>& packets, protocol_version v) {
  std::string out;
  for (const packet& p : packets) encode(p, v, out);
  return out;
}

// Calls next() until it stops yielding packets; returns them and leaves the last result in `last`.
std::vector<packet> drain(packet_reader& reader, packet_reader::result& last) {
  std::vector<packet> out;
  for (last = reader.next(); last.state == packet_reader::status::packet; last = reader.next()) {
    out.push_back(last.pkt);
  }
  return out;
}

TEST(packet_reader, many_packets_in_one_feed_come_out_one_by_one) {
  const auto packets = sample_packets();
  packet_reader reader(max_size);
  reader.feed(as_bytes(stream_of(packets, protocol_version::v3_1_1)));
  packet_reader::result last;
  EXPECT_EQ(drain(reader, last), packets);
  EXPECT_EQ(last.state, packet_reader::status::need_more);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(packet_reader, packets_fed_byte_by_byte_come_out_whole) {
  const auto packets = sample_packets();
  const std::string stream = stream_of(packets, protocol_version::v3_1_1);
  packet_reader reader(max_size);
  std::vector<packet> got;
  for (char c : stream) {
    reader.feed(as_bytes(std::string_view(&c, 1)));
    packet_reader::result last;
    for (packet& p : drain(reader, last)) got.push_back(std::move(p));
    ASSERT_EQ(last.state, packet_reader::status::need_more);
  }
  EXPECT_EQ(got, packets);
  EXPECT_EQ(reader.buffered(), 0u);
}

// lend(): the same packets whatever the cuts (every `step`-th), read in place by `drain_with`,
// with only unfinished packets kept.
template <typename Drain>
void lent_reads_cut_every(std::size_t step, Drain drain_with) {
  const auto packets = sample_packets();
  const std::string stream = stream_of(packets, protocol_version::v3_1_1);
  for (std::size_t cut = 1; cut < stream.size(); cut += step) {
    packet_reader reader(max_size);
    std::vector<packet> got;
    for (std::size_t at = 0; at < stream.size(); at += cut) {
      // Each read in its own storage, overwritten once lent, as a transport's read buffer is.
      std::string read = stream.substr(at, cut);
      reader.lend(as_bytes(read));
      packet_reader::result last;
      for (packet& p : drain_with(reader, last)) got.push_back(std::move(p));
      ASSERT_EQ(last.state, packet_reader::status::need_more) << "cut " << cut;
      reader.keep_rest();
      read.assign(read.size(), '\xFF');
    }
    EXPECT_EQ(got, packets) << "cut " << cut;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(packet_reader, lent_reads_cut_anywhere_give_the_same_packets) {
  lent_reads_cut_every(1, drain);
}

TEST(packet_reader, a_lent_read_ending_on_a_packet_boundary_leaves_no_buffer) {
  const std::string stream = stream_of(sample_packets(), protocol_version::v3_1_1);
  packet_reader reader(max_size);
  reader.feed(as_bytes(stream.substr(0, 5)));  // an unfinished packet first: a buffer exists
  EXPECT_GT(reader.capacity(), 0u);
  reader.lend(as_bytes(stream.substr(5)));
  packet_reader::result last;
  EXPECT_EQ(drain(reader, last).size(), sample_packets().size());
  reader.keep_rest();
  // The next lend finds nothing unfinished and lets the buffer go.
  const std::string ping = stream_of({pingreq_packet{}}, protocol_version::v3_1_1);
  reader.lend(as_bytes(ping));
  EXPECT_EQ(drain(reader, last).size(), 1u);
  reader.keep_rest();
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.capacity(), 15u);  // an empty std::string's own (small string) storage
}

TEST(packet_reader, what_is_not_read_from_a_lent_read_is_kept) {
  // A connection waiting for its login check reads nothing more; the bytes must survive the
  // transport reusing its buffer.
  const std::string stream = stream_of(sample_packets(), protocol_version::v3_1_1);
  packet_reader reader(max_size);
  std::string read = stream;
  reader.lend(as_bytes(read));
  reader.keep_rest();
  read.assign(read.size(), '\xFF');
  EXPECT_EQ(reader.buffered(), stream.size());
  packet_reader::result last;
  EXPECT_EQ(drain(reader, last), sample_packets());
}

TEST(packet_reader, reports_the_wire_size_of_each_packet) {
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0xC0, 0x00, 0x40, 0x02, 0x00, 0x01})));
  EXPECT_EQ(reader.next().wire_size, 2u);
  EXPECT_EQ(reader.next().wire_size, 4u);
}

TEST(packet_reader, partial_header_and_partial_body_need_more) {
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0x30})));
  EXPECT_EQ(reader.next().state, packet_reader::status::need_more);
  reader.feed(as_bytes(wire({0xAC})));  // continuation: length not known yet
  EXPECT_EQ(reader.next().state, packet_reader::status::need_more);
  reader.feed(as_bytes(wire({0x02, 0x00, 0x01, 't'})));  // 300 bytes announced, 3 present
  EXPECT_EQ(reader.next().state, packet_reader::status::need_more);
  EXPECT_EQ(reader.buffered(), 6u);
  reader.feed(as_bytes(std::string(297, 'x')));
  const auto r = reader.next();
  ASSERT_EQ(r.state, packet_reader::status::packet);
  EXPECT_EQ(std::get<publish_packet>(r.pkt).payload, std::string(297, 'x'));
  EXPECT_EQ(r.wire_size, 303u);
}

TEST(packet_reader, oversize_packet_is_refused_before_its_body_arrives) {
  packet_reader reader(100);
  reader.feed(as_bytes(wire({0x30, 0xE5, 0x01})));  // remaining length 229, no body yet
  const auto r = reader.next();
  EXPECT_EQ(r.state, packet_reader::status::error);
  EXPECT_EQ(r.error, decode_error::packet_too_large);
}

TEST(packet_reader, hostile_length_near_the_maximum_varint_is_refused_at_once) {
  packet_reader reader(16 * 1024 * 1024);
  reader.feed(as_bytes(wire({0x30, 0xFF, 0xFF, 0xFF, 0x7F})));  // 268,435,455
  EXPECT_EQ(reader.next().error, decode_error::packet_too_large);
  EXPECT_LE(reader.buffered(), 5u);
}

TEST(packet_reader, packet_of_exactly_the_maximum_size_is_accepted) {
  packet_reader reader(7);  // the whole packet: 2 bytes of fixed header and 5 of body
  reader.feed(as_bytes(wire({0x30, 0x05, 0x00, 0x01, 't', 'x', 'y'})));
  EXPECT_EQ(reader.next().state, packet_reader::status::packet);
}

// 5.0's Maximum Packet Size is the Total Packet Size, fixed header included [MQTT-3.2.2-15].
TEST(packet_reader, the_fixed_header_counts_toward_the_maximum) {
  packet_reader reader(6);
  reader.feed(as_bytes(wire({0x30, 0x05, 0x00, 0x01, 't', 'x', 'y'})));
  EXPECT_EQ(reader.next().error, decode_error::packet_too_large);
}

TEST(packet_reader, remaining_length_of_five_bytes_is_malformed) {  // [MQTT-1.5.5-1]
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0x30, 0x80, 0x80, 0x80, 0x80, 0x01})));
  EXPECT_EQ(reader.next().error, decode_error::malformed_remaining_length);
}

TEST(packet_reader, garbage_first_byte_is_refused_without_waiting_for_more) {
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0x00})));
  EXPECT_EQ(reader.next().error, decode_error::invalid_packet_type);
  packet_reader http(max_size);
  http.feed(as_bytes(std::string_view("G")));  // "GET / HTTP/1.1": PUBACK with flags 0111
  EXPECT_EQ(http.next().error, decode_error::invalid_fixed_header_flags);
}

TEST(packet_reader, stays_in_error_after_a_bad_packet) {
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0x40, 0x02, 0x00, 0x00, 0xC0, 0x00})));
  EXPECT_EQ(reader.next().error, decode_error::zero_packet_id);
  EXPECT_EQ(reader.next().error, decode_error::zero_packet_id);
  reader.feed(as_bytes(wire({0xC0, 0x00})));
  const auto r = reader.next();
  EXPECT_EQ(r.state, packet_reader::status::error);
  EXPECT_EQ(r.error, decode_error::zero_packet_id);
}

TEST(packet_reader, consumed_bytes_are_dropped_so_memory_stays_bounded) {
  packet_reader reader(max_size);
  std::string chunk;
  for (int i = 0; i < 100; ++i) chunk += wire({0xC0, 0x00});
  chunk += wire({0x40});  // the first byte of a PUBACK; the rest comes with the next read
  for (int round = 0; round < 1000; ++round) {
    reader.feed(as_bytes(chunk));
    packet_reader::result last;
    ASSERT_EQ(drain(reader, last).size(), 100u);
    ASSERT_EQ(reader.buffered(), 1u);  // only the unfinished packet is kept
    reader.feed(as_bytes(wire({0x02, 0x00, 0x01})));
    ASSERT_EQ(reader.next().state, packet_reader::status::packet);
  }
  // 1000 rounds of 203 bytes went through; the buffer never held much more than one read.
  EXPECT_LT(reader.capacity(), 4 * chunk.size());
}

TEST(packet_reader, connect_switches_the_layout_of_the_following_packets) {
  connect_packet c;
  c.version = protocol_version::v5;
  c.client_id = "c";
  publish_packet p;
  p.topic = "t";
  p.props = {{property_id::topic_alias, std::uint32_t{1}}};
  std::string stream;
  encode(c, protocol_version::v5, stream);
  encode(p, protocol_version::v5, stream);  // only decodable as 5.0
  packet_reader reader(max_size);
  reader.feed(as_bytes(stream));
  ASSERT_EQ(reader.next().state, packet_reader::status::packet);
  EXPECT_EQ(reader.version(), protocol_version::v5);
  const auto r = reader.next();
  ASSERT_EQ(r.state, packet_reader::status::packet) << describe(r.error);
  EXPECT_EQ(std::get<publish_packet>(r.pkt), p);
}

TEST(packet_reader, auth_is_refused_until_5_0_is_negotiated) {
  packet_reader reader(max_size);
  reader.feed(as_bytes(wire({0xF0, 0x00})));
  EXPECT_EQ(reader.next().error, decode_error::invalid_packet_type);
  packet_reader v5_reader(max_size);
  v5_reader.set_version(protocol_version::v5);
  v5_reader.feed(as_bytes(wire({0xF0, 0x00})));
  EXPECT_EQ(v5_reader.next().state, packet_reader::status::packet);
}

TEST(packet_reader, unsupported_level_result_carries_the_connect) {
  packet_reader reader(max_size);
  const std::string body = wire({0x00, 0x04}) + "MQTT" + wire({0x07, 0x02, 0x00, 0x3C, 0x00, 0x00});
  reader.feed(as_bytes(wire({0x10, static_cast<int>(body.size())}) + body));
  const auto r = reader.next();
  EXPECT_EQ(r.state, packet_reader::status::error);
  EXPECT_EQ(r.error, decode_error::unsupported_protocol_level);
  ASSERT_TRUE(std::holds_alternative<connect_packet>(r.pkt));
  EXPECT_EQ(static_cast<int>(std::get<connect_packet>(r.pkt).version), 7);
}

// next(publish_view&): a PUBLISH comes out as views of the reader's bytes, equal to what
// next() decodes; the other packets come out as before.
std::vector<packet> drain_views(packet_reader& reader, packet_reader::result& last) {
  std::vector<packet> out;
  publish_view view;
  for (last = reader.next(view);
       last.state == packet_reader::status::packet || last.state == packet_reader::status::publish;
       last = reader.next(view)) {
    if (last.state == packet_reader::status::publish) {
      out.push_back(to_packet(view));
    } else {
      out.push_back(last.pkt);
    }
  }
  return out;
}

TEST(packet_reader, publish_views_equal_the_decoded_packets_whatever_the_cuts) {
  lent_reads_cut_every(7, drain_views);
}

TEST(packet_reader, a_publish_view_points_into_the_bytes_it_came_in) {
  publish_packet p;
  p.topic = "home/kitchen/temperature";
  p.payload = "21.5 degrees, and rising";
  p.retain = true;
  const std::string read = stream_of({p}, protocol_version::v3_1_1);
  packet_reader reader(max_size);
  reader.lend(as_bytes(read));
  publish_view view;
  ASSERT_EQ(reader.next(view).state, packet_reader::status::publish);
  EXPECT_EQ(to_packet(view), p);
  // No copy was made: both views lie inside the lent read.
  EXPECT_GE(view.topic.data(), read.data());
  EXPECT_LE(view.payload.data() + view.payload.size(), read.data() + read.size());
  reader.keep_rest();
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(packet_reader, a_publish_view_with_5_0_properties_and_a_bad_one_after_it) {
  publish_packet p;
  p.topic = "t";
  p.payload = "x";
  p.qos = qos::at_least_once;
  p.packet_id = 5;
  p.props = {{property_id::message_expiry_interval, std::uint32_t{60}}};
  std::string stream = stream_of({p}, protocol_version::v5);
  // Then a PUBLISH whose topic is not UTF-8 [MQTT-1.5.3-1]: the reader fails and stays failed.
  stream += wire({0x30, 0x04, 0x00, 0x01, 0xFF, 'x'});
  packet_reader reader(max_size);
  reader.set_version(protocol_version::v5);
  reader.feed(as_bytes(stream));
  publish_view view;
  ASSERT_EQ(reader.next(view).state, packet_reader::status::publish);
  EXPECT_EQ(to_packet(view), p);
  const auto bad = reader.next(view);
  EXPECT_EQ(bad.state, packet_reader::status::error);
  EXPECT_EQ(bad.error, decode_error::invalid_utf8);
  EXPECT_EQ(reader.next(view).state, packet_reader::status::error);
}

}  // namespace
}  // namespace mqtt::test
