#pragma once
// What discovery and the hub authenticator need from the Supervisor's HTTP API, so they can be
// driven by a scripted fake in tests. supervisor_client is the real one (Boost.Beast).

#include <chrono>
#include <functional>
#include <string>

namespace addon {

struct supervisor_request {
  std::string method;  // "POST", "DELETE"
  std::string path;    // "/discovery": the endpoint's path prefix is added by the transport
  std::string body;    // JSON, sent as Content-Type: application/json
  std::chrono::milliseconds deadline{10000};  // for the whole exchange, from connect to answer
};

struct supervisor_response {
  int status = 0;     // the HTTP status; 0 when there was no answer (see error)
  std::string body;   // the answer's body
  std::string error;  // when status is 0: why ("connection refused", "no answer within 10000 ms")
};

class supervisor_transport {
 public:
  virtual ~supervisor_transport() = default;
  // Thread-safe. `done` runs once: on the transport's own thread, or (once the transport has
  // stopped) right away inside send() with an error. Call it without holding locks `done` takes.
  virtual void send(supervisor_request request, std::function<void(supervisor_response)> done) = 0;
  // Thread-safe. Runs `fn` on the transport's thread after `delay`, unless the transport stops
  // first.
  virtual void schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

}  // namespace addon
