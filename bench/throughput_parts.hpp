#pragma once
// The pieces of a throughput run: who publishes where, who subscribes to what, and the
// per-client state the publishers' flow control reads across threads.

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "load_client.hpp"
#include "load_options.hpp"

namespace bench {

struct topology {
  std::vector<std::string> topics;          // per publisher
  std::vector<std::string> filters;         // per subscriber
  std::vector<std::vector<int>> receivers;  // per publisher: the subscribers its messages reach
  int feeds_per_subscriber = 1;             // publishers whose messages reach one subscriber
  bool interleave = false;                  // place publisher i next to subscriber i
};

// pubsub: topic i -> subscriber i. fanout: one topic -> every subscriber. fanin: topic i ->
// the one subscriber, on a '+' filter.
topology make_topology(const load_options& o, const std::string& prefix);

// Payload layout: bytes 0..3 the publisher index, 4..7 the sequence number (little endian).
constexpr std::size_t payload_publisher_at = 0;
constexpr std::size_t payload_sequence_at = 4;

struct subscriber {
  subscriber(int i, std::size_t publishers)
      : index(i), from_publisher(publishers), next_sequence(publishers, 0) {}

  int index;
  std::shared_ptr<load_client> client;
  // Written by the subscriber's thread, read by the publishers' threads for their window.
  std::vector<std::atomic<std::uint64_t>> from_publisher;
  std::vector<std::uint32_t> next_sequence;  // subscriber's thread only
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> backwards{0};   // sequence went back: duplicate or reordering
  std::atomic<std::uint64_t> skipped{0};     // sequence numbers jumped over: not (yet) received
  std::atomic<std::uint64_t> foreign{0};     // not a message of this run
  std::atomic<std::uint64_t> downgraded{0};  // arrived below the QoS both sides asked for
};

struct publisher {
  int index = 0;
  std::shared_ptr<load_client> client;
  std::unique_ptr<boost::asio::steady_timer> stall_timer;
  std::vector<int> receivers;
  std::string frame;  // one encoded PUBLISH; copies get their sequence number and id patched
  std::size_t sequence_at = 0;
  std::size_t packet_id_at = 0;
  std::string batch;
  // Publisher's thread only.
  std::uint64_t sent_local = 0;
  std::uint64_t forgiven = 0;  // messages written off after a stall, so the window reopens
  std::uint64_t wait_generation = 0;
  std::uint16_t next_packet_id = 1;
  int outstanding = 0;  // QoS 1 publishes without PUBACK
  std::vector<bool> id_in_flight = std::vector<bool>(65536);
  // Read by the coordinating thread.
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> stalls{0};
  std::atomic<std::uint64_t> stray_acks{0};
  // The wake-up handshake with the subscriber that holds the window shut.
  std::atomic<bool> waiting{false};
  std::atomic<int> waiting_on{-1};
  std::atomic<std::uint64_t> wake_at{0};
};

}  // namespace bench
