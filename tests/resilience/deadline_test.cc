// Deadlines only ever shrink on the way down the call tree.
#include "resilience/deadline.h"

#include <gtest/gtest.h>

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;

TEST(DeadlineTest, ChildNeverOutlivesItsParent) {
  ManualClock clock;
  Deadline parent = Deadline::after(clock, 1s);
  Deadline child = parent.child(3s);
  EXPECT_EQ(child.when(), parent.when());
  EXPECT_EQ(child.remaining(), 1s);
  Deadline shorter = parent.child(200ms);
  EXPECT_EQ(shorter.remaining(), 200ms);
  clock.advance(700ms);
  Deadline grandchild = parent.child(500ms);  // only 300 ms left upstream
  EXPECT_EQ(grandchild.remaining(), 300ms);
  EXPECT_TRUE(shorter.expired());
  EXPECT_FALSE(parent.expired());
}

TEST(DeadlineTest, ZeroTimeoutInheritsTheParent) {
  ManualClock clock;
  Deadline parent = Deadline::after(clock, 1s);
  EXPECT_EQ(parent.child(Duration::zero()).when(), parent.when());
}

TEST(DeadlineTest, BudgetForAnOperationIsTheSmallerLimitAndNamesIt) {
  ManualClock clock;
  TimeoutConfig t;
  t.connect = 100ms;
  t.read = 2s;
  Deadline d = Deadline::after(clock, 1s);
  EXPECT_EQ(d.budget_for(t.connect), 100ms);
  EXPECT_EQ(d.binding(TimeoutOp::kConnect, t.connect), TimeoutOp::kConnect);
  EXPECT_EQ(d.budget_for(t.read), 1s);
  EXPECT_EQ(d.binding(TimeoutOp::kRead, t.read), TimeoutOp::kDeadline);
  clock.advance(2s);
  EXPECT_EQ(d.budget_for(t.connect), Duration::zero());
  EXPECT_TRUE(d.expired());
}

TEST(DeadlineTest, InfiniteDeadlineNeverExpires) {
  ManualClock clock;
  Deadline d = Deadline::infinite(clock);
  clock.advance(24h);
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.remaining(), Duration::max());
  EXPECT_EQ(d.child(5s).remaining(), 5s);
}

}  // namespace
}  // namespace chaos::resilience
