#include "transport/io_thread.hpp"

#include <utility>

namespace transport::io_thread {

namespace {
thread_local home* current_home = nullptr;
}

home* current() {
  return current_home;
}

void set_current(home* h) {
  current_home = h;
}

bool defer(home& target, std::weak_ptr<wake_target> session) {
  home* here = current_home;
  if (!here || here == &target || here->depth == 0) return false;
  if (here->deferred.size() >= max_deferred) return false;
  if (!target.idle.load(std::memory_order_relaxed)) return false;
  here->deferred.push_back(std::move(session));
  return true;
}

void handler_scope::drain(home& h) {
  // Wakes kept while these run (none: depth is 0 again) are posted, so one pass is enough.
  std::swap(h.deferred, h.draining);
  for (const std::weak_ptr<wake_target>& w : h.draining) {
    try {
      if (const auto session = w.lock()) session->deferred_wake();
    } catch (...) {
      if (!h.failure) h.failure = std::current_exception();
    }
  }
  h.draining.clear();
}

}  // namespace transport::io_thread
