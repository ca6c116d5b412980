#pragma once
// A completion handler kept inside the object that will call it, without an allocation: a
// move-only callable of at most `Capacity` bytes, called at most once. tcp_stream keeps its
// pending read and write this way (stream_session's handlers hold one shared_ptr), where
// std::function would allocate for every wait.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace transport {

template <class Signature, std::size_t Capacity = 16>
class stored_handler;

template <class... Args, std::size_t Capacity>
class stored_handler<void(Args...), Capacity> {
 public:
  stored_handler() = default;
  stored_handler(stored_handler&& other) noexcept { take(other); }
  stored_handler& operator=(stored_handler&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  ~stored_handler() { reset(); }

  template <class Fn>
  void emplace(Fn&& fn) {
    using stored = std::decay_t<Fn>;
    static_assert(sizeof(stored) <= Capacity && alignof(stored) <= alignof(void*),
                  "handler too large to keep in place");
    static_assert(std::is_nothrow_move_constructible_v<stored>);
    reset();
    ::new (static_cast<void*>(storage_)) stored(std::forward<Fn>(fn));
    ops_ = &ops_for<stored>;
  }

  explicit operator bool() const { return ops_ != nullptr; }

  // Calls the handler once and forgets it; the handler may store a new one here meanwhile.
  void operator()(Args... args) {
    stored_handler self(std::move(*this));
    self.ops_->call(self.storage_, std::forward<Args>(args)...);
  }

  void reset() {
    if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
  }

 private:
  struct operations {
    void (*call)(void*, Args...);
    void (*move_to)(void* from, void* to);  // and destroys `from`
    void (*destroy)(void*);
  };

  template <class Fn>
  static constexpr operations ops_for{
      [](void* p, Args... args) { (*static_cast<Fn*>(p))(std::forward<Args>(args)...); },
      [](void* from, void* to) {
        ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
        static_cast<Fn*>(from)->~Fn();
      },
      [](void* p) { static_cast<Fn*>(p)->~Fn(); }};

  void take(stored_handler& other) {
    if (!other.ops_) return;
    other.ops_->move_to(other.storage_, storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }

  alignas(void*) unsigned char storage_[Capacity];
  const operations* ops_ = nullptr;
};

}  // namespace transport
