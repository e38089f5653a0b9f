// Each fault kind's effect on one link direction, on a manual clock with a scripted random source:
// how it reshapes chunks, holds data, delays a close or schedules a close or reset.
#include "proxy/fault_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chaos::proxy {
namespace {

using namespace std::chrono_literals;

class FakeEnv final : public LinkEnv {
 public:
  struct Timer {
    Duration delay;
    std::function<void()> fn;
    bool cancelled = false;
  };
  class Handle final : public TimerHandle {
   public:
    explicit Handle(Timer* t) : t_(t) {}
    ~Handle() override { t_->cancelled = true; }

   private:
    Timer* t_;
  };

  explicit FakeEnv(std::initializer_list<double> draws = {0.5}) : rng_(draws) {}
  const Clock& clock() const override { return clock_; }
  Random& rng() override { return rng_; }
  Direction direction() const override { return Direction::kDownstream; }
  std::unique_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) override {
    timers.push_back(std::make_unique<Timer>(Timer{delay, std::move(fn)}));
    return std::make_unique<Handle>(timers.back().get());
  }
  void close_connection(bool reset_client, bool reset_upstream) override {
    closes.emplace_back(reset_client, reset_upstream);
  }

  ManualClock clock_;
  SequenceRandom rng_;
  std::vector<std::unique_ptr<Timer>> timers;
  std::vector<std::pair<bool, bool>> closes;  // (reset client, reset upstream)
};

std::unique_ptr<FaultKind> make(const nlohmann::json& spec) {
  FieldReader f(spec);
  FaultCommon c;
  f.string("type", 64);
  if (auto d = f.one_of("direction", {"upstream", "downstream", "both"})) {
    c.upstream = *d != "downstream";
    c.downstream = *d != "upstream";
  }
  return fault_kinds()[static_cast<size_t>(find_fault_kind(spec["type"].get<std::string>()))].make(f, c);
}

Chunk chunk_of(const std::string& data, TimePoint at) {
  Chunk c;
  c.data = data;
  c.pieces.push_back({0, data.size(), at});
  return c;
}

TEST(ProxyKinds, LatencyDelaysEveryPieceByLatencyPlusUniformJitter) {
  FakeEnv env({0.75});  // jitter factor 2 * 0.75 - 1 = +0.5
  auto kind = make({{"type", "latency"}, {"latency_ms", 100}, {"jitter_ms", 20}});
  auto toxic = kind->attach(env);
  std::string data = "+OK\r\n";
  Chunk c = chunk_of(data, env.clock_.now());
  toxic->shape(c, env);
  ASSERT_EQ(c.pieces.size(), 1u);
  EXPECT_EQ(c.pieces[0].at - env.clock_.now(), 110ms);
  EXPECT_EQ(c.pieces[0].size(), data.size());
}

TEST(ProxyKinds, LatencyNeverGoesBelowZero) {
  FakeEnv env({0.0});  // -jitter
  auto toxic = make({{"type", "latency"}, {"latency_ms", 5}, {"jitter_ms", 50}})->attach(env);
  std::string data = "x";
  Chunk c = chunk_of(data, env.clock_.now());
  toxic->shape(c, env);
  EXPECT_EQ(c.pieces[0].at, env.clock_.now());
}

TEST(ProxyKinds, BandwidthSpacesPiecesAtTheConfiguredRate) {
  FakeEnv env;
  auto toxic = make({{"type", "bandwidth"}, {"rate_kbps", 10}})->attach(env);  // 10 000 B/s, 500 B pieces
  std::string data(2000, 'a');
  TimePoint t0 = env.clock_.now();
  Chunk c = chunk_of(data, t0);
  toxic->shape(c, env);
  ASSERT_EQ(c.pieces.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(c.pieces[i].size(), 500u);
    EXPECT_EQ(c.pieces[i].at - t0, 50ms * static_cast<int>(i));
  }
  // The next chunk, read at once, waits for the first to have drained: the rate holds across chunks.
  Chunk next = chunk_of(data, t0);
  toxic->shape(next, env);
  EXPECT_EQ(next.pieces[0].at - t0, 200ms);
}

TEST(ProxyKinds, SlicerCutsChunksIntoSmallPiecesSpacedByDelay) {
  FakeEnv env({0.0, 0.99});  // variation -2, then +2
  auto toxic = make({{"type", "slicer"}, {"average_size", 5}, {"size_variation", 2}, {"delay_us", 100}})->attach(env);
  std::string data(20, 'b');
  TimePoint t0 = env.clock_.now();
  Chunk c = chunk_of(data, t0);
  toxic->shape(c, env);
  std::vector<size_t> sizes;
  for (const auto& p : c.pieces) sizes.push_back(p.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 7, 3, 7}));
  EXPECT_EQ(c.pieces[3].at - t0, 300us);
  EXPECT_EQ(c.pieces.back().end, data.size());
}

TEST(ProxyKinds, LimitDataCutsAtTheLimitAndClosesAfterIt) {
  FakeEnv env;
  auto toxic = make({{"type", "limit_data"}, {"bytes", 7}})->attach(env);
  std::string first = "abcd", second = "efghij";
  Chunk a = chunk_of(first, env.clock_.now());
  toxic->shape(a, env);
  EXPECT_EQ(a.pieces[0].size(), 4u);
  EXPECT_FALSE(a.close_after);
  Chunk b = chunk_of(second, env.clock_.now());
  toxic->shape(b, env);
  ASSERT_EQ(b.pieces.size(), 1u);
  EXPECT_EQ(b.pieces[0].size(), 3u);
  EXPECT_TRUE(b.close_after);
}

TEST(ProxyKinds, TimeoutHoldsDataAndClosesAfterItsTimeout) {
  FakeEnv env;
  auto toxic = make({{"type", "timeout"}, {"timeout_ms", 250}})->attach(env);
  EXPECT_TRUE(toxic->holds_data());
  ASSERT_EQ(env.timers.size(), 1u);
  EXPECT_EQ(env.timers[0]->delay, 250ms);
  env.timers[0]->fn();
  EXPECT_EQ(env.closes, (std::vector<std::pair<bool, bool>>{{false, false}}));
}

TEST(ProxyKinds, TimeoutZeroHoldsForeverAndDetachingCancelsTheClose) {
  FakeEnv env;
  auto forever = make({{"type", "timeout"}})->attach(env);
  EXPECT_TRUE(forever->holds_data());
  EXPECT_TRUE(env.timers.empty());
  auto timed = make({{"type", "timeout"}, {"timeout_ms", 10}})->attach(env);
  timed.reset();
  EXPECT_TRUE(env.timers[0]->cancelled);
}

TEST(ProxyKinds, ResetPeerResetsTheDestinationsOfItsDirectionAfterItsTimeout) {
  FakeEnv env;
  auto toxic = make({{"type", "reset_peer"}, {"timeout_ms", 40}, {"direction", "downstream"}})->attach(env);
  EXPECT_FALSE(toxic->holds_data());
  ASSERT_EQ(env.timers.size(), 1u);
  EXPECT_EQ(env.timers[0]->delay, 40ms);
  env.timers[0]->fn();
  auto up = make({{"type", "reset_peer"}, {"direction", "upstream"}})->attach(env);
  env.timers[1]->fn();
  auto both = make({{"type", "reset_peer"}})->attach(env);
  env.timers[2]->fn();
  EXPECT_EQ(env.closes, (std::vector<std::pair<bool, bool>>{{true, false}, {false, true}, {true, true}}));
}

TEST(ProxyKinds, SlowCloseDelaysTheForwardedClose) {
  FakeEnv env;
  auto toxic = make({{"type", "slow_close"}, {"delay_ms", 300}})->attach(env);
  EXPECT_EQ(toxic->close_delay(), 300ms);
  std::string data = "unchanged";
  Chunk c = chunk_of(data, env.clock_.now());
  toxic->shape(c, env);
  EXPECT_EQ(c.pieces[0].size(), data.size());
  EXPECT_EQ(c.pieces[0].at, env.clock_.now());
}

TEST(ProxyKinds, DownActsOnTheProxyNotOnLinks) {
  FakeEnv env;
  EXPECT_EQ(make({{"type", "down"}})->attach(env), nullptr);
}

}  // namespace
}  // namespace chaos::proxy
