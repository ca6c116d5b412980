#pragma once
// A small asynchronous MQTT 3.1.1 client for load generation: connects, subscribes, sends
// pre-encoded bytes through one writer that gathers everything queued into one write, and hands
// every received packet to the scenario. It uses the project's codec for every packet.
//
// Every member function runs on the client's executor (post to it from other threads).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client_stream.hpp"
#include "mqtt/packet_reader.hpp"
#include "mqtt/packet.hpp"

namespace bench {

struct client_config {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string client_id;
  std::string username;
  std::string password;
  std::uint16_t keep_alive_s = 60;
  std::size_t read_buffer_size = 64 * 1024;
  std::size_t max_packet_size = 1 << 20;
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect through CONNACK
  transport_kind transport = transport_kind::tcp;
  std::string ws_path = "/mqtt";
  // false: the broker keeps the session after a disconnect [MQTT-3.1.2-4] (the persistent
  // scenario of persistent_scenario.cpp).
  bool clean_session = true;
  // 3.1.1, or 5.0 for the rows that compare the two (PUBLISH then carries a property length).
  mqtt::protocol_version version = mqtt::protocol_version::v3_1_1;
};

struct client_handlers {
  std::function<void(const std::string& error)> on_connected;  // error empty: CONNACK accepted
  std::function<void(const mqtt::publish_packet&)> on_publish;
  std::function<void(std::uint16_t packet_id)> on_puback;
  std::function<void(std::uint16_t packet_id, bool granted)> on_suback;
  std::function<void()> on_written;  // after each completed write: a chance to queue more
  std::function<void(const std::string& reason, bool was_connected)> on_closed;
};

class load_client : public std::enable_shared_from_this<load_client> {
 public:
  load_client(boost::asio::io_context& io, client_config cfg, client_handlers h);

  boost::asio::io_context::executor_type executor() { return io_.get_executor(); }

  void start();
  void subscribe(std::uint16_t packet_id, const std::string& filter, mqtt::qos q);
  // Queues bytes (one or more encoded packets) behind whatever is already queued.
  void send(std::string_view bytes);
  // Bytes queued but not yet handed to the socket: the publisher's measure of back-pressure.
  std::size_t queued_bytes() const { return pending_.size(); }
  bool connected() const { return connected_; }
  // Sends DISCONNECT after everything queued, then closes.
  void disconnect();
  void close(const std::string& reason);

 private:
  void on_tcp_connected(const boost::system::error_code& ec);
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void handle(const mqtt::packet& p);
  void write_queued();
  void on_write(const boost::system::error_code& ec);
  void arm_ping();

  boost::asio::io_context& io_;
  client_config cfg_;
  client_handlers h_;
  client_stream socket_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer ping_timer_;
  mqtt::packet_reader reader_;
  std::vector<std::uint8_t> read_buffer_;
  std::string pending_;  // queued while a write is in flight
  std::string writing_;  // the bytes of the write in flight
  std::string scratch_;  // for small packets the client encodes itself (PUBACK, PINGREQ)
  bool tcp_up_ = false;
  bool connected_ = false;
  bool write_in_flight_ = false;
  bool corked_ = false;  // while a read is being handled: gather the replies into one write
  bool disconnect_queued_ = false;
  bool closed_ = false;
};

}  // namespace bench
