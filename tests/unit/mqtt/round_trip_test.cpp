// Every packet type survives encode then decode, in each version that has it.

#include "codec_test_support.hpp"
#include "mqtt/packet_reader.hpp"

namespace mqtt::test {
namespace {

std::vector<packet> packets_for(protocol_version v) {
  const bool v5 = v == protocol_version::v5;
  auto props = [&](properties p) { return v5 ? p : properties{}; };
  const properties reason_props =
      props({{property_id::reason_string, std::string("why")},
             {property_id::user_property, std::pair<std::string, std::string>{"k", "v"}}});
  std::vector<packet> out;

  connect_packet c;
  c.version = v;
  c.clean_start = false;
  c.keep_alive = 0xFFFF;
  c.client_id = "";
  c.will = will_message{"will/topic", std::string("\x00\x01", 2), qos::exactly_once, true,
                        props({{property_id::message_expiry_interval, std::uint32_t{9}}})};
  c.username = "";
  c.password = "";
  c.props = props({{property_id::maximum_packet_size, std::uint32_t{1 << 20}}});
  out.push_back(c);

  out.push_back(connack_packet{v != protocol_version::v3_1,
                               v5 ? std::uint8_t{0x8A} : std::uint8_t{2},
                               props({{property_id::server_reference, std::string("other")}})});
  publish_packet p;
  p.topic = "a/b/c";
  p.payload = std::string(70000, 'z');  // three-byte remaining length
  p.qos = qos::exactly_once;
  p.dup = true;
  p.packet_id = 65535;
  p.props = props({{property_id::response_topic, std::string("reply")},
                   {property_id::payload_format_indicator, std::uint32_t{1}}});
  out.push_back(p);
  out.push_back(puback_packet{1, v5 ? std::uint8_t{0x97} : std::uint8_t{0}, reason_props});
  out.push_back(pubrec_packet{2, v5 ? std::uint8_t{0x80} : std::uint8_t{0}, reason_props});
  out.push_back(pubrel_packet{3, 0, reason_props});
  out.push_back(pubcomp_packet{4, v5 ? std::uint8_t{0x92} : std::uint8_t{0}, {}});
  subscribe_packet s;
  s.packet_id = 5;
  s.subscriptions = {{"x/+/y", qos::at_least_once}, {"#", qos::at_most_once}};
  if (v5) s.subscriptions.push_back({"z", qos::exactly_once, true, false, 2});
  s.props = props({{property_id::subscription_identifier, std::uint32_t{268435455}}});
  out.push_back(s);
  out.push_back(suback_packet{6, {0, 1, 2, 0x80}, props({})});
  unsubscribe_packet u;
  u.packet_id = 7;
  u.filters = {"x/+/y", "#"};
  out.push_back(u);
  unsuback_packet ua;
  ua.packet_id = 8;
  if (v5) ua.reason_codes = {0x00, 0x11};
  ua.props = reason_props;
  out.push_back(ua);
  out.push_back(pingreq_packet{});
  out.push_back(pingresp_packet{});
  if (v5) {
    out.push_back(disconnect_packet{0x8E, reason_props});
    out.push_back(
        auth_packet{0x19, props({{property_id::authentication_method, std::string("m")}})});
  } else {
    out.push_back(disconnect_packet{});
  }
  return out;
}

TEST(round_trip, every_packet_survives_encode_and_decode) {
  for (auto v : {protocol_version::v3_1, protocol_version::v3_1_1, protocol_version::v5}) {
    for (const packet& p : packets_for(v)) {
      const std::string bytes = encoded(p, v);
      const decode_result r = decode_wire(bytes, v);
      ASSERT_EQ(r.error, decode_error::none) << name_of(type_of(p)) << " v" << static_cast<int>(v);
      EXPECT_EQ(r.pkt, p) << name_of(type_of(p)) << " v" << static_cast<int>(v);
    }
  }
}

TEST(round_trip, reader_splits_a_stream_of_every_packet_at_any_boundary) {
  const auto packets = packets_for(protocol_version::v5);
  std::string stream;
  for (const packet& p : packets) encode(p, protocol_version::v5, stream);
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u, 4096u}) {
    packet_reader reader(1 << 20);
    reader.set_version(protocol_version::v5);
    std::vector<packet> got;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      reader.feed(as_bytes(std::string_view(stream).substr(at, piece)));
      for (auto r = reader.next(); r.state == packet_reader::status::packet; r = reader.next()) {
        got.push_back(std::move(r.pkt));
      }
    }
    EXPECT_EQ(got, packets) << "piece size " << piece;
  }
}

}  // namespace
}  // namespace mqtt::test
