// Callbacks outlive nothing: a timer or worker task created by an object must never touch it after it
// is gone. An Anchor hands out Handles that hold only a weak reference; a callback runs under a shared
// lock (so callbacks of one object still run concurrently) and the owner's destructor calls detach(),
// which takes the lock exclusively: a running callback delays destruction, a later one is a no-op.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <vector>

namespace chaos::resilience::internal {

template <class T>
class Anchor {
  struct Block {
    std::shared_mutex mu;
    T* self = nullptr;
  };

 public:
  class Handle {
   public:
    // Runs f(owner) if the owner is alive; returns whether it ran.
    template <class F>
    bool run(F&& f) const {
      auto b = weak_.lock();
      if (!b) return false;
      // A callback that (through an inline executor or a manual scheduler) runs another callback of
      // the same owner on this thread already holds the lock: re-locking a shared_mutex is undefined.
      thread_local std::vector<const void*> held;
      if (std::find(held.begin(), held.end(), b.get()) != held.end()) {
        if (!b->self) return false;
        f(*b->self);
        return true;
      }
      std::shared_lock<std::shared_mutex> lock(b->mu);
      if (!b->self) return false;
      held.push_back(b.get());
      struct Pop {
        ~Pop() { held.pop_back(); }
      } pop;
      f(*b->self);
      return true;
    }

   private:
    friend class Anchor;
    explicit Handle(std::weak_ptr<Block> w) : weak_(std::move(w)) {}
    std::weak_ptr<Block> weak_;
  };

  explicit Anchor(T* self) : block_(std::make_shared<Block>()) { block_->self = self; }
  // Call first thing in the owner's destructor (never from inside one of its callbacks).
  void detach() {
    std::unique_lock<std::shared_mutex> lock(block_->mu);
    block_->self = nullptr;
  }
  Handle handle() const { return Handle(block_); }
  // A no-argument callback for a scheduler.
  template <class F>
  std::function<void()> bind(F f) const {
    return [h = handle(), f = std::move(f)]() { h.run(f); };
  }

 private:
  std::shared_ptr<Block> block_;
};

}  // namespace chaos::resilience::internal
