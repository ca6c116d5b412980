#pragma once
// A reader-writer lock that lets a waiting writer in first. The broker state takes it shared on
// every PUBLISH, acknowledgement and output, from every I/O thread at once, and exclusively for
// the rare changes of its structure (a connection, a subscription). std::shared_mutex on glibc
// prefers readers: under steady traffic a SUBSCRIBE could wait for as long as the traffic lasts.
//
// Not recursive in either mode: a thread holding it must not take it again, not even shared (a
// writer waiting in between would deadlock both).

#include <pthread.h>

namespace broker {

class rw_lock {
 public:
  rw_lock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~rw_lock() { pthread_rwlock_destroy(&lock_); }
  rw_lock(const rw_lock&) = delete;
  rw_lock& operator=(const rw_lock&) = delete;

  // Lockable and SharedLockable: std::lock_guard, std::unique_lock and std::shared_lock use them.
  void lock() { pthread_rwlock_wrlock(&lock_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace broker
