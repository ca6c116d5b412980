#pragma once
// How the broker's durable state is laid out as key/value records in the log store.
//
//   r<topic>                       retained message: qos, payload; with bit 0x80 of the qos
//                                  byte, 5.0 extras between them (see below)
//   s<client id>                   persistent session: user name
//   x<client id>                   its session expiry (5.0): interval, when its connection
//                                  ended (absent in stores written before 5.0: never expires)
//   b<client id>\0<filter>         subscription: qos, 5.0 option bits, its identifier if any
//   d<client id>\0<seq, 8 bytes>   QoS 1/2 delivery owed: qos, retain, released, packet id,
//                                  topic, payload; with flag 0x04, 5.0 extras between them,
//                                  then with flag 0x08 its subscription identifiers (count, ids)
//
// 5.0 extras of a message: expiry (8 bytes, milliseconds since the epoch, 0 for none), then the
// length (4 bytes) of its properties as a PUBLISH carries them. Older records have no extras and
// read as before.
//   i<client id>\0<packet id>      incoming QoS 2 id awaiting PUBREL
//
// Client ids and topics cannot hold U+0000 [MQTT-1.5.3-2], so NUL separates key parts. Big-endian
// numbers keep a client's deliveries in seq order in any sorted listing.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/persistence.hpp"
#include "storage/stored_value.hpp"

namespace storage::records {

std::string retained_key(std::string_view topic);
std::string retained_value(const broker::message& msg);
void append_retained_value(const broker::message& msg, std::string& out);
// The same bytes, made from the message itself whenever needed: the store's index shares the
// message the broker holds rather than keeping a copy of its payload.
shared_value retained_shared(const broker::message_ptr& msg);

std::string session_key(std::string_view client_id);
std::string subscription_key(std::string_view client_id, std::string_view filter);
std::string subscription_value(const mqtt::subscription& sub);
std::string delivery_key(std::string_view client_id, std::uint64_t seq);
std::string delivery_value(const broker::stored_delivery& d);
std::string incoming_key(std::string_view client_id, std::uint16_t packet_id);
std::string expiry_key(std::string_view client_id);
std::string expiry_value(std::uint32_t interval,
                         std::optional<std::chrono::system_clock::time_point> ended_at);

// A record read back. Fields are filled per kind; decode failures give kind::invalid.
struct decoded {
  enum class kind { invalid, retained, session, subscription, delivery, incoming, expiry };
  kind what = kind::invalid;
  std::string client_id;         // session, subscription, delivery, incoming
  std::string username;          // session
  broker::message_ptr retained;  // retained
  mqtt::subscription sub;        // subscription
  broker::stored_delivery delivery;
  std::uint16_t packet_id = 0;                                    // incoming
  std::uint32_t expiry_interval = 0;                              // expiry
  std::optional<std::chrono::system_clock::time_point> ended_at;  // expiry
};
decoded decode(std::string_view key, std::string_view value);

}  // namespace storage::records
