#pragma once
// The broker's shared state: sessions, subscriptions, retained messages, statistics. Free of I/O.
// Thread-safe: connections on any I/O thread call into it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "broker/authenticator.hpp"
#include "broker/authorizer.hpp"
#include "broker/broker_config.hpp"
#include "broker/logger.hpp"
#include "broker/persistence.hpp"

namespace broker {

struct broker_stats {
  std::uint64_t clients_connected = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t publish_dropped = 0;  // QoS 0 dropped, or queue full
  std::uint64_t retained_messages = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t sessions = 0;
};

class broker_state;

class broker_core {
 public:
  // `acl` may be null: then every authenticated client may use every topic.
  // `store` may be null: then nothing survives a restart.
  broker_core(broker_config config, authenticator& auth, logger& log,
              const authorizer* acl = nullptr, persistence* store = nullptr);
  ~broker_core();
  broker_core(const broker_core&) = delete;
  broker_core& operator=(const broker_core&) = delete;

  // Call about once a second from any thread: publishes $SYS/broker/... every sys_interval.
  void tick(std::chrono::steady_clock::time_point now);

  broker_stats stats() const;
  const broker_config& config() const;
  logger& log();

  // Used by connection; not for the transport.
  broker_state& state() { return *state_; }

 private:
  std::unique_ptr<broker_state> state_;
  std::mutex tick_mutex_;
  std::optional<std::chrono::steady_clock::time_point> last_sys_;
};

}  // namespace broker
