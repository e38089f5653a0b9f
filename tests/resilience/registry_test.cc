// Named instances are shared: every caller asking for "db" gets the same breaker.
#include "resilience/registry.h"

#include <gtest/gtest.h>

#include "resilience/circuit_breaker.h"
#include "resilience/retry.h"
#include "test_env.h"

namespace chaos::resilience {
namespace {

using testing::TestEnv;

TEST(RegistryTest, SameNameGivesTheSameInstanceAndFirstConfigWins) {
  TestEnv t;
  CircuitBreakerConfig defaults;
  defaults.minimum_calls = 7;
  Registry<CircuitBreaker, CircuitBreakerConfig> reg(t.env(), defaults);
  auto a = reg.get("db");
  CircuitBreakerConfig other;
  other.minimum_calls = 99;
  auto b = reg.get("db", other);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(b->config().minimum_calls, 7u);
  auto c = reg.get("cache", other);
  EXPECT_EQ(c->config().minimum_calls, 99u);
  EXPECT_EQ(reg.names(), (std::vector<std::string>{"cache", "db"}));
  EXPECT_EQ(reg.find("nope"), nullptr);
  EXPECT_TRUE(reg.remove("cache"));
  EXPECT_EQ(reg.find("cache"), nullptr);
}

TEST(RegistryTest, InstancesShareTheRegistrysEnvironment) {
  TestEnv t;
  Registry<Retry, RetryConfig> reg(t.env());
  auto r = reg.get("rpc");
  Duration d = Duration::zero();
  Error e = Error::server("503");
  EXPECT_EQ(r->on_failure(e, 1, true, nullptr, &d), Retry::Verdict::kRetry);
  auto ev = t.recorder->of_type("retry.attempt");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name, "rpc");
}

}  // namespace
}  // namespace chaos::resilience
