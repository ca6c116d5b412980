#include "storage/state_records.hpp"

#include <algorithm>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

namespace storage::records {

namespace {

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

// Reads fixed-width fields from a record, refusing to run past its end.
class reader {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(std::uint8_t& v) {
    if (bytes_.size() < 1) return false;
    v = static_cast<std::uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  template <typename T>
  bool be(T& v, int width) {
    if (bytes_.size() < static_cast<std::size_t>(width)) return false;
    std::uint64_t acc = 0;
    for (int i = 0; i < width; ++i) acc = (acc << 8) | static_cast<std::uint8_t>(bytes_[i]);
    v = static_cast<T>(acc);
    bytes_.remove_prefix(width);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (bytes_.size() < n) return false;
    out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return true;
  }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

std::string client_key(char kind, std::string_view client_id) {
  std::string key;
  key.reserve(client_id.size() + 16);
  key += kind;
  key += client_id;
  key += '\0';
  return key;
}

bool valid_qos(std::uint8_t q) {
  return q <= 2;
}

bool has_extras(const broker::message& msg) {
  return msg.expires_at() || !msg.properties().empty();
}

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_ms(std::uint64_t ms) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(static_cast<std::int64_t>(ms))));
}

void put_extras(std::string& out, const broker::message& msg) {
  put_u64(out, msg.expires_at() ? static_cast<std::uint64_t>(to_ms(*msg.expires_at())) : 0);
  std::string props;
  mqtt::encode_properties(msg.properties(), props);
  put_u32(out, static_cast<std::uint32_t>(props.size()));
  out += props;
}

struct extras {
  mqtt::properties props;
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

}  // namespace

namespace {
std::string prefixed(char kind, std::string_view rest) {
  std::string key;
  key.reserve(rest.size() + 1);
  key += kind;
  key += rest;
  return key;
}
}  // namespace

std::string retained_key(std::string_view topic) {
  return prefixed('r', topic);
}

void append_retained_value(const broker::message& msg, std::string& out) {
  out.reserve(out.size() + msg.payload().size() + 1);
  const bool more = has_extras(msg);
  out += static_cast<char>(static_cast<std::uint8_t>(msg.qos()) | (more ? 0x80 : 0));
  if (more) put_extras(out, msg);
  out += msg.payload();
}

std::string retained_value(const broker::message& msg) {
  std::string value;
  append_retained_value(msg, value);
  return value;
}

shared_value retained_shared(const broker::message_ptr& msg) {
  return {msg, [](const void* object, std::string& out) {
            append_retained_value(*static_cast<const broker::message*>(object), out);
          }};
}

std::string expiry_key(std::string_view client_id) {
  return prefixed('x', client_id);
}

std::string expiry_value(std::uint32_t interval,
                         std::optional<std::chrono::system_clock::time_point> ended_at) {
  std::string value;
  put_u32(value, interval);
  value += static_cast<char>(ended_at ? 1 : 0);
  put_u64(value, ended_at ? static_cast<std::uint64_t>(to_ms(*ended_at)) : 0);
  return value;
}

std::string session_key(std::string_view client_id) {
  return prefixed('s', client_id);
}

std::string subscription_key(std::string_view client_id, std::string_view filter) {
  std::string key = client_key('b', client_id);
  key += filter;
  return key;
}

std::string subscription_value(const mqtt::subscription& sub) {
  std::string value;
  value += static_cast<char>(sub.max_qos);
  value += static_cast<char>((sub.no_local ? 1 : 0) | (sub.retain_as_published ? 2 : 0) |
                             (sub.retain_handling << 2));
  if (sub.identifier != 0) put_u32(value, sub.identifier);  // 5.0; absent in older records
  return value;
}

std::string delivery_key(std::string_view client_id, std::uint64_t seq) {
  std::string key = client_key('d', client_id);
  put_u64(key, seq);
  return key;
}

std::string delivery_value(const broker::stored_delivery& d) {
  std::string value;
  value.reserve(d.msg->topic().size() + d.msg->payload().size() + 10);
  const bool more = has_extras(*d.msg);
  const bool ids = !d.sub_ids.empty();
  value += static_cast<char>(d.qos);
  value +=
      static_cast<char>((d.retain ? 1 : 0) | (d.released ? 2 : 0) | (more ? 4 : 0) | (ids ? 8 : 0));
  put_u16(value, d.packet_id);
  put_u32(value, static_cast<std::uint32_t>(d.msg->topic().size()));
  value += d.msg->topic();
  if (more) put_extras(value, *d.msg);
  if (ids) {
    put_u16(value, static_cast<std::uint16_t>(std::min<std::size_t>(d.sub_ids.size(), 0xFFFF)));
    for (std::size_t i = 0; i < d.sub_ids.size() && i < 0xFFFF; ++i) put_u32(value, d.sub_ids[i]);
  }
  value += d.msg->payload();
  return value;
}

std::string incoming_key(std::string_view client_id, std::uint16_t packet_id) {
  std::string key = client_key('i', client_id);
  put_u16(key, packet_id);
  return key;
}

namespace {
bool read_extras(reader& r, extras& e) {
  std::uint64_t expires = 0;
  std::uint32_t size = 0;
  std::string_view props;
  if (!r.be(expires, 8) || !r.be(size, 4) || !r.bytes(size, props)) return false;
  if (expires != 0) e.expires_at = from_ms(expires);
  return mqtt::decode_message_properties(props, e.props);
}
}  // namespace

decoded decode(std::string_view key, std::string_view value) {
  decoded out;
  if (key.empty()) return out;
  const char kind = key[0];
  key.remove_prefix(1);
  if (kind == 'r') {
    reader r(value);
    std::uint8_t q = 0;
    extras e;
    if (key.empty() || !r.u8(q)) return out;
    if ((q & 0x80) != 0 && !read_extras(r, e)) return out;
    q &= 0x7F;
    if (!valid_qos(q) || r.rest().empty()) return out;
    out.retained =
        broker::message::make(std::string(key), std::string(r.rest()), static_cast<mqtt::qos>(q),
                              true, std::move(e.props), e.expires_at);
    out.what = decoded::kind::retained;
    return out;
  }
  if (kind == 's') {
    if (key.empty()) return out;
    out.client_id = std::string(key);
    out.username = std::string(value);
    out.what = decoded::kind::session;
    return out;
  }
  if (kind == 'x') {
    reader r(value);
    std::uint8_t ended = 0;
    std::uint64_t ended_ms = 0;
    if (key.empty() || !r.be(out.expiry_interval, 4) || !r.u8(ended) || !r.be(ended_ms, 8)) {
      return out;
    }
    if (ended != 0) out.ended_at = from_ms(ended_ms);
    out.client_id = std::string(key);
    out.what = decoded::kind::expiry;
    return out;
  }
  const std::size_t nul = key.find('\0');
  if (nul == std::string_view::npos || nul == 0) return out;
  out.client_id = std::string(key.substr(0, nul));
  reader rest_of_key(key.substr(nul + 1));
  reader r(value);
  if (kind == 'b') {
    std::uint8_t q = 0, flags = 0;
    if (rest_of_key.rest().empty() || !r.u8(q) || !r.u8(flags) || !valid_qos(q)) return out;
    out.sub.filter = std::string(rest_of_key.rest());
    out.sub.max_qos = static_cast<mqtt::qos>(q);
    out.sub.no_local = flags & 1;
    out.sub.retain_as_published = flags & 2;
    out.sub.retain_handling = static_cast<std::uint8_t>((flags >> 2) & 3);
    if (!r.rest().empty() && !r.be(out.sub.identifier, 4)) return out;
    out.what = decoded::kind::subscription;
    return out;
  }
  if (kind == 'd') {
    std::uint64_t seq = 0;
    std::uint8_t q = 0, flags = 0;
    std::uint16_t packet_id = 0;
    std::uint32_t topic_size = 0;
    std::string_view topic;
    if (!rest_of_key.be(seq, 8) || !r.u8(q) || !r.u8(flags) || !r.be(packet_id, 2) ||
        !r.be(topic_size, 4) || !r.bytes(topic_size, topic) || q == 0 || !valid_qos(q)) {
      return out;
    }
    extras e;
    if ((flags & 4) != 0 && !read_extras(r, e)) return out;
    if ((flags & 8) != 0) {
      std::uint16_t n = 0;
      if (!r.be(n, 2)) return out;
      for (std::uint16_t i = 0; i < n; ++i) {
        std::uint32_t id = 0;
        if (!r.be(id, 4)) return out;
        out.delivery.sub_ids.push_back(id);
      }
    }
    auto& d = out.delivery;
    d.seq = seq;
    d.qos = static_cast<mqtt::qos>(q);
    d.retain = flags & 1;
    d.released = flags & 2;
    d.packet_id = packet_id;
    d.msg = broker::message::make(std::string(topic), std::string(r.rest()), d.qos, d.retain,
                                  std::move(e.props), e.expires_at);
    out.what = decoded::kind::delivery;
    return out;
  }
  if (kind == 'i') {
    if (!rest_of_key.be(out.packet_id, 2) || out.packet_id == 0) return out;
    out.what = decoded::kind::incoming;
    return out;
  }
  return out;
}

}  // namespace storage::records
