#include "common/clock.h"
#include "common/random.h"

#include <gtest/gtest.h>

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  chaos::ManualClock clock;
  auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.now() - t0, std::chrono::milliseconds(250));
}

TEST(SteadyClockTest, NeverGoesBackwards) {
  auto& clock = chaos::SteadyClock::instance();
  auto a = clock.now();
  auto b = clock.now();
  EXPECT_LE(a, b);
}

TEST(SeededRandomTest, SameSeedGivesSameSequence) {
  chaos::SeededRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 16; ++i) {
    double x = a.uniform();
    EXPECT_EQ(x, b.uniform());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    if (x != c.uniform()) differs = true;
  }
  EXPECT_TRUE(differs);
}
