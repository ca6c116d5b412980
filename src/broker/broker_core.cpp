#include "broker/broker_core.hpp"

#include "broker/broker_state.hpp"

namespace broker {

broker_core::broker_core(broker_config config, authenticator& auth, logger& log,
                         const authorizer* acl, persistence* store)
    : state_(std::make_unique<broker_state>(std::move(config), auth, log, acl, store)) {}

broker_core::~broker_core() = default;

void broker_core::tick(std::chrono::steady_clock::time_point now) {
  {
    std::lock_guard lock(tick_mutex_);
    // The first tick publishes at once, so $SYS topics exist as soon as the broker runs.
    if (last_sys_ && now - *last_sys_ < state_->config().sys_interval) return;
    last_sys_ = now;
  }
  state_->publish_sys(now);
}

broker_stats broker_core::stats() const {
  const broker_counters& c = state_->counters();
  broker_stats s;
  s.clients_connected = c.clients_connected.load();
  s.messages_received = c.messages_received.load();
  s.messages_sent = c.messages_sent.load();
  s.bytes_received = c.bytes_received.load();
  s.bytes_sent = c.bytes_sent.load();
  s.publish_dropped = c.publish_dropped.load();
  s.retained_messages = state_->retained_count();
  s.subscriptions = state_->subscription_count();
  s.sessions = state_->session_count();
  return s;
}

const broker_config& broker_core::config() const {
  return state_->config();
}

logger& broker_core::log() {
  return state_->log();
}

}  // namespace broker
