// The connection pool's reconnect policy: broken connections stay broken (requests fail fast and
// open nothing new) until reset(), which is what makes auto-heal observable.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "gateway/pool.h"

namespace chaos::gateway {
namespace {

using resilience::Deadline;
using resilience::Error;
using resilience::Result;
using resilience::Unit;

struct Conn {
  int id;
  bool ok = true;
};

struct PoolHarness {
  ManualClock clock;
  int next_id = 1;
  bool refuse = false;
  ConnectionPool<Conn> pool{"db", 2, [this](const Deadline&) -> Result<std::unique_ptr<Conn>> {
                              if (refuse) return Error::network("refused", false);
                              return std::make_unique<Conn>(Conn{next_id++});
                            }};
  ConnectionPool<Conn>::Probe probe = [](Conn& c, const Deadline&) -> Result<Unit> {
    if (!c.ok) return Error::server("exhausted");
    return Unit{};
  };
  Deadline soon() { return Deadline::after(clock, std::chrono::milliseconds(100)); }
};

// A pool of five whose connections are numbered 1, 2, ... in the order they are opened.
struct FivePool {
  ManualClock clock;
  int next_id = 1;
  ConnectionPool<Conn> pool{"db", 5, [this](const Deadline&) -> Result<std::unique_ptr<Conn>> {
                              return std::make_unique<Conn>(Conn{next_id++});
                            }};
  Deadline soon() { return Deadline::after(clock, std::chrono::milliseconds(100)); }
};

TEST(ConnectionPool, ReusesAnIdleConnection) {
  PoolHarness h;
  int first;
  {
    auto l = h.pool.acquire(h.soon());
    ASSERT_TRUE(l.ok());
    first = l.value()->id;
  }
  auto l = h.pool.acquire(h.soon());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.value()->id, first);
  EXPECT_EQ(h.pool.stats().connects, 1u);
}

TEST(ConnectionPool, ABrokenConnectionIsNotReplacedByRequests) {
  PoolHarness h;
  {
    auto l = h.pool.acquire(h.soon());
    ASSERT_TRUE(l.ok());
    l.value().mark_broken(Error::timeout("read timeout after 200 ms"));
  }
  // The second slot is still empty, but nothing new is opened while a connection is broken.
  auto l = h.pool.acquire(h.soon());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().category, resilience::ErrorCategory::kNetwork);
  EXPECT_FALSE(l.error().maybe_delivered);
  EXPECT_NE(l.error().message.find("read timeout after 200 ms"), std::string::npos);
  EXPECT_EQ(h.pool.stats().connects, 1u);
  EXPECT_EQ(h.pool.stats().broken, 1u);
}

TEST(ConnectionPool, ResetReconnectsAndCuresBrokenConnections) {
  PoolHarness h;
  {
    auto l = h.pool.acquire(h.soon());
    l.value().mark_broken(Error::network("EOF"));
  }
  auto r = h.pool.reset(h.probe, h.soon());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(h.pool.stats().broken, 0u);
  auto l = h.pool.acquire(h.soon());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.value()->id, 2);
}

TEST(ConnectionPool, CheckProbesIdleConnectionsAndReportsTheBrokenOnes) {
  PoolHarness h;
  {
    auto a = h.pool.acquire(h.soon());
    auto b = h.pool.acquire(h.soon());
    ASSERT_TRUE(a.ok() && b.ok());
    b.value()->ok = false;  // e.g. the server's `exhaust`: open connections answer errors
  }
  auto r = h.pool.check(h.probe, h.soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "exhausted");
  // A connection that cannot answer the probe is not trusted again until the pool is reset; the
  // healthy one keeps serving.
  EXPECT_EQ(h.pool.stats().broken, 1u);
  {
    auto l = h.pool.acquire(h.soon());
    ASSERT_TRUE(l.ok());
    EXPECT_TRUE(l.value()->ok);
  }
  EXPECT_TRUE(h.pool.reset(h.probe, h.soon()).ok());
  auto again = h.pool.check(h.probe, h.soon());
  EXPECT_TRUE(again.ok());
}

TEST(ConnectionPool, ACheckProbesAFewConnectionsAndRotatesThroughThePool) {
  FivePool f;
  auto& pool = f.pool;
  auto soon = f.soon();
  {
    std::vector<ConnectionPool<Conn>::Lease> open;
    for (int i = 0; i < 5; ++i) {
      auto l = pool.acquire(soon);
      ASSERT_TRUE(l.ok());
      if (l.value()->id == 5) l.value()->ok = false;  // only the last connection went bad
      open.push_back(std::move(l.value()));
    }
  }
  std::vector<int> probed;
  auto probe = [&](Conn& c, const Deadline&) -> Result<Unit> {
    probed.push_back(c.id);
    if (!c.ok) return Error::server("exhausted");
    return Unit{};
  };
  // The check's cost does not grow with the pool: two probes per round, each round going on from
  // where the last one stopped, so the bad connection is found on the third round.
  auto r = pool.check(probe, soon, 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), "2 connection(s) answered, 5 open");
  EXPECT_EQ(probed, (std::vector<int>{1, 2}));
  ASSERT_TRUE(pool.check(probe, soon, 2).ok());
  EXPECT_EQ(probed, (std::vector<int>{1, 2, 3, 4}));
  auto bad = pool.check(probe, soon, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "exhausted");
  EXPECT_EQ(probed, (std::vector<int>{1, 2, 3, 4, 5, 1}));
  EXPECT_EQ(pool.stats().broken, 1u);
  // The broken connection is skipped from now on; the rotation carries on over the READY ones.
  ASSERT_FALSE(pool.check(probe, soon, 2).ok()) << "a broken connection keeps the pool unhealthy";
  EXPECT_EQ(probed, (std::vector<int>{1, 2, 3, 4, 5, 1, 2, 3}));
}

TEST(ConnectionPool, ACheckOfABusyPoolProbesOnlyIdleConnections) {
  PoolHarness h;
  auto a = h.pool.acquire(h.soon());
  ASSERT_TRUE(a.ok());
  { auto b = h.pool.acquire(h.soon()); ASSERT_TRUE(b.ok()); }
  int probes = 0;
  auto r = h.pool.check([&](Conn&, const Deadline&) -> Result<Unit> { ++probes; return Unit{}; }, h.soon(), 4);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(probes, 1) << "the connection a request holds is not probed";
  EXPECT_EQ(r.value(), "1 connection(s) answered, 2 open");
}

TEST(ConnectionPool, WarmOpensConnectionsAheadOfDemand) {
  FivePool f;
  auto& pool = f.pool;
  auto soon = f.soon();
  EXPECT_EQ(pool.warm(3, soon), 3u);
  EXPECT_EQ(pool.stats().ready, 3u);
  EXPECT_EQ(pool.stats().connects, 3u);
  EXPECT_EQ(pool.warm(3, soon), 3u) << "already warm: nothing more is opened";
  EXPECT_EQ(pool.stats().connects, 3u);
  {
    std::vector<ConnectionPool<Conn>::Lease> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::move(pool.acquire(soon).value()));
    EXPECT_EQ(pool.stats().connects, 3u) << "three requests at once found three open connections";
  }
  EXPECT_EQ(pool.warm(9, soon), 5u) << "never more than the pool holds";
}

TEST(ConnectionPool, AResetOfAWarmedPoolWarmsItBackUp) {
  ManualClock clock;
  int next_id = 1;
  bool refuse_after_first = false;
  int connects_since_reset = 0;
  ConnectionPool<Conn> pool("db", 5, [&](const Deadline&) -> Result<std::unique_ptr<Conn>> {
    if (refuse_after_first && connects_since_reset++ >= 1) return Error::timeout("connect timeout after 200 ms");
    return std::make_unique<Conn>(Conn{next_id++});
  });
  auto soon = Deadline::after(clock, std::chrono::milliseconds(100));
  auto probe = [](Conn&, const Deadline&) -> Result<Unit> { return Unit{}; };
  ASSERT_EQ(pool.warm(3, soon), 3u);
  { auto l = pool.acquire(soon); l.value().mark_broken(Error::network("EOF")); }
  auto r = pool.reset(probe, soon);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), "reset 3 connection(s), reconnected, 3 of 3 open again");
  EXPECT_EQ(pool.stats().ready, 3u);
  EXPECT_EQ(pool.stats().broken, 0u);
  // A warm-up connect that fails after the reset's own connect: the heal still succeeded, nothing broke.
  refuse_after_first = true;
  r = pool.reset(probe, soon);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), "reset 3 connection(s), reconnected, 1 of 3 open again");
  EXPECT_EQ(pool.stats().broken, 0u);
}

TEST(ConnectionPool, AFailedWarmUpConnectBreaksNothing) {
  PoolHarness h;
  h.refuse = true;
  EXPECT_EQ(h.pool.warm(2, h.soon()), 0u);
  auto st = h.pool.stats();
  EXPECT_EQ(st.broken, 0u) << "warming is opportunistic: no heal is needed for a connect nobody asked for";
  EXPECT_EQ(st.connect_failures, 1u) << "the first failure ends the warm-up";
  h.refuse = false;
  EXPECT_TRUE(h.pool.acquire(h.soon()).ok()) << "the slot is opened on demand as usual";
}

TEST(ConnectionPool, HealthyChecksTopAShortWarmedPoolUpOneConnectionAtATime) {
  // A warm-up cut short (here a refused connect; after a heal, the re-warm's budget) is finished by
  // the health checks, off the request path, one connect per check and never past the target.
  FivePool h;
  auto probe = [](Conn&, const Deadline&) -> Result<Unit> { return Unit{}; };
  int limit = 1;  // connects allowed before the factory refuses
  ConnectionPool<Conn> pool{"db", 5, [&](const Deadline&) -> Result<std::unique_ptr<Conn>> {
                              if (h.next_id > limit) return Error::network("refused", false);
                              return std::make_unique<Conn>(Conn{h.next_id++});
                            }};
  EXPECT_EQ(pool.warm(4, h.soon()), 1u);
  limit = 100;
  auto r = pool.check(probe, h.soon());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), "1 connection(s) answered, 2 open, topping up to 4");
  EXPECT_EQ(pool.stats().ready, 2u);
  r = pool.check(probe, h.soon());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "2 connection(s) answered, 3 open, topping up to 4");
  r = pool.check(probe, h.soon());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "2 connection(s) answered, 4 open") << "the connect that reaches the target";
  EXPECT_EQ(pool.stats().ready, 4u);
  r = pool.check(probe, h.soon());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "2 connection(s) answered, 4 open") << "at the target: no more connects";
  EXPECT_EQ(pool.stats().connects, 4u);
  // A pool never warmed is not topped up: it opens on demand, as before.
  FivePool cold;
  { auto l = cold.pool.acquire(cold.soon()); }
  r = cold.pool.check(probe, cold.soon());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "1 connection(s) answered, 1 open");
  EXPECT_EQ(cold.pool.stats().connects, 1u);
}

TEST(ConnectionPool, AWarmedPoolsRequestWaitsForALiveConnectionInsteadOfOpeningOne) {
  FivePool f;
  ASSERT_EQ(f.pool.warm(1, f.soon()), 1u);
  auto held = f.pool.acquire(f.soon());
  ASSERT_TRUE(held.ok());
  // Four slots are empty, yet a request with no time left gets no connect of its own.
  auto none = f.pool.acquire(Deadline::after(f.clock, std::chrono::milliseconds(0)));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().category, resilience::ErrorCategory::kTimeout);
  EXPECT_EQ(f.pool.stats().connects, 1u);

  // A request with time left waits and gets the connection the first one gives back. The manual
  // clock never runs out, so only the release can end its wait.
  int got = 0;
  std::thread waiter([&] {
    auto l = f.pool.acquire(f.soon());
    if (l.ok()) got = l.value()->id;
  });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.pool.stats().waiting == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(f.pool.stats().waiting, 1u) << "the second request is waiting, not connecting";
  held.value().release();
  waiter.join();
  EXPECT_EQ(got, 1) << "the same connection, handed over";
  EXPECT_EQ(f.pool.stats().connects, 1u);
  EXPECT_EQ(f.pool.stats().waiting, 0u);
}

TEST(ConnectionPool, AWarmedPoolWithNoLiveConnectionOpensOneOnDemand) {
  FivePool f;
  auto probe = [](Conn&, const Deadline&) -> Result<Unit> { return Error::timeout("slow"); };
  ConnectionPool<Conn> pool{"db", 5, [&](const Deadline&) -> Result<std::unique_ptr<Conn>> {
                              return std::make_unique<Conn>(Conn{f.next_id++});
                            }, nullptr, ProbeFailure::kDrop};
  ASSERT_EQ(pool.warm(1, f.soon()), 1u);
  ASSERT_FALSE(pool.check(probe, f.soon()).ok());  // drops the only connection
  ASSERT_EQ(pool.stats().ready + pool.stats().busy, 0u);
  auto l = pool.acquire(Deadline::after(f.clock, std::chrono::milliseconds(0)));
  ASSERT_TRUE(l.ok()) << "nothing to wait for: the request connects";
  EXPECT_EQ(l.value()->id, 2);
}

TEST(ConnectionPool, AConnectionLeasedBeforeAResetIsNothingAWarmedPoolsHealWaitsFor) {
  FivePool f;
  auto probe = [](Conn&, const Deadline&) -> Result<Unit> { return Unit{}; };
  ASSERT_EQ(f.pool.warm(1, f.soon()), 1u);
  auto stale = f.pool.acquire(f.soon());  // a request hanging on the damaged connection
  ASSERT_TRUE(stale.ok());
  // The heal must not wait for it: the connection is condemned, so the heal connects at once (with
  // no time to wait at all it would fail).
  auto r = f.pool.reset(probe, Deadline::after(f.clock, std::chrono::milliseconds(0)));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(f.pool.stats().connects, 2u);
  stale.value().release();
  EXPECT_EQ(f.pool.stats().ready, 1u) << "the stale one is closed when it comes back";
}

TEST(ConnectionPool, WarmLeavesABrokenPoolToTheHeal) {
  PoolHarness h;
  { auto l = h.pool.acquire(h.soon()); l.value().mark_broken(Error::network("EOF")); }
  EXPECT_EQ(h.pool.warm(2, h.soon()), 0u);
  EXPECT_EQ(h.pool.stats().connects, 1u);
  EXPECT_EQ(h.pool.stats().broken, 1u);
}

TEST(ConnectionPool, AProbeTimeoutMarksTheConnectionBroken) {
  PoolHarness h;
  { auto a = h.pool.acquire(h.soon()); }
  auto r = h.pool.check([](Conn&, const Deadline&) -> Result<Unit> { return Error::timeout("read timeout"); }, h.soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(h.pool.stats().broken, 1u);
  EXPECT_FALSE(h.pool.acquire(h.soon()).ok());
}

TEST(ConnectionPool, ABreakPolicyDecidesWhichProbeFailuresBreak) {
  ManualClock clock;
  ConnectionPool<Conn> pool(
      "rpc", 1, [](const Deadline&) -> Result<std::unique_ptr<Conn>> { return std::make_unique<Conn>(Conn{1}); },
      [](const Error& e) { return e.category == resilience::ErrorCategory::kNetwork; });
  auto soon = Deadline::after(clock, std::chrono::milliseconds(100));
  auto r = pool.check([](Conn&, const Deadline&) -> Result<Unit> { return Error::server("HTTP 503"); }, soon);
  ASSERT_FALSE(r.ok()) << "the failure is still reported, so the monitor heals";
  EXPECT_EQ(pool.stats().broken, 0u);
  EXPECT_TRUE(pool.acquire(soon).ok());
  r = pool.check([](Conn&, const Deadline&) -> Result<Unit> { return Error::network("refused", false); }, soon);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(pool.stats().broken, 1u);
}

// ProbeFailure::kDrop: the condemned connection is closed and its slot reopened on demand, so the
// next check passes without a heal; a request's own mark_broken still breaks.
TEST(ConnectionPool, ADroppingPoolClosesAFailedProbesConnectionInsteadOfBreakingIt) {
  ManualClock clock;
  int opened = 0;
  ConnectionPool<Conn> pool(
      "db", 2,
      [&opened](const Deadline&) -> Result<std::unique_ptr<Conn>> { return std::make_unique<Conn>(Conn{++opened}); },
      nullptr, ProbeFailure::kDrop);
  auto soon = Deadline::after(clock, std::chrono::milliseconds(100));
  ASSERT_EQ(pool.warm(2, soon), 2u);
  auto r = pool.check([](Conn& c, const Deadline&) -> Result<Unit> {
    if (c.id == 1) return Error::timeout("read timeout after 600 ms (db query)");
    return Unit{};
  }, soon);
  ASSERT_FALSE(r.ok()) << "the failed probe is still reported";
  PoolStats st = pool.stats();
  EXPECT_EQ(st.broken, 0u);
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_EQ(st.ready, 1u);
  EXPECT_EQ(st.empty, 1u);
  auto ok = [](Conn&, const Deadline&) -> Result<Unit> { return Unit{}; };
  EXPECT_TRUE(pool.check(ok, soon).ok()) << "nothing broken: the next check passes without a heal";
  {
    auto a = pool.acquire(soon);
    auto b = pool.acquire(soon);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok()) << "the dropped slot is reopened on demand";
    EXPECT_EQ(opened, 3);
    b.value().mark_broken(Error::network("connection reset", false));
  }
  EXPECT_EQ(pool.stats().broken, 1u) << "a request's failure still breaks";
  EXPECT_FALSE(pool.check(ok, soon).ok());
}

TEST(ConnectionPool, AFailedConnectIsBrokenUntilReset) {
  PoolHarness h;
  h.refuse = true;
  auto l = h.pool.acquire(h.soon());
  ASSERT_FALSE(l.ok());
  h.refuse = false;
  EXPECT_FALSE(h.pool.acquire(h.soon()).ok()) << "requests must not reconnect on their own";
  auto r = h.pool.reset(h.probe, h.soon());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(h.pool.acquire(h.soon()).ok());
}

TEST(ConnectionPool, AConnectionLeasedAcrossAResetIsDroppedWhenReturned) {
  PoolHarness h;
  auto l = h.pool.acquire(h.soon());
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(h.pool.reset(h.probe, h.soon()).ok());  // opens connection 2 in the other slot
  l.value().release();
  auto st = h.pool.stats();
  EXPECT_EQ(st.ready, 1u);
  EXPECT_EQ(st.empty, 1u);
}

TEST(ConnectionPool, AllBusyTimesOutAtTheDeadline) {
  PoolHarness h;
  auto a = h.pool.acquire(h.soon());
  auto b = h.pool.acquire(h.soon());
  ASSERT_TRUE(a.ok() && b.ok());
  // An already expired deadline: no waiting at all.
  auto c = h.pool.acquire(Deadline::after(h.clock, std::chrono::milliseconds(0)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().category, resilience::ErrorCategory::kTimeout);
}

}  // namespace
}  // namespace chaos::gateway
