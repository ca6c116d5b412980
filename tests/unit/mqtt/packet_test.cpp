// Packet names and types, property look-up and UTF-8 validation.

#include <gtest/gtest.h>

#include <string>

#include "mqtt/packet.hpp"
#include "mqtt/utf8.hpp"

namespace mqtt {
namespace {

TEST(packet, type_of_names_every_alternative) {
  EXPECT_EQ(type_of(connect_packet{}), packet_type::connect);
  EXPECT_EQ(type_of(connack_packet{}), packet_type::connack);
  EXPECT_EQ(type_of(publish_packet{}), packet_type::publish);
  EXPECT_EQ(type_of(puback_packet{}), packet_type::puback);
  EXPECT_EQ(type_of(pubrec_packet{}), packet_type::pubrec);
  EXPECT_EQ(type_of(pubrel_packet{}), packet_type::pubrel);
  EXPECT_EQ(type_of(pubcomp_packet{}), packet_type::pubcomp);
  EXPECT_EQ(type_of(subscribe_packet{}), packet_type::subscribe);
  EXPECT_EQ(type_of(suback_packet{}), packet_type::suback);
  EXPECT_EQ(type_of(unsubscribe_packet{}), packet_type::unsubscribe);
  EXPECT_EQ(type_of(unsuback_packet{}), packet_type::unsuback);
  EXPECT_EQ(type_of(pingreq_packet{}), packet_type::pingreq);
  EXPECT_EQ(type_of(pingresp_packet{}), packet_type::pingresp);
  EXPECT_EQ(type_of(disconnect_packet{}), packet_type::disconnect);
  EXPECT_EQ(type_of(auth_packet{}), packet_type::auth);
}

TEST(packet, names_are_the_spec_names) {
  EXPECT_STREQ(name_of(packet_type::connect), "CONNECT");
  EXPECT_STREQ(name_of(packet_type::pubrel), "PUBREL");
  EXPECT_STREQ(name_of(packet_type::unsuback), "UNSUBACK");
  EXPECT_STREQ(name_of(packet_type::auth), "AUTH");
}

TEST(properties, find_returns_the_first_property_with_the_id) {
  const properties props = {
      {property_id::user_property, std::pair<std::string, std::string>{"a", "1"}},
      {property_id::receive_maximum, std::uint32_t{10}},
      {property_id::user_property, std::pair<std::string, std::string>{"b", "2"}},
  };
  const property* p = find_property(props, property_id::user_property);
  ASSERT_NE(p, nullptr);
  using string_pair = std::pair<std::string, std::string>;
  EXPECT_EQ(std::get<string_pair>(p->value).first, "a");
  EXPECT_EQ(find_property(props, property_id::topic_alias), nullptr);
  EXPECT_EQ(find_integer(props, property_id::receive_maximum), 10u);
  EXPECT_EQ(find_integer(props, property_id::topic_alias), std::nullopt);
  EXPECT_EQ(find_integer(props, property_id::user_property), std::nullopt);  // not an integer
}

TEST(properties, wire_types_follow_the_spec_table) {
  EXPECT_EQ(property_type_of(property_id::payload_format_indicator), property_type::byte);
  EXPECT_EQ(property_type_of(property_id::topic_alias), property_type::two_byte_integer);
  EXPECT_EQ(property_type_of(property_id::session_expiry_interval),
            property_type::four_byte_integer);
  EXPECT_EQ(property_type_of(property_id::subscription_identifier),
            property_type::variable_byte_integer);
  EXPECT_EQ(property_type_of(property_id::reason_string), property_type::utf8_string);
  EXPECT_EQ(property_type_of(property_id::correlation_data), property_type::binary_data);
  EXPECT_EQ(property_type_of(property_id::user_property), property_type::utf8_string_pair);
  EXPECT_EQ(property_type_of(static_cast<property_id>(0x04)), property_type::unknown);
}

TEST(utf8, well_formed_strings_are_accepted) {
  for (const char* s : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                        "\xEF\xBF\xBF",      // U+FFFF: a non-character, allowed
                        "\x01\x1F\x7F",      // control characters: allowed
                        "\xF4\x8F\xBF\xBF",  // U+10FFFF
                        "\xED\x9F\xBF"}) {   // U+D7FF, just below the surrogates
    EXPECT_TRUE(valid_utf8(s)) << s;
  }
}

TEST(utf8, ill_formed_strings_are_refused) {  // [MQTT-1.5.3-1] [MQTT-1.5.3-2]
  for (std::string s :
       {std::string("a\0b", 3), std::string("\xC0\x80"), std::string("\xC1\xBF"),
        std::string("\xE0\x9F\xBF"), std::string("\xED\xA0\x80"), std::string("\xED\xBF\xBF"),
        std::string("\xF0\x8F\xBF\xBF"), std::string("\xF4\x90\x80\x80"),
        std::string("\xF5\x80\x80\x80"), std::string("\x80"), std::string("\xC3"),
        std::string("\xE2\x82"), std::string("\xFF")}) {
    EXPECT_FALSE(valid_utf8(s)) << testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace mqtt
