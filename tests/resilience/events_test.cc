// The event stream is a contract (docs/EVENTS.md): exact JSON shape, ordering, one flushed line each.
#include "resilience/events.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chaos::resilience {
namespace {

TEST(EventsTest, SerialisesTypeTimestampNameThenFieldsOnOneLine) {
  Event e;
  e.type = "breaker.state";
  e.ts_us = 81234567890;
  e.name = "db";
  e.fields = EventFields{{"from", "CLOSED"}, {"to", "OPEN"}, {"reason", "r"}, {"open_wait_ms", 1000.0}};
  EXPECT_EQ(to_json_line(e),
            R"({"type":"breaker.state","ts_us":81234567890,"name":"db","from":"CLOSED","to":"OPEN","reason":"r","open_wait_ms":1000.0})");
  EXPECT_EQ(to_json_line(e, "gateway").substr(0, 63),
            R"({"type":"breaker.state","ts_us":81234567890,"service":"gateway")");
}

TEST(EventsTest, InvalidUtf8InAMessageStillYieldsValidJson) {
  Event e;
  e.type = "health.check";
  e.ts_us = 1;
  e.fields = EventFields{{"message", std::string("bad \xff byte")}};
  auto parsed = nlohmann::json::parse(to_json_line(e));
  EXPECT_EQ(parsed["type"], "health.check");
}

TEST(EventsTest, PublisherStampsTheInjectedClockAndFansOut) {
  ManualClock clock;
  EventPublisher pub(clock);
  EXPECT_FALSE(pub.active());
  std::vector<std::string> a, b;
  auto ida = pub.subscribe([&](const Event& e) { a.push_back(e.type); });
  pub.subscribe([&](const Event& e) {
    b.push_back(e.type);
    EXPECT_EQ(e.ts_us, to_us(clock.now()));
  });
  EXPECT_TRUE(pub.active());
  pub.publish("retry.attempt", "db", {{"attempt", 1}});
  pub.unsubscribe(ida);
  pub.publish("retry.success", "db", {{"attempts", 2}});
  EXPECT_EQ(a, (std::vector<std::string>{"retry.attempt"}));
  EXPECT_EQ(b, (std::vector<std::string>{"retry.attempt", "retry.success"}));
}

TEST(EventsTest, ThrowingSubscriberDoesNotStopOthers) {
  ManualClock clock;
  EventPublisher pub(clock);
  int seen = 0;
  pub.subscribe([](const Event&) { throw std::runtime_error("bad subscriber"); });
  pub.subscribe([&](const Event&) { ++seen; });
  pub.publish("timeout", "db", {});
  EXPECT_EQ(seen, 1);
}

TEST(EventsTest, SinkWritesWholeLinesFromConcurrentThreads) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ManualClock clock;
  EventPublisher pub(clock, "svc");
  JsonLinesSink::attach(pub, f);
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        pub.publish("breaker.call", "dep" + std::to_string(t),
                    {{"outcome", "success"}, {"duration_us", i}});
    });
  }
  for (auto& th : threads) th.join();
  std::rewind(f);
  std::string all;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
  std::fclose(f);
  std::istringstream in(all);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);  // throws (fails the test) on an interleaved line
    EXPECT_EQ(j["type"], "breaker.call");
    EXPECT_EQ(j["service"], "svc");
    ++lines;
  }
  EXPECT_EQ(lines, kThreads * kEach);
}

}  // namespace
}  // namespace chaos::resilience

namespace chaos::resilience {
namespace {

TEST(EventsTest, FdSinkWritesOneLinePerEvent) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    ManualClock clock;
    EventPublisher pub(clock);
    auto sink = std::make_shared<JsonLinesSink>(fds[1], "gw");
    pub.subscribe([sink](const Event& e) { (*sink)(e); });
    pub.publish("degraded.shed", "db", EventFields::object());
    pub.publish("timeout", "db", {{"op", "read"}, {"limit_ms", 5.0}});
  }
  ::close(fds[1]);
  std::string all;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(all,
            "{\"type\":\"degraded.shed\",\"ts_us\":1000000000,\"service\":\"gw\",\"name\":\"db\"}\n"
            "{\"type\":\"timeout\",\"ts_us\":1000000000,\"service\":\"gw\",\"name\":\"db\",\"op\":\"read\",\"limit_ms\":5.0}\n");
}

}  // namespace
}  // namespace chaos::resilience
