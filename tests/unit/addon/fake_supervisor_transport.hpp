#pragma once
// A scripted supervisor_transport: records every request and scheduled retry; the test answers
// them by hand, in any order, on its own thread.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "addon/supervisor_transport.hpp"

namespace addon {

class fake_supervisor_transport : public supervisor_transport {
 public:
  struct sent {
    supervisor_request request;
    std::function<void(supervisor_response)> done;
  };
  struct timer {
    std::chrono::milliseconds delay;
    std::function<void()> fn;
  };

  void send(supervisor_request request, std::function<void(supervisor_response)> done) override {
    requests.push_back({std::move(request), std::move(done)});
  }
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
    timers.push_back({delay, std::move(fn)});
  }

  // Answers request `i` with an HTTP status (0: no answer, with `error`).
  void answer(std::size_t i, int status, std::string body = {}, std::string error = {}) {
    auto done = std::move(requests.at(i).done);
    requests.at(i).done = nullptr;
    supervisor_response r;
    r.status = status;
    r.body = std::move(body);
    r.error = std::move(error);
    done(std::move(r));
  }
  // Fires the oldest pending timer.
  void fire_timer() {
    auto t = std::move(timers.front());
    timers.erase(timers.begin());
    t.fn();
  }

  std::vector<sent> requests;
  std::vector<timer> timers;
};

}  // namespace addon
