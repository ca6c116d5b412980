// Writes the seed corpus of every fuzz target: valid packets, sessions, store directories,
// options and ACL files, built with the project's own encoders, so the fuzzer starts from inputs
// that reach deep into each parser and mutates from there.
//
//   make_fuzz_corpus <dir>    writes <dir>/<target>/<name> for every target, replacing what is
//   there

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "broker/message.hpp"
#include "broker/persistence.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/packet.hpp"
#include "session_script.hpp"
#include "storage/record_frame.hpp"
#include "storage/state_records.hpp"
#include "store_image.hpp"

namespace {

namespace fs = std::filesystem;
using mqtt::protocol_version;
using mqtt::qos;

class corpus {
 public:
  explicit corpus(fs::path root) : root_(std::move(root)) {}
  void add(const std::string& target, const std::string& name, const std::string& bytes) {
    const fs::path dir = root_ / target;
    if (!created_[target]) {
      fs::remove_all(dir);
      fs::create_directories(dir);
      created_[target] = true;
    }
    std::ofstream out(dir / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
    ++count_[target];
  }
  void report() const {
    for (const auto& [target, n] : count_) std::printf("%s: %d seeds\n", target.c_str(), n);
  }

 private:
  fs::path root_;
  std::map<std::string, bool> created_;
  std::map<std::string, int> count_;
};

std::string encode(const mqtt::packet& p, protocol_version v) {
  std::string out;
  mqtt::encode(p, v, out);
  return out;
}

mqtt::properties props_if(bool v5, mqtt::properties p) {
  return v5 ? std::move(p) : mqtt::properties{};
}

mqtt::connect_packet connect(protocol_version v, std::string id, bool clean = true,
                             std::string user = "u", std::string password = "p",
                             std::uint16_t keep_alive = 60) {
  mqtt::connect_packet c;
  c.version = v;
  c.client_id = std::move(id);
  c.clean_start = clean;
  c.keep_alive = keep_alive;
  if (!user.empty()) c.username = std::move(user);
  if (!password.empty()) c.password = std::move(password);
  return c;
}

mqtt::publish_packet publish(std::string topic, std::string payload, qos q = qos::at_most_once,
                             std::uint16_t id = 0, bool retain = false) {
  mqtt::publish_packet p;
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.qos = q;
  p.packet_id = q == qos::at_most_once ? 0 : id;
  p.retain = retain;
  return p;
}

mqtt::subscribe_packet subscribe(std::uint16_t id, std::vector<std::pair<std::string, qos>> f) {
  mqtt::subscribe_packet s;
  s.packet_id = id;
  for (auto& [filter, q] : f) s.subscriptions.push_back({filter, q});
  return s;
}

// One of every packet type, in the version's layout (5.0 with properties).
std::vector<std::pair<std::string, mqtt::packet>> every_packet(protocol_version v) {
  const bool v5 = v == protocol_version::v5;
  const mqtt::properties reason = props_if(
      v5, {{mqtt::property_id::reason_string, std::string("why")},
           {mqtt::property_id::user_property, std::pair<std::string, std::string>{"k", "v"}}});
  std::vector<std::pair<std::string, mqtt::packet>> out;
  auto c = connect(v, "client-1", false, "u", "p", 30);
  c.will = mqtt::will_message{"will/topic", "gone", qos::at_least_once, true,
                              props_if(v5, {{mqtt::property_id::will_delay_interval, 5u}})};
  c.props = props_if(v5, {{mqtt::property_id::session_expiry_interval, 3600u},
                          {mqtt::property_id::receive_maximum, 10u},
                          {mqtt::property_id::maximum_packet_size, 65536u},
                          {mqtt::property_id::topic_alias_maximum, 5u}});
  out.emplace_back("connect", c);
  out.emplace_back("connect-minimal", connect(v, "", true, "", "", 0));
  out.emplace_back(
      "connack",
      mqtt::connack_packet{
          true, 0,
          props_if(v5, {{mqtt::property_id::assigned_client_identifier, std::string("auto-1")}})});
  auto p = publish("sensors/kitchen/temperature", "21.5", qos::exactly_once, 7, true);
  p.dup = true;
  p.props = props_if(v5, {{mqtt::property_id::payload_format_indicator, 1u},
                          {mqtt::property_id::message_expiry_interval, 60u},
                          {mqtt::property_id::topic_alias, 1u},
                          {mqtt::property_id::response_topic, std::string("reply/here")},
                          {mqtt::property_id::correlation_data, std::string("\x00\x01", 2)},
                          {mqtt::property_id::content_type, std::string("text/plain")}});
  out.emplace_back("publish-qos2", p);
  out.emplace_back("publish-qos0", publish("a/b", std::string(200, 'x')));
  out.emplace_back("publish-large", publish("big", std::string(3000, 'y'), qos::at_least_once, 9));
  out.emplace_back("puback",
                   mqtt::puback_packet{1, v5 ? std::uint8_t{0x10} : std::uint8_t{0}, reason});
  out.emplace_back("pubrec", mqtt::pubrec_packet{2, 0, reason});
  out.emplace_back("pubrel", mqtt::pubrel_packet{3, 0, {}});
  out.emplace_back("pubcomp",
                   mqtt::pubcomp_packet{4, v5 ? std::uint8_t{0x92} : std::uint8_t{0}, {}});
  auto s = subscribe(5, {{"sensors/+/temperature", qos::at_least_once}, {"#", qos::exactly_once}});
  if (v5) {
    s.subscriptions.push_back({"no/local", qos::at_most_once, true, true, 2});
    s.props = {{mqtt::property_id::subscription_identifier, 42u}};
  }
  out.emplace_back("subscribe", s);
  out.emplace_back("suback", mqtt::suback_packet{6, {0, 1, 2, 0x80}, {}});
  mqtt::unsubscribe_packet u;
  u.packet_id = 8;
  u.filters = {"sensors/+/temperature", "#"};
  out.emplace_back("unsubscribe", u);
  mqtt::unsuback_packet ua;
  ua.packet_id = 8;
  if (v5) ua.reason_codes = {0x00, 0x11};
  out.emplace_back("unsuback", ua);
  out.emplace_back("pingreq", mqtt::pingreq_packet{});
  out.emplace_back("pingresp", mqtt::pingresp_packet{});
  out.emplace_back("disconnect",
                   mqtt::disconnect_packet{
                       v5 ? std::uint8_t{0x04} : std::uint8_t{0},
                       v5 ? mqtt::properties{{mqtt::property_id::session_expiry_interval, 0u}}
                          : mqtt::properties{}});
  if (v5) {
    out.emplace_back(
        "auth",
        mqtt::auth_packet{0x18,
                          {{mqtt::property_id::authentication_method, std::string("SCRAM-SHA-1")},
                           {mqtt::property_id::authentication_data, std::string("data")}}});
  }
  return out;
}

void decoder_seeds(corpus& c, const std::string& target, protocol_version v, std::uint8_t control) {
  std::string session;
  for (const auto& [name, p] : every_packet(v)) {
    const std::string bytes = encode(p, v);
    c.add(target, name, std::string(1, static_cast<char>(control)) + bytes);
    session += bytes;
  }
  c.add(target, "every-packet-in-one-stream", std::string(1, static_cast<char>(control)) + session);
  if (v != protocol_version::v5) {
    // MQTT 3.1: "MQIsdp", level 3.
    c.add(target, "connect-3.1",
          std::string(1, static_cast<char>(control | 0x80)) +
              encode(connect(protocol_version::v3_1, "old-client"), protocol_version::v3_1));
  }
}

// --- fuzz_session -------------------------------------------------------------------------------

namespace ss = fuzz::session_script;

void session_seeds(corpus& c) {
  for (protocol_version v :
       {protocol_version::v3_1_1, protocol_version::v5, protocol_version::v3_1}) {
    const std::string tag = v == protocol_version::v5     ? "-v5"
                            : v == protocol_version::v3_1 ? "-v31"
                                                          : "";
    auto e = [v](const mqtt::packet& p) { return encode(p, v); };

    // Publish and subscribe across two clients at every QoS, with retained messages.
    {
      ss::writer w(0);
      w.send(0, e(connect(v, "sub")) + e(subscribe(1, {{"home/#", qos::exactly_once},
                                                       {"$SYS/#", qos::at_most_once}})));
      w.send(1, e(connect(v, "pub")) + e(publish("home/light", "on", qos::at_most_once, 0, true)) +
                    e(publish("home/door", "open", qos::at_least_once, 1)) +
                    e(publish("home/window", "shut", qos::exactly_once, 2)));
      w.send(1, e(mqtt::pubrel_packet{2, 0, {}}));
      w.step(ss::op::take, 0);
      w.send(0, e(mqtt::puback_packet{1, 0, {}}) + e(mqtt::pubrec_packet{2, 0, {}}) +
                    e(mqtt::pubcomp_packet{2, 0, {}}) + e(mqtt::pingreq_packet{}));
      w.with_byte(ss::op::tick, 0, 2);
      w.send(2, e(connect(v, "late")) + e(subscribe(3, {{"home/+", qos::at_least_once}})));
      mqtt::unsubscribe_packet u;
      u.packet_id = 4;
      u.filters = {"home/+"};
      w.send(2, e(u) + e(mqtt::disconnect_packet{}));
      c.add("fuzz_session", "pubsub" + tag, w.bytes());
    }
    // Takeover: the same client id twice, the first with a will.
    {
      ss::writer w(0);
      auto first = connect(v, "same", false);
      first.will = mqtt::will_message{"status/same", "offline", qos::at_least_once, true, {}};
      w.send(0, e(first) + e(subscribe(1, {{"status/#", qos::at_least_once}})));
      w.send(1, e(connect(v, "same", false)));
      w.step(ss::op::take, 0).step(ss::op::run, 0);
      w.send(2, e(connect(v, "watch")) + e(subscribe(1, {{"status/#", qos::at_least_once}})));
      w.step(ss::op::close, 1);
      w.send(1, e(connect(v, "same", false)));
      c.add("fuzz_session", "takeover" + tag, w.bytes());
    }
    // A persistent session collects messages while offline, then resumes.
    {
      ss::writer w(ss::persistence);
      w.send(0, e(connect(v, "offline", false)) + e(subscribe(1, {{"q/#", qos::exactly_once}})));
      w.step(ss::op::close, 0);
      std::string burst = e(connect(v, "pub"));
      for (std::uint16_t id = 1; id <= 6; ++id) {
        burst += e(publish("q/" + std::to_string(id), std::string(40, 'p'),
                           id % 2 ? qos::at_least_once : qos::exactly_once, id));
      }
      w.send(1, burst);
      w.send(0, e(connect(v, "offline", false)));
      w.send(0, e(mqtt::puback_packet{1, 0, {}}) + e(mqtt::pubrec_packet{2, 0, {}}));
      c.add("fuzz_session", "persistent" + tag, w.bytes());
    }
    // Will on a lost connection; keep-alive timeout; refused logins; ACL-denied topics.
    {
      ss::writer w(ss::access_control);
      w.send(0, e(connect(v, "watcher")) +
                    e(subscribe(1, {{"#", qos::at_least_once}, {"private/#", qos::at_most_once}})));
      auto dying = connect(v, "dying", true, "u", "p", 5);
      dying.will = mqtt::will_message{"wills/dying", "bye", qos::exactly_once, false, {}};
      w.send(1, e(dying) + e(publish("private/x", "no", qos::at_least_once, 3)));
      w.with_byte(ss::op::timer, 1, 10);
      w.send(2, e(connect(v, "wrong", true, "u", "bad")));
      w.send(3, e(connect(v, "anon", true, "", "")));
      c.add("fuzz_session", "will-timeout-refused" + tag, w.bytes());
    }
    // Hub users answered later; strict durability holding acknowledgements.
    {
      ss::writer w(ss::deferred_auth | ss::strict_durability);
      w.send(0, e(connect(v, "hubby", true, "hub-user", "x")) + e(publish("a", "early")));
      w.send(1, e(connect(v, "strict")) + e(publish("d/1", "x", qos::at_least_once, 1, true)) +
                    e(publish("d/2", "y", qos::exactly_once, 2)));
      w.step(ss::op::answer, 0).step(ss::op::run, 0).step(ss::op::durable, 0).step(ss::op::run, 0);
      w.send(1, e(mqtt::pubrel_packet{2, 0, {}}));
      w.step(ss::op::durable, 0).step(ss::op::run, 0);
      c.add("fuzz_session", "deferred-strict" + tag, w.bytes());
    }
  }
  // 5.0 only: session expiry, topic aliases both ways, message expiry, subscription options and
  // identifiers, will delay, receive maximum, reason codes on acks and DISCONNECT, AUTH.
  {
    using mqtt::property_id;
    const protocol_version v = protocol_version::v5;
    auto e = [](const mqtt::packet& p) { return encode(p, protocol_version::v5); };
    ss::writer w(ss::persistence);
    auto sub = connect(v, "expiring", false);
    sub.props = {{property_id::session_expiry_interval, 30u},
                 {property_id::receive_maximum, 1u},
                 {property_id::topic_alias_maximum, 2u},
                 {property_id::maximum_packet_size, 512u},
                 {property_id::request_problem_information, 0u}};
    auto s = subscribe(1, {{"alias/#", qos::exactly_once}});
    s.subscriptions.push_back({"echo", qos::at_least_once, true, true, 1});
    s.props = {{property_id::subscription_identifier, 7u}};
    w.send(0, e(sub) + e(s));
    auto pub = connect(v, "aliasing", true, "u", "p", 10);
    pub.will = mqtt::will_message{
        "wills/aliasing",
        "late",
        qos::at_least_once,
        false,
        {{property_id::will_delay_interval, 20u}, {property_id::message_expiry_interval, 60u}}};
    auto first = publish("alias/a", "one", qos::at_least_once, 1, true);
    first.props = {{property_id::topic_alias, 1u}, {property_id::message_expiry_interval, 15u}};
    auto again = publish("", "two", qos::exactly_once, 2);
    again.props = {{property_id::topic_alias, 1u}};
    w.send(1, e(pub) + e(first) + e(again) + e(publish("echo", "self", qos::at_least_once, 3)));
    w.send(0, e(mqtt::puback_packet{1, 0x10, {}}) + e(mqtt::pubrec_packet{2, 0, {}}));
    w.send(1, e(mqtt::pubrel_packet{2, 0x92, {}}) + e(mqtt::auth_packet{0x19, {}}));
    w.with_byte(ss::op::tick, 0, 3);
    mqtt::disconnect_packet bye{0x04, {{property_id::session_expiry_interval, 5u}}};
    w.send(0, e(bye));
    w.with_byte(ss::op::tick, 0, 1);
    w.with_byte(ss::op::tick, 0, 9);
    w.send(0, e(sub));
    c.add("fuzz_session", "mqtt5-features", w.bytes());
  }
  // Byte by byte: a CONNECT and a PUBLISH arriving one byte per read.
  {
    ss::writer w(0);
    const std::string bytes =
        encode(connect(protocol_version::v3_1_1, "slow"), protocol_version::v3_1_1) +
        encode(publish("t", "v"), protocol_version::v3_1_1);
    for (char ch : bytes) w.send(0, std::string(1, ch));
    c.add("fuzz_session", "byte-by-byte", w.bytes());
  }
}

// --- fuzz_store ---------------------------------------------------------------------------------

namespace si = fuzz::store_image;

std::string frames(const std::vector<std::pair<std::string, std::string>>& puts,
                   const std::vector<std::string>& erases = {}, bool snapshot_end = false) {
  std::string out;
  std::uint64_t bytes = 0;
  for (const auto& [k, v] : puts) {
    storage::append_frame(out, storage::record_type::put, k, v);
    bytes += storage::frame_size(k, v);
  }
  for (const auto& k : erases) storage::append_frame(out, storage::record_type::erase, k, {});
  if (snapshot_end) {
    storage::append_frame(out, storage::record_type::snapshot_end, {},
                          storage::encode_snapshot_end(puts.size(), bytes));
  }
  return out;
}

void store_seeds(corpus& c) {
  namespace rec = storage::records;
  const broker::message_ptr retained =
      broker::message::make("home/light", "on", qos::at_least_once, true);
  broker::stored_delivery d;
  d.seq = 1;
  d.msg = broker::message::make("q/1", "payload", qos::exactly_once, false);
  d.qos = qos::exactly_once;
  d.packet_id = 7;
  broker::stored_delivery released = d;
  released.seq = 2;
  released.released = true;
  const std::vector<std::pair<std::string, std::string>> state = {
      {rec::retained_key("home/light"), rec::retained_value(*retained)},
      {rec::session_key("dev1"), "u"},
      {rec::subscription_key("dev1", "q/#"), rec::subscription_value({"q/#", qos::exactly_once})},
      {rec::delivery_key("dev1", 1), rec::delivery_value(d)},
      {rec::delivery_key("dev1", 2), rec::delivery_value(released)},
      {rec::incoming_key("dev1", 9), ""},
  };
  const std::uint8_t snap1 = si::snapshot | si::with_header;  // snapshot-1
  const std::uint8_t log1 = si::with_header;                  // log-1
  const std::uint8_t log2 = si::with_header | 1;              // log-2

  std::string image;
  si::append_file(image, snap1, frames(state, {}, true));
  si::append_file(
      image, log1,
      frames({{rec::retained_key("home/door"), rec::retained_value(*broker::message::make(
                                                   "home/door", "open", qos::at_most_once, true))}},
             {rec::retained_key("home/light")}));
  // This one also goes through storage::broker_store, with its threads.
  if (!si::make_through_broker_store(image)) {
    throw std::runtime_error("no padding byte sends snapshot-and-log through broker_store");
  }
  c.add("fuzz_store", "snapshot-and-log", image);

  std::string logs_only;
  si::append_file(logs_only, log1, frames(state));
  si::append_file(logs_only, log2, frames({}, {rec::delivery_key("dev1", 1)}));
  c.add("fuzz_store", "logs-only", logs_only);

  // A torn tail and a flipped byte in the middle: recovery resynchronises.
  std::string torn = frames(state);
  torn[torn.size() / 2] ^= 0x40;
  torn.resize(torn.size() - 5);
  std::string damaged;
  si::append_file(damaged, log1, torn);
  c.add("fuzz_store", "damaged-log", damaged);

  // A snapshot cut short, a leftover temporary file, and a newer snapshot.
  std::string older;
  const std::string snap = frames(state, {}, true);
  si::append_file(older, snap1, snap.substr(0, snap.size() - 30));
  si::append_file(older, snap1 | si::temporary, snap);
  si::append_file(older, si::snapshot | si::with_header | 2, frames(state, {}, true));
  si::append_file(older, si::with_header | 2, frames(state));
  c.add("fuzz_store", "snapshots", older);
  c.add("fuzz_store", "empty", "");
}

// --- fuzz_options and fuzz_acl_file
// ----------------------------------------------------------------

void text_seeds(corpus& c) {
  const std::vector<std::string> options = {
      "{}",
      R"({"logins": [], "require_certificate": false, "certfile": "fullchain.pem", "keyfile": "privkey.pem", "customize": {"active": false, "folder": "mosquitto"}})",
      R"({"logins": [{"username": "me", "password": "secret"}, {"username": "pre", "password": "PBKDF2$sha512$100000$c2FsdA==$aGFzaA==", "password_pre_hashed": true}]})",
      R"({"acl": [{"username": "me", "topic": "home/#", "access": "readwrite"}, {"topic": "devices/%u/#", "access": "write"}, {"topic": "secret/#", "access": "deny"}, {"username": "me", "topic": "$SYS/#", "access": "read"}]})",
      R"({"log_level": "debug", "durability": "strict", "max_queued_messages": 5, "cafile": "ca.pem", "unknown_key": [1, 2, {"x": null}]})",
      R"({"customize": {"active": true, "folder": "mosquitto"}, "logins": [{"username": "a", "password": "b"}], "acl": [{"topic": "%c/+/x", "access": "read"}]})",
  };
  for (std::size_t i = 0; i < options.size(); ++i)
    c.add("fuzz_options", "options-" + std::to_string(i), options[i]);

  const std::vector<std::string> acl_files = {
      "# Mosquitto acl_file\ntopic read $SYS/#\n\nuser homeassistant\ntopic readwrite #\n\nuser "
      "me\ntopic write home/+/set\ntopic read home/#\ntopic deny home/secret\n\npattern readwrite "
      "devices/%u/#\npattern read clients/%c\n",
      "topic a/b\nuser x\ntopic readwrite with space/in topic\npattern deny %u/%c/#\n",
      std::string("user u\ntopic read u/#\n") + '\0' + "u/c" + '\0' + "a+b",
      "user\ntopic\npattern write\nunknown keyword here\ntopic read a/#/b\n",
  };
  for (std::size_t i = 0; i < acl_files.size(); ++i)
    c.add("fuzz_acl_file", "acl-" + std::to_string(i), acl_files[i]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus <dir>\n");
    return 2;
  }
  try {
    corpus c(argv[1]);
    decoder_seeds(c, "fuzz_decode_v311", protocol_version::v3_1_1, 0x00);
    decoder_seeds(c, "fuzz_decode_v5", protocol_version::v5, 0x00);
    session_seeds(c);
    store_seeds(c);
    text_seeds(c);
    c.report();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
