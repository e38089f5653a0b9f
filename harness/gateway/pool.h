// A fixed-size pool of connections to one dependency, with an explicit "broken" state.
//
// Why not simply reconnect on failure: the mocks' `exhaust` fault (and real connection-level damage)
// leaves already-open connections broken while new ones work. If ordinary requests quietly replaced
// a failed connection, the damage would be cured before the health monitor ever saw it and auto-heal
// would be untestable. So the policy is:
//   - a connection that fails at the transport level (I/O error, timeout, EOF) is marked BROKEN;
//   - while any slot is BROKEN, requests never open new connections: a request that draws a broken
//     slot fails fast with NETWORK ("awaiting heal");
//   - only reset() (the heal action: reconnect / reset pool / restart client) clears broken slots.
// Which failures break a connection is the client's decision: a request calls Lease::mark_broken, and
// the pool's BreakPolicy decides for failed health-check probes.
// Slots that never connected (EMPTY) are opened lazily by requests only while nothing is broken, and
// in a warmed pool (warm()) only while it has no live connection: a warmed pool grows in its health
// checks (top-up), and a request waits for one of its connections instead of opening one.
//
//   acquire() --> idle READY slot --------------------------> Lease (use, then release / mark_broken)
//            \--> no READY, nothing broken, not warmed or
//                 nothing live: EMPTY slot -----------------> connect -> Lease | slot BROKEN + error
//            \--> a BROKEN slot idle ------------------------> NETWORK error (fail fast)
//            \--> otherwise (all busy) ----------------------> wait until the deadline -> TIMEOUT
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "resilience/deadline.h"
#include "resilience/error.h"

namespace chaos::gateway {

struct PoolStats {
  size_t size = 0;
  size_t ready = 0;
  size_t busy = 0;
  size_t broken = 0;
  size_t empty = 0;
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t resets = 0;
  uint64_t dropped = 0;  // connections closed after a failed probe (ProbeFailure::kDrop)
  size_t waiting = 0;    // acquire() calls waiting for a connection to come back
  std::string last_error;  // why the most recent slot broke
};

// What happens to a probed connection the pool's BreakPolicy condemns. kBreak holds the slot BROKEN
// until the heal (so every check fails until then); kDrop closes it and leaves the slot EMPTY, reopened
// on demand, so only that check fails: for a dependency whose heal waits for several failed checks in
// a row (HealthCheckConfig::heal_after_failures), where one slow answer from a busy server must not
// turn into a run of failed checks and a heal. Requests' own mark_broken always breaks. At namespace
// scope, not in the class template, so one value serves every pool and ClientSettings can carry it.
enum class ProbeFailure { kBreak, kDrop };

template <class Conn>
class ConnectionPool {
 public:
  using Factory = std::function<resilience::Result<std::unique_ptr<Conn>>(const resilience::Deadline&)>;
  using Probe = std::function<resilience::Result<resilience::Unit>(Conn&, const resilience::Deadline&)>;

  // Which failed health-check probes break the probed connection (default: every failure; the probe
  // is a trivial command, so a connection that cannot answer it is not trusted until reconnected).
  using BreakPolicy = std::function<bool(const resilience::Error&)>;

  ConnectionPool(std::string name, size_t size, Factory factory, BreakPolicy probe_breaks = nullptr,
                 ProbeFailure on_probe_failure = ProbeFailure::kBreak)
      : name_(std::move(name)),
        factory_(std::move(factory)),
        probe_breaks_(probe_breaks ? std::move(probe_breaks) : [](const resilience::Error&) { return true; }),
        on_probe_failure_(on_probe_failure),
        slots_(size == 0 ? 1 : size) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  class Lease {
   public:
    Lease() = default;
    Lease(ConnectionPool* pool, size_t slot, uint64_t generation) : pool_(pool), slot_(slot), gen_(generation) {}
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        release();
        pool_ = std::exchange(o.pool_, nullptr);
        slot_ = o.slot_;
        gen_ = o.gen_;
        broken_ = std::move(o.broken_);
        drop_ = o.drop_;
      }
      return *this;
    }
    ~Lease() { release(); }
    Conn& operator*() const { return *pool_->slots_[slot_].conn; }
    Conn* operator->() const { return pool_->slots_[slot_].conn.get(); }
    // The connection failed at the transport level: it stays broken until the pool is reset.
    void mark_broken(const resilience::Error& e) { broken_ = resilience::describe(e); }
    // Closes the connection when released, leaving the slot EMPTY (not broken).
    void drop() { drop_ = true; }
    void release() {
      if (pool_) std::exchange(pool_, nullptr)->give_back(slot_, gen_, std::move(broken_), drop_);
    }
    size_t slot() const { return slot_; }

   private:
    ConnectionPool* pool_ = nullptr;
    size_t slot_ = 0;
    uint64_t gen_ = 0;
    std::string broken_;
    bool drop_ = false;
  };

  resilience::Result<Lease> acquire(const resilience::Deadline& deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i].busy && slots_[i].state == State::kReady) {
          take_locked(i);
          return Lease(this, i, generation_);
        }
      }
      if (broken_count_locked() == 0) {
        // Why a warmed pool makes requests wait: against a server that forks per connection
        // (PostgreSQL) on a loaded machine a connect can outlast a request's whole budget, while a
        // busy connection comes back within milliseconds. A request that connects itself pays for
        // the fork, falls back, and leaves a broken slot that calls for a heal, which drops the pool.
        if (warm_target_ == 0 || live_count_locked() == 0) {
          for (size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i].busy && slots_[i].state == State::kEmpty) return connect_slot(lock, i, deadline);
          }
        }
      } else {
        for (const auto& s : slots_) {
          if (!s.busy && s.state == State::kBroken) {
            return resilience::Error::network(
                name_ + ": connection broken (" + s.error + "); not reconnecting until the health monitor heals it",
                false);
          }
        }
      }
      if (deadline.expired()) return resilience::Error::timeout("read timeout: no free " + name_ + " connection");
      auto remaining = deadline.remaining();
      ++waiting_;
      if (deadline.is_infinite()) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, remaining);
      }
      --waiting_;
    }
  }

  // How many idle connections one health check probes by default. Probing every idle connection in
  // turn inside one check deadline made the check's time grow with the pool: 17 round trips to a
  // process-per-connection server (PostgreSQL) whose backends are starved of CPU overran the 200 ms
  // check timeout with nothing wrong. A few per round, rotating, still reaches every connection
  // within size / max_probes rounds, and ordinary requests mark the ones they find broken at once.
  static constexpr size_t kDefaultProbesPerCheck = 2;
  static constexpr std::chrono::milliseconds kRewarmBudget{100};

  // Runs `probe` on up to `max_probes` idle READY connections, continuing round-robin from where the
  // previous check stopped (marking failures broken); when there is none and nothing is broken,
  // acquires one (possibly connecting) and probes it. Returns a description of a healthy pool, or
  // the error that makes it unhealthy.
  resilience::Result<std::string> check(const Probe& probe, const resilience::Deadline& deadline,
                                        size_t max_probes = kDefaultProbesPerCheck) {
    if (max_probes == 0) max_probes = 1;
    std::vector<Lease> leases;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t n = slots_.size();
      for (size_t k = 0; k < n && leases.size() < max_probes; ++k) {
        const size_t i = (probe_cursor_ + k) % n;
        if (!slots_[i].busy && slots_[i].state == State::kReady) {
          take_locked(i);
          leases.emplace_back(this, i, generation_);
        }
      }
      if (!leases.empty()) probe_cursor_ = (leases.back().slot() + 1) % n;
    }
    if (leases.empty()) {
      auto l = acquire(deadline);
      if (!l.ok()) return l.error();
      leases.push_back(std::move(l.value()));
    }
    std::optional<resilience::Error> first;
    for (auto& l : leases) {
      auto r = probe(*l, deadline);
      if (!r.ok()) {
        if (!first) first = r.error();
        if (probe_breaks_(r.error())) {
          if (on_probe_failure_ == ProbeFailure::kDrop) {
            l.drop();
          } else {
            l.mark_broken(r.error());
          }
        }
      }
      l.release();
    }
    PoolStats st = stats();
    if (first) return *first;
    if (st.broken > 0) {
      return resilience::Error::network(std::to_string(st.broken) + " of " + std::to_string(st.size) +
                                        " connections broken: " + st.last_error, false);
    }
    std::string answer = std::to_string(leases.size()) + " connection(s) answered, ";
    // A warmed pool left short (a heal's re-warm that ran out of its budget, a failed warm-up
    // connect) is topped up here, one connection per healthy check, within the check's own limit:
    // otherwise the next request that needs one more connection opens it within its own budget,
    // and against a server that forks per connection on a loaded machine that connect outlasts it.
    size_t open = st.ready + st.busy, target;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = warm_target_;
    }
    if (open < target) {
      open = fill(std::min(open + 1, target), deadline);
      if (open < target) return answer + std::to_string(open) + " open, topping up to " + std::to_string(target);
    }
    return answer + std::to_string(open) + " open";
  }

  // Opens connections ahead of demand until `n` are READY (or the pool is full), one at a time, and
  // returns how many are READY. Opportunistic: a failed connect leaves its slot EMPTY (not broken, so
  // it is opened lazily later and heals nothing) and ends the warm-up, as does a broken slot. `n` is
  // remembered: every successful reset() warms the pool back up to it (see there).
  size_t warm(size_t n, const resilience::Deadline& deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      warm_target_ = n;
    }
    return fill(n, deadline);
  }

  // The heal action: drops every connection (busy ones when they come back), forgets broken state,
  // then opens one connection and probes it so the caller learns whether the dependency is back.
  // When the pool was warmed (warm()), a successful reset warms it back up, for at most
  // kRewarmBudget more so that the heal's outcome is not held back (what is not open by then opens
  // on demand). Otherwise every request after a heal would open its own connection, and against a
  // server that forks per connection (PostgreSQL) on a loaded machine those connects time out,
  // break slots and call for the next heal, which drops the pool again.
  resilience::Result<std::string> reset(const Probe& probe, const resilience::Deadline& deadline) {
    std::vector<std::unique_ptr<Conn>> doomed;
    size_t dropped = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++generation_;
      ++resets_;
      for (auto& s : slots_) {
        if (s.busy) continue;
        if (s.state != State::kEmpty) ++dropped;
        doomed.push_back(std::move(s.conn));
        s.state = State::kEmpty;
        s.error.clear();
      }
    }
    cv_.notify_all();
    doomed.clear();  // closes sockets outside the lock
    auto l = acquire(deadline);
    if (!l.ok()) return l.error();
    auto r = probe(*l.value(), deadline);
    if (!r.ok()) {
      if (probe_breaks_(r.error())) l.value().mark_broken(r.error());
      return r.error();
    }
    l.value().release();
    size_t target;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = warm_target_;
    }
    if (target <= 1) return "reset " + std::to_string(dropped) + " connection(s), reconnected";
    const size_t open = warm(target, deadline.child(kRewarmBudget));
    return "reset " + std::to_string(dropped) + " connection(s), reconnected, " + std::to_string(open) + " of " +
           std::to_string(target) + " open again";
  }

  PoolStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    PoolStats st;
    st.size = slots_.size();
    for (const auto& s : slots_) {
      if (s.busy) ++st.busy;
      else if (s.state == State::kReady) ++st.ready;
      else if (s.state == State::kBroken) ++st.broken;
      else ++st.empty;
    }
    st.connects = connects_;
    st.connect_failures = connect_failures_;
    st.dropped = dropped_;
    st.resets = resets_;
    st.waiting = waiting_;
    st.last_error = last_error_;
    return st;
  }

  const std::string& name() const { return name_; }

 private:
  // warm()'s loop, without changing the remembered target.
  size_t fill(size_t n, const resilience::Deadline& deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      size_t ready = 0;
      std::optional<size_t> empty;
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].state == State::kReady) ++ready;
        else if (!slots_[i].busy && slots_[i].state == State::kEmpty && !empty) empty = i;
      }
      if (ready >= n || !empty || broken_count_locked() > 0 || deadline.expired()) return ready;
      const size_t i = *empty;
      const uint64_t gen = generation_;
      take_locked(i);
      lock.unlock();
      auto c = factory_(deadline);
      lock.lock();
      slots_[i].busy = false;
      if (!c.ok()) {
        ++connect_failures_;
        last_error_ = resilience::describe(c.error());
        cv_.notify_all();
        return ready;
      }
      ++connects_;
      std::unique_ptr<Conn> stale;
      if (gen == generation_) {
        slots_[i].conn = std::move(c.value());
        slots_[i].state = State::kReady;
      } else {
        stale = std::move(c.value());  // a reset ran meanwhile and decided this slot's fate
      }
      lock.unlock();
      cv_.notify_all();
      stale.reset();  // closes the socket outside the lock
      lock.lock();
    }
  }

  enum class State { kEmpty, kReady, kBroken };
  struct Slot {
    State state = State::kEmpty;
    bool busy = false;
    uint64_t generation = 0;  // generation_ when the slot last became busy
    std::unique_ptr<Conn> conn;
    std::string error;
  };

  // Connections of the current generation that are open or being opened (a request that waits gets
  // one of them); a connection leased before the last reset is not, it is dropped when it returns.
  size_t live_count_locked() const {
    size_t n = 0;
    for (const auto& s : slots_) {
      n += (s.busy ? s.generation == generation_ : s.state == State::kReady) ? 1 : 0;
    }
    return n;
  }

  void take_locked(size_t i) {
    slots_[i].busy = true;
    slots_[i].generation = generation_;
  }

  size_t broken_count_locked() const {
    size_t n = 0;
    for (const auto& s : slots_) n += (!s.busy && s.state == State::kBroken) ? 1 : 0;
    return n;
  }

  resilience::Result<Lease> connect_slot(std::unique_lock<std::mutex>& lock, size_t i,
                                         const resilience::Deadline& deadline) {
    take_locked(i);
    uint64_t gen = generation_;
    lock.unlock();
    auto c = factory_(deadline);
    lock.lock();
    if (c.ok()) {
      ++connects_;
      slots_[i].conn = std::move(c.value());
      slots_[i].state = State::kReady;
      return Lease(this, i, gen);
    }
    ++connect_failures_;
    slots_[i].busy = false;
    slots_[i].state = State::kBroken;
    slots_[i].error = resilience::describe(c.error());
    last_error_ = slots_[i].error;
    lock.unlock();
    cv_.notify_all();
    return c.error();
  }

  void give_back(size_t i, uint64_t gen, std::string broken, bool drop) {
    std::unique_ptr<Conn> doomed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Slot& s = slots_[i];
      s.busy = false;
      if (gen != generation_) {
        // Leased before a reset: the reset already decided this connection's fate.
        doomed = std::move(s.conn);
        s.state = State::kEmpty;
        s.error.clear();
      } else if (!broken.empty()) {
        doomed = std::move(s.conn);
        s.state = State::kBroken;
        s.error = broken;
        last_error_ = std::move(broken);
      } else if (drop) {
        doomed = std::move(s.conn);
        s.state = State::kEmpty;
        s.error.clear();
        ++dropped_;
      }
    }
    cv_.notify_all();
  }

  const std::string name_;
  const Factory factory_;
  const BreakPolicy probe_breaks_;
  const ProbeFailure on_probe_failure_;
  size_t probe_cursor_ = 0;  // guarded by mu_: the slot the next check starts probing from
  size_t warm_target_ = 0;   // guarded by mu_: the last warm()'s n, restored after each reset()
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  uint64_t generation_ = 0;
  size_t waiting_ = 0;
  uint64_t connects_ = 0;
  uint64_t connect_failures_ = 0;
  uint64_t dropped_ = 0;
  uint64_t resets_ = 0;
  std::string last_error_;
};

}  // namespace chaos::gateway
