#include "stuck_subscribers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "mqtt/encoder.hpp"
#include "mqtt/packet.hpp"

namespace bench {

namespace {

// Small, so the kernel holds little for the broker and the broker's own buffering shows.
constexpr int receive_buffer_bytes = 4096;
constexpr int answer_timeout_ms = 5000;

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly `n` bytes within the timeout.
bool read_exactly(int fd, std::size_t n, std::string& out) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(answer_timeout_ms);
  while (out.size() < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buffer[64];
    const ssize_t got = ::recv(fd, buffer, std::min(sizeof buffer, n - out.size()), 0);
    if (got <= 0) return false;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return true;
}

}  // namespace

long long process_rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

std::string stuck_subscribers::open(const load_options& o, const std::string& filter, int count) {
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    sockets_.push_back(fd);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(o.port);
    if (::inet_pton(AF_INET, o.host.c_str(), &address.sin_addr) != 1) {
      return "--host " + o.host + ": not an IPv4 address";
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      return std::string("connect: ") + std::strerror(errno);
    }
    mqtt::connect_packet c;
    c.client_id = "mqtt-load-" + std::to_string(getpid()) + "-stuck" + std::to_string(i);
    c.clean_start = true;
    c.keep_alive = 0;
    c.username = o.username;
    c.password = o.password;
    mqtt::subscribe_packet s;
    s.packet_id = 1;
    mqtt::subscription sub;
    sub.filter = filter;
    sub.max_qos = static_cast<mqtt::qos>(o.qos);
    s.subscriptions.push_back(sub);
    std::string bytes;
    mqtt::encode(c, mqtt::protocol_version::v3_1_1, bytes);
    mqtt::encode(s, mqtt::protocol_version::v3_1_1, bytes);
    std::string answer;
    // CONNACK (4 bytes), then SUBACK with one return code (5 bytes).
    if (!send_all(fd, bytes) || !read_exactly(fd, 9, answer)) {
      return "a never-reading subscriber got no CONNACK and SUBACK";
    }
    if (answer[3] != 0 || static_cast<unsigned char>(answer[8]) >= 0x80) {
      return "a never-reading subscriber was refused";
    }
  }
  return {};
}

stuck_subscribers::~stuck_subscribers() {
  for (int fd : sockets_) ::close(fd);
}

rss_sampler::rss_sampler(int pid)
    : pid_(pid), before_(process_rss_kib(pid)), peak_(before_), thread_([this] {
        while (!stop_.load()) {
          const long long now = process_rss_kib(pid_);
          if (now > peak_.load()) peak_.store(now);
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }) {}

rss_sampler::~rss_sampler() {
  stop_.store(true);
  thread_.join();
}

}  // namespace bench
