#pragma once
// Drives a broker::connection the way a transport would, with packets instead of sockets.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "broker/broker_core.hpp"
#include "broker/connection.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/packet_reader.hpp"

namespace broker::testing {

// Accepts user "u" with password "p"; anonymous is not authorized; anything else is bad.
class fixed_authenticator : public authenticator {
 public:
  void authenticate(const credentials& who, std::function<void(auth_result)> done) override {
    if (!who.username) return done(auth_result::not_authorized);
    // Users u and v, both with password p.
    const bool known = *who.username == "u" || *who.username == "v";
    done(known && who.password == std::string("p") ? auth_result::accepted
                                                   : auth_result::bad_credentials);
  }
};

class test_client : public transport_link {
 public:
  explicit test_client(broker_core& core)
      : conn_(std::make_shared<connection>(core, *this, "127.0.0.1:5555")) {}

  // wake() and post() are called from other threads too (the store's writer thread answers
  // after_durable through post()), as transport_link allows.
  void wake() override { ++wakes; }
  // The protocol the client speaks from its next CONNECT on (3.1.1 by default).
  void use_version(mqtt::protocol_version v) {
    version_ = v;
    reader_.set_version(v);
  }
  std::shared_ptr<void> lifetime() override { return conn_; }
  void post(std::function<void()> fn) override {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }

  void send_bytes(std::string_view bytes) {
    conn_->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    run_posted();
  }
  void send(const mqtt::packet& p) {
    std::string bytes;
    mqtt::encode(p, version_, bytes);
    send_bytes(bytes);
  }
  // The user the next CONNECT logs in as (u by default; v is known too).
  void login_as(std::string user) { user_ = std::move(user); }
  // CONNECT as the login user and expect nothing; call received() for the CONNACK.
  void connect(std::string client_id, bool clean = true, std::uint16_t keep_alive = 0,
               std::optional<mqtt::will_message> will = std::nullopt) {
    mqtt::connect_packet c;
    c.client_id = std::move(client_id);
    c.clean_start = clean;
    c.keep_alive = keep_alive;
    c.username = user_;
    c.password = "p";
    c.will = std::move(will);
    c.version = version_;
    send(c);
  }

  // Everything the broker wrote since the last call, decoded.
  std::vector<mqtt::packet> received() {
    output_batch out;
    conn_->take_output(out);
    for (const auto& seg : out.segments()) {
      auto view = out.view(seg);
      reader_.feed(std::span(reinterpret_cast<const std::uint8_t*>(view.data()), view.size()));
    }
    std::vector<mqtt::packet> packets;
    while (true) {
      auto r = reader_.next();
      if (r.state != mqtt::packet_reader::status::packet) break;
      packets.push_back(std::move(r.pkt));
    }
    return packets;
  }
  template <typename T>
  std::vector<T> received_of() {
    std::vector<T> of;
    for (auto& p : received()) {
      if (auto* t = std::get_if<T>(&p)) of.push_back(std::move(*t));
    }
    return of;
  }

  void run_posted() {
    for (;;) {
      std::vector<std::function<void()>> fns;
      {
        std::lock_guard lock(posted_mutex_);
        fns.swap(posted_);
      }
      if (fns.empty()) return;
      for (auto& fn : fns) fn();
    }
  }

  // The transport closes the socket (after flushing) or the peer vanishes.
  void drop() { conn_->on_closed(); }

  connection& conn() { return *conn_; }
  std::atomic<int> wakes = 0;

 private:
  std::shared_ptr<connection> conn_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  mqtt::protocol_version version_ = mqtt::protocol_version::v3_1_1;
  std::string user_ = "u";
  mqtt::packet_reader reader_{64 * 1024 * 1024};
};

inline mqtt::publish_packet publish(std::string topic, std::string payload,
                                    mqtt::qos q = mqtt::qos::at_most_once, bool retain = false,
                                    std::uint16_t id = 0) {
  mqtt::publish_packet p;
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.qos = q;
  p.retain = retain;
  p.packet_id = id;
  return p;
}

inline mqtt::subscribe_packet subscribe(std::string filter, mqtt::qos q = mqtt::qos::at_most_once,
                                        std::uint16_t id = 1) {
  mqtt::subscribe_packet s;
  s.packet_id = id;
  mqtt::subscription sub;
  sub.filter = std::move(filter);
  sub.max_qos = q;
  s.subscriptions.push_back(sub);
  return s;
}

}  // namespace broker::testing
