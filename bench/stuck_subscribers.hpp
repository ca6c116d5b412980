#pragma once
// Subscribers that connect, subscribe, and then never read a byte again: a frozen device or a
// stopped process. What the broker does with them (buffer without bound, drop, disconnect) shows
// in its memory and in the rate of the subscribers that do read.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "load_options.hpp"

namespace bench {

class stuck_subscribers {
 public:
  stuck_subscribers() = default;
  ~stuck_subscribers();
  stuck_subscribers(const stuck_subscribers&) = delete;
  stuck_subscribers& operator=(const stuck_subscribers&) = delete;

  // Opens `count` clients subscribed to `filter`, each with a small receive buffer, and waits for
  // their CONNACK and SUBACK. Returns an error line, or empty.
  std::string open(const load_options& o, const std::string& filter, int count);

 private:
  std::vector<int> sockets_;
};

// Reads a process's resident memory (VmRSS) every 50 ms on its own thread; keeps the peak.
class rss_sampler {
 public:
  explicit rss_sampler(int pid);
  ~rss_sampler();
  long long before_kib() const { return before_; }
  long long peak_kib() const { return peak_.load(); }

 private:
  int pid_;
  long long before_;
  std::atomic<long long> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// VmRSS of a process in KiB, or -1 when it cannot be read.
long long process_rss_kib(int pid);

}  // namespace bench
