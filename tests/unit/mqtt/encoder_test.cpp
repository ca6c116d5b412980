// The encoder's building blocks: variable byte integers, property lists, the shared PUBLISH head.

#include "codec_test_support.hpp"

namespace mqtt::test {
namespace {

TEST(varint, boundaries_encode_as_in_the_spec_table) {  // [MQTT-1.5.5]
  const std::pair<std::uint32_t, std::string> cases[] = {
      {0, "00"},
      {127, "7f"},
      {128, "80 01"},
      {16383, "ff 7f"},
      {16384, "80 80 01"},
      {2097151, "ff ff 7f"},
      {2097152, "80 80 80 01"},
      {268435455, "ff ff ff 7f"},
  };
  for (const auto& [value, bytes] : cases) {
    std::string out;
    encode_varint(value, out);
    EXPECT_EQ(hex(out), bytes) << value;
    EXPECT_EQ(varint_size(value), out.size()) << value;
  }
}

TEST(varint, encoding_appends_to_the_buffer) {
  std::string out = "x";
  encode_varint(128, out);
  EXPECT_EQ(hex(out), "78 80 01");
}

TEST(properties_encoding, empty_list_is_a_single_zero) {
  std::string out;
  encode_properties({}, out);
  EXPECT_EQ(hex(out), "00");
  EXPECT_EQ(properties_size({}), 1u);
}

TEST(properties_encoding, size_matches_the_bytes_written) {
  const properties props = {
      {property_id::content_type, std::string("text/plain")},
      {property_id::message_expiry_interval, std::uint32_t{7}},
      {property_id::user_property, std::pair<std::string, std::string>{"k", std::string(200, 'v')}},
  };
  std::string out;
  encode_properties(props, out);
  EXPECT_EQ(properties_size(props), out.size());
  // 13 + 5 + 206 = 224 bytes of properties: a two-byte length prefix.
  EXPECT_EQ(hex(out.substr(0, 5)), "e0 01 03 00 0a");
}

TEST(publish_head, head_plus_tail_plus_payload_equals_the_full_publish) {
  for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    publish_packet p;
    p.topic = "sensors/kitchen/temperature";
    p.payload = std::string(500, 't');
    p.qos = qos::at_least_once;
    p.retain = true;
    p.packet_id = 0x0102;
    if (v == protocol_version::v5) p.props = {{property_id::topic_alias, std::uint32_t{4}}};
    // What a fan-out writer builds per subscriber: packet identifier and properties.
    std::string tail = wire({0x01, 0x02});
    if (v == protocol_version::v5) encode_properties(p.props, tail);
    std::string out;
    encode_publish_head(p.topic, p.qos, p.retain, p.dup, tail.size(), p.payload.size(), out);
    out += tail;
    out += p.payload;
    EXPECT_EQ(hex(out), hex(encoded(p, v)));
  }
}

TEST(publish_head, qos0_head_has_no_tail) {
  std::string out;
  encode_publish_head("a", qos::at_most_once, false, false, 0, 2, out);
  EXPECT_EQ(hex(out), "30 05 00 01 61");
}

TEST(encode, appends_packets_one_after_another) {
  std::string out;
  encode(pingreq_packet{}, protocol_version::v3_1_1, out);
  encode(puback_packet{1, 0, {}}, protocol_version::v3_1_1, out);
  EXPECT_EQ(hex(out), "c0 00 40 02 00 01");
}

}  // namespace
}  // namespace mqtt::test
