#pragma once
// What the WebSocket listener answers to the HTTP request that opens a connection, decided from
// the request's fields alone (no Beast here, so the rules are tested with plain strings).
//
// Rules: the path must be "/" or "/mqtt" (404 otherwise; the query string is ignored); a request
// that is not a WebSocket upgrade gets 426 Upgrade Required; of the subprotocols the client
// offers, "mqtt" is chosen [MQTT-6.0.0-4], else "mqttv3.1" (the name MQTT 3.1 clients use). A
// client that offers none is accepted without the header, and so is one that offers only names
// we do not know: RFC 6455 4.2.2 has the server leave the header out when it agrees to none, and
// the client decides whether that is enough (browsers then fail the connection themselves).
// Mosquitto 2.0.11 (libwebsockets) drops such a connection without an answer instead; accepting
// serves lenient clients and gives strict ones an answer they can report.

#include <string>
#include <string_view>
#include <vector>

namespace transport {

struct upgrade_request {
  std::string_view target;            // "/mqtt", "/?x=1"
  bool is_websocket_upgrade = false;  // a GET with "Connection: upgrade", "Upgrade: websocket"
  std::string_view subprotocols;      // every Sec-WebSocket-Protocol field, joined by ", "
};

struct upgrade_decision {
  int status = 101;         // 101: accept; else the HTTP status that refuses
  std::string subprotocol;  // accepted: the one to echo in the response, empty for none
  std::string reason;       // refused: one line for the log and the response body
};

upgrade_decision decide_upgrade(const upgrade_request& request);

// The tokens of a comma-separated header value, without surrounding spaces and empty elements.
std::vector<std::string_view> split_header_list(std::string_view value);

}  // namespace transport
