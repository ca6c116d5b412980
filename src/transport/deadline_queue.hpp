#pragma once
// The deadlines of one I/O thread's connections (the CONNECT deadline, 1.5 times the keep-alive,
// a held login, the linger of a closing connection) in one queue, served by one Asio timer per
// thread. An Asio timer per connection cost every idle connection 112 bytes of timer object
// plus its pending wait (about 130 bytes with the handler); an entry here is 32 bytes and a
// pointer in the heap.
//
// A binary heap ordered by due time; each entry knows its place in it, so moving or removing one
// costs O(log n). The queue's owner (io_pool) gives it a driver, which it tells when the earliest
// deadline comes earlier and when none is left; the driver calls expire() when the earliest is
// due, and then runs each expired entry.
//
// Threads: schedule() and expire() run on the queue's own I/O thread; cancel() may run on any
// (the registry's close_all_now() runs after the I/O threads have stopped, and a session may be
// destroyed on another thread). One mutex, uncontended in practice, keeps them apart.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace transport {

class deadline_queue {
 public:
  using clock = std::chrono::steady_clock;

  class entry {
   public:
    entry(const entry&) = delete;
    entry& operator=(const entry&) = delete;

    // Unlocked reads for the entry's owner on the queue's thread, the only one that schedules
    // or expires it (a cancel from elsewhere comes after that thread stopped, or from the
    // owner's destructor).
    bool scheduled() const { return index_ != unscheduled; }
    clock::time_point due() const { return due_; }  // meaningful while scheduled

    // For an entry that is due, under the queue's lock: its owner, kept alive while expired()
    // runs; null when the owner is being destroyed (its destructor cancels the entry).
    virtual std::shared_ptr<entry> claim() = 0;
    // On the queue's thread, without its lock, after due() passed. No longer scheduled.
    virtual void expired() = 0;

   protected:
    entry() = default;
    ~entry() = default;

   private:
    friend class deadline_queue;
    static constexpr std::size_t unscheduled = static_cast<std::size_t>(-1);
    std::size_t index_ = unscheduled;  // place in the heap; written under the queue's lock
    clock::time_point due_{};
  };

  // What keeps the queue's timer: told only what changes it.
  class driver {
   public:
    // The earliest deadline is now `t` (earlier than before, or the first one).
    virtual void wake_at(clock::time_point t) = 0;
    // Nothing is scheduled any more.
    virtual void stand_down() = 0;

   protected:
    ~driver() = default;
  };

  deadline_queue() = default;
  // Entries still scheduled are let go (they see scheduled() false).
  ~deadline_queue();
  deadline_queue(const deadline_queue&) = delete;
  deadline_queue& operator=(const deadline_queue&) = delete;

  void set_driver(driver* d) { driver_ = d; }

  // Schedules `e` at `due`, or moves it there if it is already scheduled.
  void schedule(entry& e, clock::time_point due);
  // Takes `e` out; nothing if it is not scheduled.
  void cancel(entry& e);

  // Takes every entry due at `now` out of the queue and appends its claimed owner to `due` (an
  // owner being destroyed is left to its destructor). Returns the earliest due time left,
  // clock::time_point::max() when nothing is.
  clock::time_point expire(clock::time_point now, std::vector<std::shared_ptr<entry>>& due);
  // The earliest due time, clock::time_point::max() when nothing is scheduled.
  clock::time_point earliest() const;
  std::size_t size() const;

 private:
  void place(std::size_t index, entry* e);
  void sift_up(std::size_t index);
  void sift_down(std::size_t index);
  void remove_at(std::size_t index);

  mutable std::mutex mutex_;
  std::vector<entry*> heap_;
  driver* driver_ = nullptr;
};

}  // namespace transport
