#pragma once
// The scenarios of mqtt-load. Each prints one RESULT line on stdout and returns the exit status.

#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "load_client.hpp"
#include "load_options.hpp"

namespace bench {

// pubsub, fanout and fanin: delivered messages per second, counted at the subscribers.
int run_throughput(const load_options& o, const boost::asio::ip::tcp::endpoint& broker);

// Sequential round trips from a publisher through the broker to a subscriber.
int run_latency(const load_options& o, const boost::asio::ip::tcp::endpoint& broker);

// latency --rate: messages sent on a timer at a fixed rate, each one's time from send to receipt.
int run_paced_latency(const load_options& o, const boost::asio::ip::tcp::endpoint& broker);

// Many connected idle clients; with --broker-pid, the broker's memory per connection.
int run_idle(const load_options& o, const boost::asio::ip::tcp::endpoint& broker);

inline client_config make_client_config(const load_options& o,
                                        const boost::asio::ip::tcp::endpoint& broker,
                                        std::string client_id) {
  client_config c;
  c.endpoint = broker;
  c.client_id = std::move(client_id);
  c.username = o.username;
  c.password = o.password;
  c.max_packet_size = o.payload_size + 64 * 1024;
  c.transport = o.transport;
  c.version = o.version;
  c.ws_path = o.ws_path;
  return c;
}

}  // namespace bench
