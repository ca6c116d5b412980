#include "storage/record_frame.hpp"

#include <cstring>

#include "storage/crc32c.hpp"

namespace storage {
namespace {

constexpr std::string_view log_magic{"MQBLOG\x00\x01", 8};
constexpr std::string_view snapshot_magic{"MQBSNP\x00\x01", 8};

bool valid_type(std::uint8_t t) {
  return t == static_cast<std::uint8_t>(record_type::put) ||
         t == static_cast<std::uint8_t>(record_type::erase) ||
         t == static_cast<std::uint8_t>(record_type::snapshot_end);
}

}  // namespace

void put_le32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_le64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t get_le32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::uint64_t get_le64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

frame_header encode_frame_header(record_type type, std::string_view key, std::string_view value) {
  frame_header h{};
  put_le32(h.data() + 4, static_cast<std::uint32_t>(key.size() + value.size()));
  h[8] = static_cast<char>(frame_magic0);
  h[9] = static_cast<char>(frame_magic1);
  h[10] = static_cast<char>(type);
  h[11] = 0;
  put_le32(h.data() + 12, static_cast<std::uint32_t>(key.size()));
  std::uint32_t crc = crc32c_extend(0, h.data() + 4, frame_header_size - 4);
  crc = crc32c_extend(crc, key.data(), key.size());
  crc = crc32c_extend(crc, value.data(), value.size());
  put_le32(h.data(), crc);
  return h;
}

void append_frame(std::string& out, record_type type, std::string_view key,
                  std::string_view value) {
  const frame_header h = encode_frame_header(type, key, value);
  out.append(h.data(), h.size());
  out.append(key);
  out.append(value);
}

const char* to_string(frame_error error) {
  switch (error) {
    case frame_error::none:
      return "no error";
    case frame_error::truncated:
      return "record cut short";
    case frame_error::bad_header:
      return "invalid record header";
    case frame_error::bad_checksum:
      return "checksum mismatch";
  }
  return "unknown error";
}

decoded_frame decode_frame(std::string_view bytes) {
  decoded_frame out;
  if (bytes.size() < frame_header_size) {
    out.error = frame_error::truncated;
    return out;
  }
  const char* h = bytes.data();
  const std::uint32_t body = get_le32(h + 4);
  const std::uint32_t key_len = get_le32(h + 12);
  const auto type = static_cast<std::uint8_t>(h[10]);
  if (static_cast<unsigned char>(h[8]) != frame_magic0 ||
      static_cast<unsigned char>(h[9]) != frame_magic1 || !valid_type(type) || h[11] != 0 ||
      body > max_frame_body || key_len > body) {
    out.error = frame_error::bad_header;
    return out;
  }
  if (bytes.size() - frame_header_size < body) {
    out.error = frame_error::truncated;
    return out;
  }
  const std::uint32_t crc = crc32c_extend(0, h + 4, frame_header_size - 4 + body);
  if (crc != get_le32(h)) {
    out.error = frame_error::bad_checksum;
    return out;
  }
  out.frame.type = static_cast<record_type>(type);
  out.frame.key = bytes.substr(frame_header_size, key_len);
  out.frame.value = bytes.substr(frame_header_size + key_len, body - key_len);
  out.frame.size = frame_header_size + body;
  return out;
}

std::string encode_snapshot_end(std::uint64_t records, std::uint64_t bytes) {
  std::string v(16, '\0');
  put_le64(v.data(), records);
  put_le64(v.data() + 8, bytes);
  return v;
}

bool decode_snapshot_end(std::string_view value, std::uint64_t& records, std::uint64_t& bytes) {
  if (value.size() != 16) return false;
  records = get_le64(value.data());
  bytes = get_le64(value.data() + 8);
  return true;
}

std::array<char, file_header_size> encode_file_header(file_kind kind, std::uint64_t gen) {
  std::array<char, file_header_size> h{};
  const std::string_view magic = kind == file_kind::log ? log_magic : snapshot_magic;
  std::memcpy(h.data(), magic.data(), magic.size());
  put_le64(h.data() + 8, gen);
  return h;
}

bool check_file_header(std::string_view bytes, file_kind kind, std::uint64_t gen) {
  if (bytes.size() < file_header_size) return false;
  const std::string_view magic = kind == file_kind::log ? log_magic : snapshot_magic;
  return bytes.substr(0, magic.size()) == magic && get_le64(bytes.data() + 8) == gen;
}

}  // namespace storage
