#include "broker/session.hpp"

#include <algorithm>

#include "mqtt/encoder.hpp"

namespace broker {

namespace {
// The deque entry, the shared message's header and its two strings' headers, roughly.
constexpr std::size_t per_message_overhead = 64;
// When every buffer together is over max_total_buffer_bytes, a connected client still gets its
// messages while it holds less than this, or less than its fair share (the limit divided among
// the clients holding more than this): the clients that keep up are not the ones that filled
// it. The overshoot stays below this much per connection plus the limit once more.
constexpr std::size_t small_queue = 256 * 1024;
}  // namespace

std::size_t queue_cost(const message& m) {
  // 5.0 properties (user properties above all) can be far larger than the payload: a message
  // holds them twice, on the wire and decoded, so they count twice. Without them a client
  // could queue megabytes of properties on empty payloads at the cost of empty messages.
  return m.payload().size() + m.topic().size() + 2 * m.properties_wire().size() +
         per_message_overhead;
}

session::session(shared_text client_id, std::uint32_t expiry_interval,
                 const session_context& context)
    : client_id_(std::move(client_id)), expiry_interval_(expiry_interval), context_(&context) {}

session::~session() {
  if (context_->pool) settle(queued_bytes_, 0);
}

void session::settle(std::size_t before, std::size_t after) {
  if (!context_->pool || before == after) return;
  // The pool is shared by every thread: one atomic change per batch, not one per message.
  if (after > before) {
    context_->pool->used.add(after - before);
  } else {
    context_->pool->used.sub(before - after);
  }
  const bool was_heavy = before > small_queue;
  const bool heavy = after > small_queue;
  if (heavy && !was_heavy) context_->pool->heavy.fetch_add(1, std::memory_order_relaxed);
  if (was_heavy && !heavy) context_->pool->heavy.fetch_sub(1, std::memory_order_relaxed);
}

void session::charge(const outgoing_publish& p) {
  if (p.exempt) {
    ++exempt_queued_;
    return;
  }
  const std::size_t before = queued_bytes_;
  queued_bytes_ += queue_cost(*p.msg);
  settle(before, queued_bytes_);
}

void session::uncharge_inflight(const outgoing_publish& p) {
  const std::size_t cost = queue_cost(*p.msg);
  inflight_bytes_ -= static_cast<std::uint32_t>(cost);
  // Exempt ones were never charged (and left exempt_queued_ when they left the queue).
  if (p.exempt) return;
  inflight_cost_ -= static_cast<std::uint32_t>(cost);
  const std::size_t before = queued_bytes_;
  queued_bytes_ -= cost;
  settle(before, queued_bytes_);
}

void session::refund(const outgoing_publish& p) {
  if (p.exempt) {
    --exempt_queued_;
    return;
  }
  const std::size_t before = queued_bytes_;
  queued_bytes_ -= queue_cost(*p.msg);
  settle(before, queued_bytes_);
}

void session::push(outgoing_publish p) {
  charge(p);
  queue().push_back(std::move(p));
  store(queue().back(), false);
}

std::size_t publish_wire_size(const outgoing_publish& p, const send_limits& limits) {
  const message& m = *p.msg;
  std::size_t body = 2 + m.topic().size() + m.payload().size();
  if (p.qos != mqtt::qos::at_most_once) body += 2;
  if (limits.v5) {
    std::size_t props = m.properties_wire().size();
    if (m.expires_at()) props += 5;
    for (std::uint32_t id : p.sub_ids) props += 1 + mqtt::varint_size(id);
    if (limits.topic_aliases) props += 3;
    body += mqtt::varint_size(static_cast<std::uint32_t>(props)) + props;
  }
  return 1 + mqtt::varint_size(static_cast<std::uint32_t>(body)) + body;
}

bool session::window_full(std::size_t next_cost) const {
  // In messages: the broker's own window, or the client's Receive Maximum [MQTT-3.3.4-9]. In
  // bytes: what a socket's buffers take, so that the messages in flight reach the client (or
  // fill its socket) and a client that stopped reading is noticed; one message always goes.
  return inflight() >= window() ||
         (inflight() > 0 && inflight_bytes_ + next_cost > inflight_byte_limit);
}

std::size_t session::window() const {
  return std::min<std::size_t>(context_->limits.max_inflight, send_limits_.receive_maximum);
}

void session::store(const outgoing_publish& p, bool released) {
  if (!durable() || p.qos == mqtt::qos::at_most_once) return;
  context_->store->delivery_stored(
      client_id_, {p.seq, p.msg, p.qos, p.retain, p.packet_id, released, p.sub_ids});
}

void session::forget(const outgoing_publish& p) {
  if (!durable() || p.qos == mqtt::qos::at_most_once) return;
  context_->store->delivery_erased(client_id_, p.seq);
}

bool session::remember_incoming_qos2(std::uint16_t id) {
  if (!incoming().insert(id).second) return false;
  if (durable()) context_->store->incoming_qos2_stored(client_id_, id);
  return true;
}

void session::release_incoming_qos2(std::uint16_t id) {
  if (incoming_qos2_ && incoming_qos2_->erase(id) && durable())
    context_->store->incoming_qos2_erased(client_id_, id);
}

void session::forget_all() {
  if (!durable()) return;
  if (queue_) {
    for (const auto& p : *queue_) forget(p);
  }
  if (inflight_) {
    for (const auto& entry : *inflight_) forget(entry.publish);
  }
  if (incoming_qos2_) {
    for (std::uint16_t id : *incoming_qos2_) context_->store->incoming_qos2_erased(client_id_, id);
  }
}

void session::restore_delivery(const stored_delivery& d) {
  outgoing_publish p{d.msg, d.qos, d.retain, false, d.packet_id, false, d.seq, d.sub_ids, {}};
  next_seq_ = std::max(next_seq_, d.seq + 1);
  if (d.packet_id == 0) {
    charge(p);
    queue().push_back(std::move(p));
    return;
  }
  // Sent before the restart: it goes again on the next connection, as a resend. It costs its
  // budget until acknowledged, as in flight before the restart.
  if (!d.released) p.dup = true;
  charge(p);
  const auto cost = static_cast<std::uint32_t>(queue_cost(*p.msg));
  inflight_cost_ += cost;
  inflight_bytes_ += cost;
  inflight_list().push_back({std::move(p), d.released, true});
  ++pending_inflight_;
}

bool session::offline_full(std::size_t cost) const {
  // The offline limits are for the queue: what is in flight stays until it is acknowledged,
  // and counting it here could refuse every new message of a session with a small limit.
  return queued() >= context_->limits.max_queued_messages ||
         queued_bytes_ - inflight_cost_ + cost > context_->limits.max_queued_bytes ||
         (context_->pool && context_->pool->used.load() + cost > context_->pool->limit);
}

enqueue_result session::enqueue(message_ptr msg, mqtt::qos q, bool retain, std::size_t exempt_up_to,
                                std::vector<std::uint32_t> sub_ids, std::string_view share) {
  outgoing_publish p{std::move(msg),    q, retain, false, 0, false, next_seq_++, std::move(sub_ids),
                     std::string(share)};
  if (exempt_queued_ < exempt_up_to) {
    p.exempt = true;
    push(std::move(p));
    return enqueue_result::queued;
  }
  if (!live_ || over_budget_) {
    if (live_ && q == mqtt::qos::at_most_once) {
      // Being disconnected for its budget: QoS 0 is not kept for it any more.
      ++dropped_;
      return enqueue_result::dropped_client_budget;
    }
    return enqueue_offline(std::move(p));
  }
  const std::size_t cost = queue_cost(*p.msg);
  const bool over_client = queued_bytes_ + cost > live_limit_;
  const bool over_total =
      // The session's own small figures first: the pool's total is summed only for a session
      // holding more than a small queue.
      context_->pool && queued_bytes_ + cost > small_queue &&
      context_->pool->used.load() + cost > context_->pool->limit &&
      queued_bytes_ + cost >
          context_->pool->limit / std::max<std::size_t>(1, context_->pool->heavy);
  if (!over_client && !over_total) {
    push(std::move(p));
    return enqueue_result::queued;
  }
  if (q == mqtt::qos::at_most_once) {
    ++dropped_;
    return over_client ? enqueue_result::dropped_client_budget
                       : enqueue_result::dropped_total_budget;
  }
  // QoS 1/2 is never dropped silently for a live client: it is kept, and the client goes.
  over_budget_ = true;
  push(std::move(p));
  return enqueue_result::over_budget;
}

enqueue_result session::enqueue_offline(outgoing_publish p) {
  const std::size_t cost = queue_cost(*p.msg);
  if (!offline_full(cost)) {
    push(std::move(p));
    return enqueue_result::queued;
  }
  ++dropped_;
  const bool total = context_->pool && context_->pool->used.load() + cost > context_->pool->limit;
  const enqueue_result dropped =
      total ? enqueue_result::dropped_total_budget : enqueue_result::dropped_offline;
  if (p.qos == mqtt::qos::at_most_once) return dropped;
  // Make room by dropping the oldest QoS 0 message: it carried no delivery promise.
  std::deque<outgoing_publish>& waiting = queue();
  auto oldest_qos0 = std::find_if(waiting.begin(), waiting.end(), [](const outgoing_publish& o) {
    return o.qos == mqtt::qos::at_most_once && !o.exempt;
  });
  if (oldest_qos0 == waiting.end()) return dropped;
  refund(*oldest_qos0);
  waiting.erase(oldest_qos0);
  if (offline_full(cost)) return dropped;  // one was not enough room (a larger message)
  push(std::move(p));
  return dropped;
}

std::size_t session::go_offline() {
  live_ = false;
  over_budget_ = false;
  if (!queue_) return 0;
  std::size_t dropped = 0;
  std::deque<outgoing_publish>& waiting = *queue_;
  const auto over = [&] {
    return waiting.size() > context_->limits.max_queued_messages ||
           queued_bytes_ - inflight_cost_ > context_->limits.max_queued_bytes;
  };
  // QoS 0 first (no delivery promise, oldest first), then the newest QoS 1/2: what an offline
  // session would have refused had it been offline all along.
  for (auto it = waiting.begin(); it != waiting.end() && over();) {
    if (it->qos == mqtt::qos::at_most_once && !it->exempt) {
      refund(*it);
      it = waiting.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  while (!waiting.empty() && over()) {
    forget(waiting.back());
    refund(waiting.back());
    waiting.pop_back();
    ++dropped;
  }
  dropped_ += dropped;
  return dropped;
}

std::deque<outgoing_publish>& session::queue() {
  if (!queue_) queue_ = std::make_unique<std::deque<outgoing_publish>>();
  return *queue_;
}

std::unordered_set<std::uint16_t>& session::incoming() {
  if (!incoming_qos2_) incoming_qos2_ = std::make_unique<std::unordered_set<std::uint16_t>>();
  return *incoming_qos2_;
}

bool session::has_sendable() const {
  // Resends count against the client's Receive Maximum too [MQTT-3.3.4-9].
  if (pending_inflight_ > 0) return inflight() - pending_inflight_ < window();
  if (!queue_ || queue_->empty()) return false;
  const outgoing_publish& next = queue_->front();
  return next.qos == mqtt::qos::at_most_once || !window_full(queue_cost(*next.msg));
}

void session::take_sendable(std::vector<outgoing_publish>& out, std::size_t byte_budget) {
  std::size_t taken = 0;
  if (pending_inflight_ > 0) {
    // After a reconnect everything in flight goes again, in order, but no more at once than the
    // new connection's Receive Maximum allows [MQTT-3.3.4-9]; the rest as acks free room.
    std::size_t outstanding = inflight() - pending_inflight_;
    for (auto& entry : inflight_list()) {
      if (outstanding >= window()) break;
      if (!entry.pending) continue;
      ++outstanding;
      entry.pending = false;
      --pending_inflight_;
      out.push_back(entry.publish);
      out.back().pubrel = entry.released;
      taken += entry.publish.msg->payload().size();
    }
  }
  if (!queue_) return;
  const auto now = message::wall_clock::now();
  // What leaves the queue is taken off its budgets once, at the end (settle); QoS 1/2 stays
  // charged while in flight (uncharge_inflight), so a client that reads but never acknowledges
  // holds no more than its budget.
  const std::size_t queued_before = queued_bytes_;
  const auto release = [&](const outgoing_publish& p, std::size_t cost, bool into_flight) {
    if (p.exempt) {
      --exempt_queued_;
    } else if (!into_flight) {
      queued_bytes_ -= cost;
    }
  };
  while (!queue_->empty() && taken < byte_budget) {
    outgoing_publish& next = queue_->front();
    const std::size_t size = next.msg->payload().size();
    const std::size_t cost = queue_cost(*next.msg);
    // An expired message is never delivered [MQTT-3.3.2-5]; one larger than the client accepts
    // is skipped for this client only [MQTT-3.1.2-25].
    if (next.msg->expired(now) ||
        (send_limits_.maximum_packet_size != 0 &&
         publish_wire_size(next, send_limits_) > send_limits_.maximum_packet_size)) {
      release(next, cost, false);
      forget(next);
      queue_->pop_front();
      continue;
    }
    // Messages leave in order; a QoS 1/2 message waits for room in the window and so does
    // everything behind it [MQTT-4.6.0-6]. The window is the client's Receive Maximum when
    // smaller than the broker's own [MQTT-3.3.4-9].
    if (next.qos != mqtt::qos::at_most_once && window_full(cost)) break;
    release(next, cost, next.qos != mqtt::qos::at_most_once);
    taken += size;
    if (next.qos != mqtt::qos::at_most_once) {
      inflight_bytes_ += static_cast<std::uint32_t>(cost);
      if (!next.exempt) inflight_cost_ += static_cast<std::uint32_t>(cost);
      next.packet_id = next_packet_id();
      inflight_list().push_back({next, false, false});
      store(next, false);
    }
    out.push_back(std::move(next));
    queue_->pop_front();
  }
  settle(queued_before, queued_bytes_);
}

void session::prepare_resend() {
  if (!inflight_) return;
  for (auto& entry : *inflight_) {
    if (!entry.released) entry.publish.dup = true;  // [MQTT-3.3.1-1]
    if (!entry.pending) {
      entry.pending = true;
      ++pending_inflight_;
    }
  }
}

std::deque<session::inflight_entry>& session::inflight_list() {
  if (!inflight_) inflight_ = std::make_unique<std::deque<inflight_entry>>();
  return *inflight_;
}

session::inflight_entry* session::find_inflight(std::uint16_t id) {
  if (!inflight_) return nullptr;
  // Acknowledgements mostly come in the order sent: the oldest entry first.
  for (auto& entry : *inflight_) {
    if (entry.publish.packet_id == id) return &entry;
  }
  return nullptr;
}

void session::erase_inflight(std::uint16_t id) {
  if (!inflight_) return;
  auto it = std::find_if(inflight_->begin(), inflight_->end(),
                         [id](const inflight_entry& e) { return e.publish.packet_id == id; });
  if (it == inflight_->end()) return;
  if (it->pending) --pending_inflight_;
  uncharge_inflight(it->publish);
  inflight_->erase(it);  // the oldest, usually: a deque drops it without moving the others
}

bool session::on_puback(std::uint16_t id) {
  inflight_entry* entry = find_inflight(id);
  if (!entry || entry->publish.qos != mqtt::qos::at_least_once) return false;
  forget(entry->publish);
  erase_inflight(id);
  return true;
}

bool session::on_pubrec(std::uint16_t id, std::uint8_t reason_code) {
  inflight_entry* entry = find_inflight(id);
  if (!entry || entry->publish.qos != mqtt::qos::exactly_once) return false;
  if (reason_code >= 0x80 && !entry->released) {
    // 5.0: a PUBREC with a failure code ends the exchange [MQTT-4.3.3-4]: no PUBREL follows,
    // and the packet id and its slot in the Receive Maximum window are free again (flow
    // control, section 4.9: a failure PUBREC counts like a PUBCOMP).
    forget(entry->publish);
    erase_inflight(id);
    return true;
  }
  // From here on the message itself is never sent again, only PUBREL [MQTT-4.3.3-1].
  if (!entry->released) store(entry->publish, true);
  entry->released = true;
  return true;
}

bool session::on_pubcomp(std::uint16_t id) {
  inflight_entry* entry = find_inflight(id);
  if (!entry || !entry->released) return false;
  forget(entry->publish);
  erase_inflight(id);
  return true;
}

std::uint16_t session::next_packet_id() {
  // Skip 0 [MQTT-2.3.1-1] and ids still in flight [MQTT-2.3.1-2]; the window is far smaller
  // than 65535, so a free id is always found.
  do {
    ++last_packet_id_;
    if (last_packet_id_ == 0) last_packet_id_ = 1;
  } while (find_inflight(last_packet_id_) != nullptr);
  return last_packet_id_;
}

bool session::take_first_drop_notice() {
  if (drop_noticed_ || dropped_ == 0) return false;
  drop_noticed_ = true;
  return true;
}

}  // namespace broker

namespace broker {

std::vector<outgoing_publish> session::take_shared() {
  std::vector<outgoing_publish> out;
  // In flight first: they were sent before anything still queued [MQTT-4.6.0-6].
  if (inflight_) {
    for (auto it = inflight_->begin(); it != inflight_->end();) {
      if (it->publish.share.empty() || it->released) {
        ++it;
        continue;
      }
      if (it->pending) --pending_inflight_;
      forget(it->publish);
      uncharge_inflight(it->publish);
      outgoing_publish p = std::move(it->publish);
      p.packet_id = 0;
      p.dup = false;
      out.push_back(std::move(p));
      it = inflight_->erase(it);
    }
  }
  if (queue_) {
    for (auto it = queue_->begin(); it != queue_->end();) {
      if (it->share.empty() || it->qos == mqtt::qos::at_most_once) {
        ++it;
        continue;
      }
      refund(*it);
      forget(*it);
      out.push_back(std::move(*it));
      it = queue_->erase(it);
    }
  }
  return out;
}

}  // namespace broker
