#pragma once
// Slows password guessing without holding a thread: decides when a login attempt may be checked
// and how long a failed one waits for its refusal; the connection waits on its own timer.
//
// Per user name: after a few failures, attempts for that name are checked at most one per
// spacing, and the spacing doubles with every further failure (to a cap), from whatever
// address they come: guessing one account is slowed to a few tries per second, then less.
// Per source address: after more failures (a household shares one address), each refusal to
// that address is held back for a growing delay, and while several are held, new attempts from
// it wait: guessing from one address, in sequence or in parallel, is slowed the same way.
// Other users and addresses are not affected: their logins are checked at once. Nor is an
// address that logged in with the right password for a name before: someone guessing the hub's
// password from elsewhere does not keep the hub out (its own attempts skip the name's spacing;
// the address's own limits still apply).
//
// Failures are forgotten after a quiet period. Thread-safe; pure logic, time passed in.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace broker {

struct login_throttle_config {
  std::size_t user_free_failures = 5;  // then attempts for the name are spaced
  std::chrono::milliseconds user_first_spacing{500};
  std::size_t address_free_failures = 10;  // then refusals to the address are held back
  std::chrono::milliseconds address_first_delay{250};
  std::chrono::milliseconds max_delay{8000};  // the doubling stops here
  std::size_t address_max_held = 4;           // held refusals before new attempts wait
  std::chrono::seconds forget_after{600};     // a name or address quiet this long starts over
  std::size_t max_tracked = 10000;            // names and addresses each; more are not tracked
};

class login_throttle {
 public:
  using clock = std::chrono::steady_clock;

  explicit login_throttle(login_throttle_config config = {}) : config_(config) {}

  // May the attempt be checked now? nullopt: yes, and it counts as in progress until
  // after_check(). Otherwise: the time to ask again. An empty user name is tracked by address
  // only.
  std::optional<clock::time_point> before_check(std::string_view user, std::string_view address,
                                                clock::time_point now);

  struct verdict {
    clock::duration hold{};  // how long the refusal waits before it goes out
    // The failure that made this name or address throttled: worth one log line each.
    bool user_now_throttled = false;
    bool address_now_throttled = false;
  };
  // The check of an attempt that before_check() let through is done. `failed`: a wrong
  // password, an unknown or anonymous user (not "the hub cannot say").
  verdict after_check(std::string_view user, std::string_view address, bool failed,
                      clock::time_point now);

  // Drops names and addresses quiet for forget_after. Call now and then (the broker's tick).
  void forget_idle(clock::time_point now);

  std::size_t tracked() const;

 private:
  struct user_state {
    std::size_t failures = 0;
    std::size_t checking = 0;  // let through, not yet answered
    clock::time_point next_check{};
    clock::time_point last_seen{};
  };
  struct address_state {
    std::size_t failures = 0;
    std::size_t checking = 0;
    std::array<clock::time_point, 8> held_until{};  // refusals held back, by when they go
    clock::time_point last_seen{};
  };

  clock::duration doubling(clock::duration first, std::size_t step) const;
  std::size_t held(const address_state& a, clock::time_point now) const;
  user_state* user(std::string_view name, clock::time_point now, bool create);
  address_state* address(std::string_view host, clock::time_point now, bool create);

  const login_throttle_config config_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, user_state> users_;
  std::unordered_map<std::string, address_state> addresses_;
  // "<name>\n<address>" for every name and address that logged in with the right password:
  // kept, not forgotten when quiet (a hub stays connected for days), at most max_tracked; a
  // wrong password from the pair removes it.
  std::unordered_set<std::string> trusted_;
};

// "1.2.3.4:1883" -> "1.2.3.4", "[::1]:1883" -> "::1": what the throttle keys an address by.
std::string_view host_of(std::string_view remote_address);

}  // namespace broker
