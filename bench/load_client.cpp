#include "load_client.hpp"

#include <boost/asio/write.hpp>
#include <span>

#include "mqtt/decode_error.hpp"
#include "mqtt/encoder.hpp"

namespace bench {

namespace asio = boost::asio;
using boost::system::error_code;

load_client::load_client(asio::io_context& io, client_config cfg, client_handlers h)
    : io_(io),
      cfg_(std::move(cfg)),
      h_(std::move(h)),
      socket_(io, cfg_.transport, cfg_.ws_path),
      connect_timer_(io),
      ping_timer_(io),
      reader_(cfg_.max_packet_size),
      read_buffer_(cfg_.read_buffer_size) {
  reader_.set_version(cfg_.version);
}

void load_client::start() {
  auto self = shared_from_this();
  connect_timer_.expires_after(cfg_.connect_timeout);
  connect_timer_.async_wait([self](const error_code& ec) {
    if (!ec && !self->connected_) self->close("no CONNACK within the connect timeout");
  });
  socket_.async_connect(cfg_.endpoint,
                        [self](const error_code& ec) { self->on_tcp_connected(ec); });
}

void load_client::on_tcp_connected(const error_code& ec) {
  if (closed_) return;
  if (ec) {
    close(std::string(name_of(cfg_.transport)) + " connect failed: " + ec.message());
    return;
  }
  tcp_up_ = true;  // and TLS and WebSocket, for those transports; Nagle is off (client_stream)
  mqtt::connect_packet c;
  c.version = cfg_.version;
  c.clean_start = cfg_.clean_session;
  c.keep_alive = cfg_.keep_alive_s;
  c.client_id = cfg_.client_id;
  c.username = cfg_.username;
  c.password = cfg_.password;
  scratch_.clear();
  mqtt::encode(c, cfg_.version, scratch_);
  // CONNECT goes ahead of anything the scenario queued before the socket was up.
  pending_.insert(0, scratch_);
  write_queued();
  read_more();
}

void load_client::subscribe(std::uint16_t packet_id, const std::string& filter, mqtt::qos q) {
  mqtt::subscribe_packet s;
  s.packet_id = packet_id;
  s.subscriptions.push_back(mqtt::subscription{.filter = filter, .max_qos = q});
  scratch_.clear();
  mqtt::encode(s, cfg_.version, scratch_);
  send(scratch_);
}

void load_client::send(std::string_view bytes) {
  if (closed_ || disconnect_queued_) return;
  pending_.append(bytes);
  if (!corked_) write_queued();
}

void load_client::disconnect() {
  if (closed_ || disconnect_queued_) return;
  if (!tcp_up_) {
    close("disconnected before the TCP connection was up");
    return;
  }
  scratch_.clear();
  mqtt::encode(mqtt::disconnect_packet{}, cfg_.version, scratch_);
  pending_.append(scratch_);
  disconnect_queued_ = true;
  write_queued();
}

void load_client::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  bool was_connected = connected_;
  connected_ = false;
  connect_timer_.cancel();
  ping_timer_.cancel();
  socket_.close();
  if (h_.on_closed) h_.on_closed(reason, was_connected);
}

void load_client::read_more() {
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void load_client::on_read(const error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    close(ec == asio::error::eof ? "closed by the broker" : "read failed: " + ec.message());
    return;
  }
  reader_.feed(std::span<const std::uint8_t>(read_buffer_.data(), n));
  corked_ = true;
  for (;;) {
    auto r = reader_.next();
    if (r.state == mqtt::packet_reader::status::need_more) break;
    if (r.state == mqtt::packet_reader::status::error) {
      corked_ = false;
      close(std::string("undecodable packet from the broker: ") + mqtt::describe(r.error));
      return;
    }
    handle(r.pkt);
    if (closed_) return;
  }
  corked_ = false;
  write_queued();
  read_more();
}

void load_client::handle(const mqtt::packet& p) {
  if (auto* pub = std::get_if<mqtt::publish_packet>(&p)) {
    if (pub->qos == mqtt::qos::at_least_once) {
      // The broker keeps the message in flight until this arrives [MQTT-4.3.2-1].
      mqtt::puback_packet ack;
      ack.packet_id = pub->packet_id;
      scratch_.clear();
      mqtt::encode(ack, cfg_.version, scratch_);
      pending_.append(scratch_);
    }
    if (h_.on_publish) h_.on_publish(*pub);
  } else if (auto* ack = std::get_if<mqtt::puback_packet>(&p)) {
    if (h_.on_puback) h_.on_puback(ack->packet_id);
  } else if (auto* ca = std::get_if<mqtt::connack_packet>(&p)) {
    if (connected_) {
      close("a second CONNACK");
      return;
    }
    if (ca->reason_code != 0) {
      close("CONNACK refused the connection with return code " + std::to_string(ca->reason_code));
      return;
    }
    connected_ = true;
    connect_timer_.cancel();
    arm_ping();
    if (h_.on_connected) h_.on_connected("");
  } else if (auto* sa = std::get_if<mqtt::suback_packet>(&p)) {
    bool granted = !sa->reason_codes.empty();
    for (auto code : sa->reason_codes) granted = granted && code != 0x80;
    if (h_.on_suback) h_.on_suback(sa->packet_id, granted);
  } else if (std::holds_alternative<mqtt::pingresp_packet>(p)) {
    // Nothing to do: the broker is alive.
  } else {
    close(std::string("unexpected ") + mqtt::name_of(mqtt::type_of(p)) + " from the broker");
  }
}

void load_client::write_queued() {
  if (write_in_flight_ || pending_.empty() || closed_ || !tcp_up_) return;
  write_in_flight_ = true;
  writing_.swap(pending_);  // both keep their capacity: no allocation in the steady state
  auto self = shared_from_this();
  socket_.async_write(asio::buffer(writing_),
                      [self](const error_code& ec, std::size_t) { self->on_write(ec); });
}

void load_client::on_write(const error_code& ec) {
  write_in_flight_ = false;
  writing_.clear();
  if (closed_) return;
  if (ec) {
    close("write failed: " + ec.message());
    return;
  }
  if (disconnect_queued_ && pending_.empty()) {
    close("disconnected");
    return;
  }
  if (h_.on_written) h_.on_written();
  write_queued();
}

void load_client::arm_ping() {
  if (cfg_.keep_alive_s == 0) return;
  // Half the keep-alive leaves room for a slow broker; the broker allows 1.5 times it
  // [MQTT-3.1.2-24].
  ping_timer_.expires_after(std::chrono::seconds(cfg_.keep_alive_s) / 2);
  auto self = shared_from_this();
  ping_timer_.async_wait([self](const error_code& ec) {
    if (ec || self->closed_) return;
    self->scratch_.clear();
    mqtt::encode(mqtt::pingreq_packet{}, self->cfg_.version, self->scratch_);
    self->send(self->scratch_);
    self->arm_ping();
  });
}

}  // namespace bench
