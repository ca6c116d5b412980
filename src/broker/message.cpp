#include "broker/message.hpp"

#include <cstring>
#include <new>

#include "mqtt/encoder.hpp"

namespace broker {

namespace {

// make() hands allocate() the size of the bytes to append and gets back where they begin, through
// the calling thread's pending_tail: state in the allocator itself would be stored in every
// message's control block.
struct pending_tail {
  std::size_t extra = 0;
  char* at = nullptr;
};
thread_local pending_tail pending;

// Allocates the shared pointer's control block (which holds the message) with the pending
// number of bytes after it.
template <class T>
struct tail_allocator {
  using value_type = T;
  tail_allocator() = default;
  template <class U>
  tail_allocator(const tail_allocator<U>&) {}
  T* allocate(std::size_t n) {
    char* block = static_cast<char*>(::operator new(n * sizeof(T) + pending.extra));
    pending.at = block + n * sizeof(T);
    return reinterpret_cast<T*>(block);
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p); }
  template <class U>
  bool operator==(const tail_allocator<U>&) const {
    return true;
  }
};

}  // namespace

struct message::tail {
  char* const* at;  // read after the allocation, when the constructor runs
};

message_ptr message::make(std::string_view topic, std::string_view payload, mqtt::qos q,
                          bool retain, mqtt::properties props,
                          std::optional<wall_clock::time_point> expires_at) {
  pending.extra = topic.size() + payload.size();
  pending.at = nullptr;
  const tail bytes{&pending.at};
  return std::allocate_shared<message>(tail_allocator<message>{}, bytes, topic, payload, q, retain,
                                       std::move(props), expires_at);
}

message::message(const tail& bytes, std::string_view topic, std::string_view payload, mqtt::qos q,
                 bool retain, mqtt::properties props,
                 std::optional<wall_clock::time_point> expires_at)
    : topic_size_(static_cast<std::uint32_t>(topic.size())),
      payload_size_(static_cast<std::uint32_t>(payload.size())),
      qos_(q),
      retain_(retain) {
  char* out = *bytes.at;
  if (!topic.empty()) std::memcpy(out, topic.data(), topic.size());
  if (!payload.empty()) std::memcpy(out + topic.size(), payload.data(), payload.size());
  data_ = out;
  if (props.empty() && !expires_at) return;
  auto e = std::make_unique<extras>();
  e->props = std::move(props);
  if (!e->props.empty()) mqtt::encode_property_list(e->props, e->props_wire);
  e->expires_at = expires_at;
  extras_ = std::move(e);
}

const message::extras& message::extras_of() const {
  static const extras none;
  return extras_ ? *extras_ : none;
}

std::uint32_t message::remaining_seconds(wall_clock::time_point now) const {
  const auto& until = expires_at();
  if (!until) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - now);
  if (left.count() <= 0) return 0;
  const auto seconds = (left.count() + 999) / 1000;
  return seconds > 0xFFFFFFFF ? 0xFFFFFFFFu : static_cast<std::uint32_t>(seconds);
}

message_ptr make_message(std::string_view topic, std::string_view payload, mqtt::qos q, bool retain,
                         const mqtt::properties& props) {
  mqtt::properties kept;
  std::optional<message::wall_clock::time_point> expires_at;
  for (const mqtt::property& p : props) {
    switch (p.id) {
      case mqtt::property_id::message_expiry_interval:
        if (const auto* v = std::get_if<std::uint32_t>(&p.value)) {
          expires_at = message::wall_clock::now() + std::chrono::seconds(*v);
        }
        break;
      case mqtt::property_id::topic_alias:
      case mqtt::property_id::subscription_identifier:
      case mqtt::property_id::will_delay_interval:  // the will's, not the message's
        break;
      default:
        kept.push_back(p);
    }
  }
  return message::make(topic, payload, q, retain, std::move(kept), expires_at);
}

}  // namespace broker
