#include "transport/fd_poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <cerrno>
#include <exception>
#include <system_error>
#include <vector>

namespace transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Events taken per epoll_wait; past a few full rounds the rest waits behind the context's other
// handlers.
constexpr int batch = 64;
constexpr int rounds_per_turn = 8;
}  // namespace

struct fd_poller::impl {
  explicit impl(asio::io_context& c) : context(c), descriptor(c) {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    descriptor.assign(fd);  // closes it with the descriptor
  }

  ~impl() {
    ending = true;
    error_code ignored;
    descriptor.close(ignored);
    for (watcher* w : slots) {
      if (w) w->abandon();
    }
  }

  // The context's wait on the epoll set is pending only while something is watched: an
  // outstanding wait is work, and the context must run dry at shutdown once every connection
  // closed, as it would with Asio's own sockets.
  void arm() {
    waiting = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read, [this](error_code ec) {
      waiting = false;
      if (ending || (ec == asio::error::operation_aborted && watched == 0)) return;
      // Cancelled and watched again meanwhile, the edge of a new connection's first event may
      // have passed while no wait was pending: look before waiting again.
      drain();
    });
  }

  void drain() {
    std::exception_ptr failure;
    for (int round = 0; round < rounds_per_turn; ++round) {
      const int n = ::epoll_wait(descriptor.native_handle(), events.data(), batch, 0);
      if (n < 0 && errno == EINTR) continue;
      for (int i = 0; i < n; ++i) {
        // Looked up for each event: a watcher may remove (or add) others. An event of a
        // removed descriptor whose slot was taken again meanwhile has an older generation.
        const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
        const auto index = static_cast<std::uint32_t>(tag);
        if (index >= slots.size() || !slots[index] || generations[index] != tag >> 32) continue;
        try {
          slots[index]->on_events(events[static_cast<std::size_t>(i)].events);
        } catch (...) {
          // A handler that throws is a bug (run_slot logs it); the other connections still get
          // their events, and the set is watched again.
          if (!failure) failure = std::current_exception();
        }
      }
      if (n < batch) {
        // Empty now: anything new makes the set readable again, and the edge reaches the wait.
        if (watched != 0 && !waiting) arm();
        if (failure) std::rethrow_exception(failure);
        return;
      }
    }
    // Still more: after whatever else the context has to do.
    asio::post(context, [this] {
      if (!ending) drain();
    });
    if (failure) std::rethrow_exception(failure);
  }

  asio::io_context& context;
  asio::posix::stream_descriptor descriptor;
  std::vector<watcher*> slots;             // by slot; nullptr where free
  std::vector<std::uint32_t> generations;  // by slot: how often it was given back
  std::vector<std::uint32_t> free_slots;
  std::size_t watched = 0;
  bool waiting = false;
  bool ending = false;
  std::array<epoll_event, batch> events{};
};

fd_poller::fd_poller(asio::io_context& context) : impl_(std::make_unique<impl>(context)) {}

fd_poller::~fd_poller() = default;

std::uint32_t fd_poller::add(int fd, watcher& w, error_code& ec) {
  impl& p = *impl_;
  std::uint32_t slot;
  if (!p.free_slots.empty()) {
    slot = p.free_slots.back();
    p.free_slots.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(p.slots.size());
    p.slots.push_back(nullptr);
    p.generations.push_back(0);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;  // EPOLLERR and EPOLLHUP come unasked
  ev.data.u64 = (std::uint64_t{p.generations[slot]} << 32) | slot;
  if (::epoll_ctl(p.descriptor.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    ec = error_code(errno, boost::system::system_category());
    p.free_slots.push_back(slot);
    return no_slot;
  }
  p.slots[slot] = &w;
  ++p.watched;
  // Once per connection, not per wait: a busy connection's readiness needs no system call.
  if (!p.waiting) p.arm();
  return slot;
}

void fd_poller::remove(int fd, std::uint32_t slot) {
  impl& p = *impl_;
  if (p.ending || slot >= p.slots.size() || !p.slots[slot]) return;
  epoll_event ignored{};
  ::epoll_ctl(p.descriptor.native_handle(), EPOLL_CTL_DEL, fd, &ignored);
  p.slots[slot] = nullptr;
  ++p.generations[slot];
  p.free_slots.push_back(slot);
  if (--p.watched == 0 && p.waiting) {
    error_code ignored_ec;
    p.descriptor.cancel(ignored_ec);
  }
}

}  // namespace transport
