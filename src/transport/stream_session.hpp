#pragma once
// One client connection: carries bytes between a byte stream (tcp_stream.hpp describes what a
// stream offers) and the Sans-I/O broker::connection, following the loop that connection.hpp
// describes. Everything but wake(), post() and request_close() runs on the stream's executor,
// which is one io_context run by one thread, under the session's lock: uncontended there, it
// lets a plain TCP session be written from another I/O thread by a deferred wake (io_thread.hpp)
// while its own thread sleeps.
//
// One writer per connection: at most one gathered write is in flight; whatever the connection
// queues meanwhile goes out in the next one. A deferred wake writes only when none is in flight,
// and what the socket does not take at once becomes the write in flight, finished by the
// session's own thread.

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/connection.hpp"
#include "broker/output_batch.hpp"
#include "broker/transport_link.hpp"
#include "transport/connection_slot.hpp"
#include "transport/deadline_queue.hpp"
#include "transport/io_thread.hpp"
#include "transport/session_registry.hpp"

namespace transport {

template <class Stream>
class stream_session final : public session_base,
                             public broker::transport_link,
                             public io_thread::wake_target,
                             public deadline_queue::entry,
                             public std::enable_shared_from_this<stream_session<Stream>> {
 public:
  using clock = broker::connection::clock;
  // Plain TCP: another I/O thread may write this session's output (deferred_wake).
  static constexpr bool direct_writes = requires(
      Stream & s, std::vector<boost::asio::const_buffer>& b, boost::system::error_code& ec) {
    s.home();
    s.write_now(b, ec);
  };

  stream_session(Stream stream, broker::broker_core& core, session_registry& registry,
                 std::string remote_address, std::string kind, connection_slot slot)
      : slot_(std::move(slot)),
        stream_(std::move(stream)),
        registry_(registry),
        // Built here so the address and kind are not kept twice; it does nothing until start().
        connection_(core, *this, std::move(remote_address), std::move(kind)) {}

  ~stream_session() override {
    // May run on any thread that held the last reference (an authenticator's, the store's,
    // another I/O thread's after a deferred wake), but only once closed: while open, the
    // stream's pending read holds the session. Reached without close() only when the I/O
    // threads were abandoned at shutdown, when no other thread runs.
    if (!closed_) connection_.on_closed();
    // Locked, not scheduled(): this may run on another thread while the queue's own expires it.
    if (home_) home_->deadlines.cancel(*this);
    if (registry_id_ != 0) registry_.remove(registry_id_);
  }

  // Call on the stream's executor (post it there), once.
  void start() {
    io_thread::handler_scope scope;
    std::lock_guard lock(lock_);
    // The thread's deadline queue serves this session's deadlines: io_pool runs every session.
    io_thread::home* here = io_thread::current();
    if (!here) {  // not on an I/O thread: nothing would end a silent connection
      close();
      return;
    }
    home_ = here;
    registry_id_ = registry_.add(this->weak_from_this());
    if (registry_id_ == 0) {  // the broker is shutting down
      close();
      return;
    }
    read();
    after_event();  // arms the CONNECT deadline
  }

  void wake() override {
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    if constexpr (direct_writes) {
      if (io_thread::defer(stream_.home(), this->weak_from_this())) return;
    }
    post_wake();
  }

  // On another I/O thread, after the handler that woke this session: while this session's own
  // thread sleeps, write the output from here rather than wake that thread for it.
  void deferred_wake() override {
    if constexpr (direct_writes) {
      if (!stream_.home().idle.load(std::memory_order_relaxed) || !lock_.try_lock()) {
        return post_wake();
      }
      std::unique_lock lock(lock_, std::adopt_lock);
      wake_pending_.store(false, std::memory_order_release);
      // A write in flight takes the output again when it completes (on_written); a close
      // request must not wait for that, which may never come: the session's own thread sees it.
      if (closed_) return;
      if (writing_) {
        // Once the connection decided to close, the linger deadline ends it: no more posts.
        if (connection_.close_requested() && !connection_.should_close()) {
          lock.unlock();
          post_wake();
        }
        return;
      }
      io_thread::home& here = *io_thread::current();
      broker::output_batch& out = here.scratch;
      out.clear();
      connection_.take_output(out);
      const bool ending = connection_.should_close();
      if (!out.empty()) {
        gather(out, 0, here.scratch_buffers);
        boost::system::error_code ec;
        const std::size_t sent = stream_.write_now(here.scratch_buffers, ec);
        if (ec || sent < out.total_size()) {
          // The rest becomes the write in flight, which the session's own thread finishes (or
          // fails, and closes).
          if (!write_) write_ = std::make_unique<write_state>();
          std::swap(write_->batch, out);
          out.clear();
          gather(write_->batch, ec ? 0 : sent, write_->buffers);
          writing_ = true;
          lock.unlock();
          asio_post([self = this->shared_from_this()] {
            io_thread::handler_scope scope;
            std::lock_guard lock(self->lock_);
            if (self->closed_) {
              self->writing_ = false;
              return;
            }
            self->start_write();
          });
          return;
        }
        out.clear();  // holds the messages it sent
      }
      // Closing is the session's own thread's work.
      if (ending) {
        lock.unlock();
        post_wake();
      }
    } else {
      post_wake();
    }
  }

  void post(std::function<void()> fn) override {
    asio_post([weak = this->weak_from_this(), fn = std::move(fn)] {
      if (auto self = weak.lock()) {
        io_thread::handler_scope scope;
        std::lock_guard lock(self->lock_);
        fn();
        if (!self->closed_) self->after_event();
      }
    });
  }

  std::shared_ptr<void> lifetime() override { return this->shared_from_this(); }

  void request_close() override {
    // The connection says goodbye (5.0: DISCONNECT 0x8B), its output is flushed within the
    // linger limit, then the socket closes.
    asio_post([weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        io_thread::handler_scope scope;
        std::lock_guard lock(self->lock_);
        if (self->closed_) return;
        self->connection_.shut_down();
        // A peer that reads nothing must not hold up the broker's stop for the whole linger.
        self->linger_deadline_ = std::min(self->linger_deadline_, clock::now() + shutdown_linger);
        self->after_event();
      }
    });
  }

  void close_now() override {
    std::lock_guard lock(lock_);
    close();
  }

 private:
  // How long a closing connection may spend flushing its last bytes to a peer that reads
  // nothing.
  static constexpr std::chrono::seconds linger_limit{5};
  // The same at shutdown, when every connection closes at once and the add-on's stop timeout
  // (10 s) must also cover saving the sessions.
  static constexpr std::chrono::seconds shutdown_linger{1};
  // A batch buffer that grew past this for one large write is given back once it is sent.
  static constexpr std::size_t kept_capacity = 64 * 1024;

  template <class Fn>
  void asio_post(Fn&& fn) {
    boost::asio::post(stream_.get_executor(), std::forward<Fn>(fn));
  }

  void post_wake() {
    // Weak: a wake queued on a context must not keep a closed session alive.
    asio_post([weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        io_thread::handler_scope scope;
        std::lock_guard lock(self->lock_);
        self->wake_pending_.store(false, std::memory_order_release);
        if (!self->closed_) self->after_event();
      }
    });
  }

  // The batch's bytes from `skip` on, as a gather list.
  static void gather(const broker::output_batch& batch, std::size_t skip,
                     std::vector<boost::asio::const_buffer>& out) {
    out.clear();
    for (const broker::output_batch::segment& s : batch.segments()) {
      std::string_view bytes = batch.view(s);
      if (skip >= bytes.size()) {
        skip -= bytes.size();
        continue;
      }
      bytes.remove_prefix(skip);
      skip = 0;
      out.emplace_back(bytes.data(), bytes.size());
    }
  }

  void read() {
    stream_.async_read([self = this->shared_from_this()](boost::system::error_code ec,
                                                         std::span<const std::uint8_t> bytes) {
      self->on_read(ec, bytes);
    });
  }

  void on_read(boost::system::error_code ec, std::span<const std::uint8_t> bytes) {
    io_thread::handler_scope scope;
    std::lock_guard lock(lock_);
    if (closed_) return;
    if (ec) {  // EOF or a broken connection
      close();
      return;
    }
    connection_.on_bytes(bytes);
    after_event();
    // Once the connection is ending nothing more is read: what is left is flushed, then closed.
    if (!closed_ && !connection_.should_close()) read();
  }

  // After anything that may have given the connection output, a close decision or a new
  // deadline.
  void after_event() {
    flush();
    if (closed_) return;
    if (connection_.should_close() && linger_deadline_ == clock::time_point::max()) {
      linger_deadline_ = clock::now() + linger_limit;
    }
    arm_timer();
  }

  void flush() {
    if (closed_) return;
    if (writing_) {
      // The write in flight may never finish (a client that stopped reading): what ends the
      // connection from outside is noticed all the same; after_event() then gives it the
      // linger to flush and closes it.
      connection_.notice_close_requests();
      return;
    }
    if (write_) {
      // A busy connection reuses its buffers.
      write_->batch.clear();
      connection_.take_output(write_->batch);
    } else {
      // An idle one has none: what it has to send is taken into the thread's scratch batch and
      // only then given buffers of its own.
      broker::output_batch& out = home_->scratch;
      out.clear();
      connection_.take_output(out);
      if (!out.empty()) {
        write_ = std::make_unique<write_state>();
        std::swap(write_->batch, out);
      }
    }
    if (!write_ || write_->batch.empty()) {
      // Nothing more to send: an idle connection keeps no output buffers (about 100 bytes with
      // their allocations).
      write_.reset();
      if (connection_.should_close()) close();
      return;
    }
    gather(write_->batch, 0, write_->buffers);
    start_write();
  }

  // Sends write_->buffers (which point into write_->batch).
  void start_write() {
    writing_ = true;
    stream_.async_write(write_->buffers,
                        [self = this->shared_from_this()](boost::system::error_code ec,
                                                          std::size_t) { self->on_written(ec); });
  }

  void on_written(boost::system::error_code ec) {
    io_thread::handler_scope scope;
    std::lock_guard lock(lock_);
    writing_ = false;
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    if (write_->batch.inline_bytes().capacity() > kept_capacity) write_->batch = {};
    after_event();  // more may have queued while the write was in flight
  }

  // The deadline is the earliest of the connection's and the linger deadline. One that moved
  // later (keep-alive refreshed) is not moved in the queue: it expires early and is scheduled
  // again then, which saves a queue operation on every packet.
  void arm_timer() {
    const clock::time_point due = std::min(connection_.deadline(), linger_deadline_);
    if (due == clock::time_point::max()) return;
    if (scheduled() && this->due() <= due) return;
    home_->deadlines.schedule(*this, due);
  }

  std::shared_ptr<deadline_queue::entry> claim() override { return this->weak_from_this().lock(); }

  void expired() override {
    io_thread::handler_scope scope;
    std::lock_guard lock(lock_);
    if (closed_) return;
    const clock::time_point now = clock::now();
    if (now >= linger_deadline_) {
      close();
      return;
    }
    if (now >= connection_.deadline()) connection_.on_timer(now);
    after_event();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (home_ && scheduled()) home_->deadlines.cancel(*this);
    stream_.close();
    if (registry_id_ != 0) {
      registry_.remove(registry_id_);
      registry_id_ = 0;
    }
    connection_.on_closed();
  }

  connection_slot slot_;  // first, so it is given back after the socket is gone
  Stream stream_;
  io_thread::home* home_ = nullptr;  // the session's I/O thread, from start() on
  session_registry& registry_;

  // What the write in flight sends, and its gather list; only while there is output.
  struct write_state {
    broker::output_batch batch;
    std::vector<boost::asio::const_buffer> buffers;
  };
  std::unique_ptr<write_state> write_;
  std::atomic<bool> wake_pending_{false};
  io_thread::session_lock lock_;
  bool writing_ = false;
  bool closed_ = false;
  std::uint32_t registry_id_ = 0;  // with the flags above: no padding after them

  clock::time_point linger_deadline_ = clock::time_point::max();

  // Last, so it is destroyed first, while everything it may call back into still exists.
  // By value: one allocation less for every connection.
  broker::connection connection_;
};

}  // namespace transport
