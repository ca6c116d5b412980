// The Beast client against a tiny HTTP server on 127.0.0.1 (POSIX sockets, one thread).
#include "addon/supervisor_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

namespace addon {
namespace {

using namespace std::chrono_literals;

// Accepts connections one at a time, records each raw request, answers with `reply` (or not at
// all when `reply` is empty), then closes.
class tiny_http_server {
 public:
  explicit tiny_http_server(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~tiny_http_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string request(std::size_t i) {
    std::lock_guard lock(mutex_);
    return i < requests_.size() ? requests_[i] : std::string();
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      std::string raw = read_request(client);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(raw);
      }
      if (reply_.empty()) {
        while (!stop_) std::this_thread::sleep_for(5ms);  // never answer
      } else {
        [[maybe_unused]] const ssize_t n = ::write(client, reply_.data(), reply_.size());
      }
      ::close(client);
    }
  }
  static std::string read_request(int client) {
    std::string raw;
    char buf[4096];
    for (;;) {
      const std::size_t head_end = raw.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const std::size_t at = raw.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(raw.substr(at + 16));
        if (raw.size() >= head_end + 4 + length) return raw;
      }
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return raw;
      const ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) return raw;
      raw.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::string reply_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

supervisor_endpoint local(std::uint16_t port, std::string prefix = "") {
  supervisor_endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.host_header = "127.0.0.1:" + std::to_string(port);
  ep.path_prefix = std::move(prefix);
  return ep;
}

supervisor_response send_and_wait(supervisor_client& client, supervisor_request r) {
  std::promise<supervisor_response> answered;
  auto future = answered.get_future();
  client.send(std::move(r), [&](supervisor_response a) { answered.set_value(std::move(a)); });
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

class supervisor_client_test : public ::testing::Test {
 protected:
  supervisor_client_test() : log_(broker::log_level::info, out_) {}
  std::ostringstream out_;
  broker::logger log_;
};

TEST_F(supervisor_client_test, sends_the_token_and_the_exact_content_type) {
  tiny_http_server server(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n"
      "Connection: close\r\n\r\n{\"result\": \"ok\"}");
  supervisor_client client(local(server.port(), "/api"), "tok-123", log_);
  const supervisor_response a =
      send_and_wait(client, {"POST", "/discovery", R"({"service":"mqtt"})", 5s});
  EXPECT_EQ(a.status, 200) << a.error;
  EXPECT_EQ(a.body, "{\"result\": \"ok\"}");
  const std::string raw = server.request(0);
  EXPECT_EQ(raw.rfind("POST /api/discovery HTTP/1.1\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("\r\nX-Supervisor-Token: tok-123\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << raw;
  EXPECT_NE(raw.find("\r\n\r\n{\"service\":\"mqtt\"}"), std::string::npos) << raw;
}

TEST_F(supervisor_client_test, a_delete_has_the_same_headers_and_no_body) {
  tiny_http_server server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  supervisor_client client(local(server.port()), "t", log_);
  const supervisor_response a = send_and_wait(client, {"DELETE", "/services/mqtt", "", 5s});
  EXPECT_EQ(a.status, 404);
  const std::string raw = server.request(0);
  EXPECT_EQ(raw.rfind("DELETE /services/mqtt HTTP/1.1\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("\r\nX-Supervisor-Token: t\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << raw;
}

TEST_F(supervisor_client_test, no_answer_ends_at_the_deadline) {
  tiny_http_server server("");  // accepts, reads, never answers
  supervisor_client client(local(server.port()), "t", log_);
  const auto start = std::chrono::steady_clock::now();
  const supervisor_response a = send_and_wait(client, {"POST", "/auth", "{}", 200ms});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.error, "no answer within 200 ms");
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
}

TEST_F(supervisor_client_test, a_closed_port_is_an_error_not_a_status) {
  std::uint16_t port = 0;
  { port = tiny_http_server("x").port(); }  // bound, then closed again
  supervisor_client client(local(port), "t", log_);
  const supervisor_response a = send_and_wait(client, {"POST", "/auth", "{}", 2s});
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.error.rfind("cannot connect: ", 0), 0u) << a.error;
}

TEST_F(supervisor_client_test, requests_beyond_the_queue_fail_at_once) {
  tiny_http_server server("");
  supervisor_client client(local(server.port()), "t", log_, {1, 0});
  std::promise<supervisor_response> second;
  client.send({"POST", "/auth", "{}", 500ms}, [](supervisor_response) {});
  client.send({"POST", "/auth", "{}", 500ms},
              [&](supervisor_response a) { second.set_value(std::move(a)); });
  auto future = second.get_future();
  ASSERT_EQ(future.wait_for(200ms), std::future_status::ready);
  EXPECT_NE(future.get().error.find("too many requests waiting"), std::string::npos);
}

TEST_F(supervisor_client_test, a_queued_request_keeps_its_deadline_from_when_it_was_asked) {
  // One slot, held by a request the server never answers for 600 ms; the one behind it has
  // 100 ms in all, so it is refused when the slot frees, without being sent.
  tiny_http_server server("");
  supervisor_client client(local(server.port()), "t", log_, {1, 8});
  std::promise<supervisor_response> second;
  const auto start = std::chrono::steady_clock::now();
  client.send({"POST", "/auth", "{}", 600ms}, [](supervisor_response) {});
  client.send({"POST", "/auth", "{}", 100ms},
              [&](supervisor_response a) { second.set_value(std::move(a)); });
  auto future = second.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(future.get().error, "no answer within 100 ms (waited for a free connection)");
}

TEST_F(supervisor_client_test, schedule_runs_on_the_client_thread_after_the_delay) {
  supervisor_client client(local(1), "t", log_);
  std::promise<std::thread::id> ran;
  const auto start = std::chrono::steady_clock::now();
  client.schedule(50ms, [&] { ran.set_value(std::this_thread::get_id()); });
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
}

TEST_F(supervisor_client_test, after_stop_requests_fail_inline_and_callbacks_are_dropped) {
  tiny_http_server server("");
  supervisor_client client(local(server.port()), "t", log_);
  std::atomic<bool> called{false};
  client.send({"POST", "/auth", "{}", 5s}, [&](supervisor_response) { called = true; });
  std::this_thread::sleep_for(50ms);
  client.stop();
  EXPECT_FALSE(called);
  std::optional<supervisor_response> inline_answer;
  client.send({"POST", "/auth", "{}", 5s}, [&](supervisor_response a) { inline_answer = a; });
  ASSERT_TRUE(inline_answer);
  EXPECT_EQ(inline_answer->error, "the Supervisor client has stopped");
}

}  // namespace
}  // namespace addon
