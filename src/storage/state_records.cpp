#include "storage/state_records.hpp"

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

std::string retained_value(const broker::message& msg) {
  std::string value;
  value.reserve(msg.payload().size() + 1);
  value += static_cast<char>(msg.qos());
  value += msg.payload();
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
  value += static_cast<char>(d.qos);
  value += static_cast<char>((d.retain ? 1 : 0) | (d.released ? 2 : 0));
  put_u16(value, d.packet_id);
  put_u32(value, static_cast<std::uint32_t>(d.msg->topic().size()));
  value += d.msg->topic();
  value += d.msg->payload();
  return value;
}

std::string incoming_key(std::string_view client_id, std::uint16_t packet_id) {
  std::string key = client_key('i', client_id);
  put_u16(key, packet_id);
  return key;
}

decoded decode(std::string_view key, std::string_view value) {
  decoded out;
  if (key.empty()) return out;
  const char kind = key[0];
  key.remove_prefix(1);
  if (kind == 'r') {
    reader r(value);
    std::uint8_t q = 0;
    if (key.empty() || !r.u8(q) || !valid_qos(q) || r.rest().empty()) return out;
    out.retained = std::make_shared<const broker::message>(std::string(key), std::string(r.rest()),
                                                           static_cast<mqtt::qos>(q), true);
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
    auto& d = out.delivery;
    d.seq = seq;
    d.qos = static_cast<mqtt::qos>(q);
    d.retain = flags & 1;
    d.released = flags & 2;
    d.packet_id = packet_id;
    d.msg = std::make_shared<const broker::message>(std::string(topic), std::string(r.rest()),
                                                    d.qos, d.retain);
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
