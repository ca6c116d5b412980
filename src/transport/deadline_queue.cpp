#include "transport/deadline_queue.hpp"

#include <utility>

namespace transport {

deadline_queue::~deadline_queue() {
  std::lock_guard lock(mutex_);
  for (entry* e : heap_) e->index_ = entry::unscheduled;
  heap_.clear();
}

void deadline_queue::schedule(entry& e, clock::time_point due) {
  bool now_earliest = false;
  {
    std::lock_guard lock(mutex_);
    e.due_ = due;
    if (e.index_ == entry::unscheduled) {
      heap_.push_back(&e);
      e.index_ = heap_.size() - 1;
      sift_up(e.index_);
    } else {
      // Either direction: a deadline may move earlier (a closing connection's linger) or later.
      sift_up(e.index_);
      sift_down(e.index_);
    }
    now_earliest = heap_.front() == &e;
  }
  // Outside the lock: the driver re-arms an Asio timer, which may run nothing of ours inline,
  // but needs no lock of ours either.
  if (now_earliest && driver_) driver_->wake_at(due);
}

void deadline_queue::cancel(entry& e) {
  bool emptied = false;
  {
    std::lock_guard lock(mutex_);
    if (e.index_ == entry::unscheduled) return;
    remove_at(e.index_);
    emptied = heap_.empty();
  }
  // An earliest deadline that went away needs no re-arm: the timer fires early and the driver
  // arms it again for what is then the earliest. But with nothing left the timer must not keep
  // its thread's io_context running (a stopping broker waits for every context to run dry).
  if (emptied && driver_) driver_->stand_down();
}

deadline_queue::clock::time_point deadline_queue::expire(clock::time_point now,
                                                         std::vector<std::shared_ptr<entry>>& due) {
  std::lock_guard lock(mutex_);
  std::vector<entry*> dying;
  while (!heap_.empty() && heap_.front()->due_ <= now) {
    entry* e = heap_.front();
    remove_at(0);
    if (std::shared_ptr<entry> owner = e->claim()) {
      due.push_back(std::move(owner));
    } else {
      dying.push_back(e);
    }
  }
  // An owner that could not be claimed is in its destructor on another thread, waiting for this
  // lock to cancel its entry: put the entry back for it to find (rare: a session dying elsewhere
  // just as its deadline passes).
  for (entry* e : dying) {
    heap_.push_back(e);
    sift_up(heap_.size() - 1);
  }
  return heap_.empty() ? clock::time_point::max() : heap_.front()->due_;
}

deadline_queue::clock::time_point deadline_queue::earliest() const {
  std::lock_guard lock(mutex_);
  return heap_.empty() ? clock::time_point::max() : heap_.front()->due_;
}

std::size_t deadline_queue::size() const {
  std::lock_guard lock(mutex_);
  return heap_.size();
}

void deadline_queue::place(std::size_t index, entry* e) {
  heap_[index] = e;
  e->index_ = index;
}

void deadline_queue::sift_up(std::size_t index) {
  entry* e = heap_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!(e->due_ < heap_[parent]->due_)) break;
    place(index, heap_[parent]);
    index = parent;
  }
  place(index, e);
}

void deadline_queue::sift_down(std::size_t index) {
  entry* e = heap_[index];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->due_ < heap_[child]->due_) ++child;
    if (!(heap_[child]->due_ < e->due_)) break;
    place(index, heap_[child]);
    index = child;
  }
  place(index, e);
}

void deadline_queue::remove_at(std::size_t index) {
  entry* gone = heap_[index];
  gone->index_ = entry::unscheduled;
  entry* last = heap_.back();
  heap_.pop_back();
  if (last == gone) return;
  place(index, last);
  sift_up(index);
  sift_down(last->index_);
}

}  // namespace transport
