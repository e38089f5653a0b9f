// End to end: the real `gateway` binary against a real redis-server on loopback. Checks the ready
// line, /item, /health, /metrics, the event stream on stdout, healing after the cache comes back,
// clean SIGTERM and the exit code of a bad configuration. Every wait is a poll with a deadline.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "sanitizer_scale.h"

namespace chaos::gateway {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ChildProcess;
using namespace std::chrono_literals;

const char* kRedis = "/usr/bin/redis-server";

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

bool poll_until(std::chrono::milliseconds timeout, const std::function<bool()>& cond) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);  // poll interval, not a guess: the deadline decides
  }
  return cond();
}

class GatewayIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kRedis)) GTEST_SKIP() << "redis-server is not installed";
    char tmpl[] = "/tmp/gateway-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    start_redis();
  }
  void TearDown() override {
    gateway_.reset();
    redis_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // The port was free when picked, but until redis binds it (and, on a restart, for as long as redis
  // was down) another process may take it, if only as a connection's local port. So a redis that exits
  // instead of listening is started again: on a new port the first time (nobody was told the old one),
  // on the same port on a restart (the gateway was), after a short pause. Bounded by 10 attempts.
  void start_redis() {
    const bool restart = redis_port_ != 0;
    std::string last_error;
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (!restart) redis_port_ = free_port();
      redis_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{kRedis, "--port", std::to_string(redis_port_), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", dir_},
          dir_ + "/redis.err");
      ASSERT_TRUE(redis_->started());
      bool exited = false;
      bool up = poll_until(5s, [&] {
        if (redis_->wait_exit(0ms)) {
          exited = true;
          return true;
        }
        return accepting(redis_port_);
      });
      if (up && !exited) return;
      ASSERT_TRUE(exited) << "redis-server did not listen on " << redis_port_ << " within 5 s";
      std::ifstream err(dir_ + "/redis.err");
      last_error.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
      std::this_thread::sleep_for(100ms);  // a pause between attempts, not a wait for a condition
    }
    FAIL() << "redis-server exited at each of 10 starts on port " << redis_port_ << "; last output:\n" << last_error;
  }

  static bool accepting(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
  }

  // Starts the gateway and reads its ready line.
  void start_gateway(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {std::string(CHAOS_BIN_DIR) + "/gateway", "--port", "0", "--cache",
                                     "127.0.0.1:" + std::to_string(redis_port_), "--seed", "7"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    gateway_ = std::make_unique<ChildProcess>(argv, dir_ + "/gateway.err");
    ASSERT_TRUE(gateway_->started());
    auto line = gateway_->read_line(5s);
    ASSERT_TRUE(line) << "no ready line within 5 s";
    json ready = json::parse(*line);
    ASSERT_EQ(ready["event"], "ready");
    ASSERT_EQ(ready["service"], "gateway");
    ASSERT_EQ(ready["pid"], gateway_->pid());
    port_ = ready["port"];
    ASSERT_GT(port_, 0);
  }

  // Reads events until `pred` matches one (every line must be an event), or the timeout.
  std::optional<json> wait_event(std::chrono::milliseconds timeout, const std::function<bool(const json&)>& pred) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = gateway_->read_line(left);
      if (!line) return std::nullopt;
      json e = json::parse(*line, nullptr, false);
      EXPECT_TRUE(e.is_object() && e.contains("type") && e["type"].is_string() && e["ts_us"].is_number_integer())
          << "stdout carries only events after the ready line, got: " << *line;
      if (e.is_object() && pred(e)) return e;
    }
  }

  httplib::Result get(const std::string& path) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(2, 0);
    return c.Get(path.c_str());
  }

  std::string dir_;
  int redis_port_ = 0;
  int port_ = 0;
  std::unique_ptr<ChildProcess> redis_;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(GatewayIntegration, ServesItemsHealthMetricsAndEvents) {
  start_gateway();
  auto item = get("/item/5");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->status, 200);
  EXPECT_EQ(item->get_header_value("X-Served-By"), "primary");
  json b = json::parse(item->body);
  EXPECT_EQ(b["id"], "5");
  EXPECT_EQ(b["value"], "value-5");
  EXPECT_EQ(b["served_by"], "primary");

  EXPECT_EQ(get("/item/x'y")->status, 400);

  ASSERT_TRUE(poll_until(3s, [&] {
    auto h = get("/health");
    return h && h->status == 200 && json::parse(h->body)["overall_status"] == "HEALTHY";
  }));
  json health = json::parse(get("/health")->body);
  EXPECT_EQ(health["system_state"], "RUNNING");
  EXPECT_EQ(health["health_score"], 100);
  EXPECT_EQ(health["components"]["cache"]["status"], "HEALTHY");
  EXPECT_EQ(health["components"]["cache"]["breaker_state"], "CLOSED");
  EXPECT_FALSE(health["components"].contains("db")) << "a dependency without a flag is not used";

  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("gateway_breaker_state{name=\"cache\"} 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("gateway_requests_total{route=\"/item\",code=\"200\",served_by=\"primary\"}"),
            std::string::npos);

  // One pass over the stream: the request events may come before or after the first health check.
  std::optional<json> check, req;
  wait_event(3s, [&](const json& e) {
    if (!check && e["type"] == "health.check" && e["name"] == "cache") check = e;
    if (!req && e["type"] == "request" && e["status"] == 200) req = e;
    return check && req;
  });
  ASSERT_TRUE(check) << "no health.check event for cache on stdout";
  EXPECT_EQ((*check)["service"], "gateway");
  EXPECT_TRUE(req) << "no request event for the served items on stdout";
}

TEST_F(GatewayIntegration, CacheOutageFallsBackAndHealingReconnectsWhenItReturns) {
  start_gateway();
  ASSERT_EQ(get("/item/3")->status, 200);
  redis_->kill_and_reap();
  // With the cache gone the built-in table still answers, marked as a fallback.
  auto r = get("/item/4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Served-By"), "fallback");
  auto failed = wait_event(3s, [](const json& e) {
    return e["type"] == "heal.attempt" && e["name"] == "cache" && e["outcome"] == "failure";
  });
  ASSERT_TRUE(failed) << "no failed heal attempt while the cache was down";
  start_redis();
  auto healed = wait_event(5s, [](const json& e) {
    return e["type"] == "heal.attempt" && e["name"] == "cache" && e["outcome"] == "success";
  });
  ASSERT_TRUE(healed) << "the cache was not healed after it came back";
  ASSERT_TRUE(poll_until(3s, [&] {
    auto x = get("/item/4");
    return x && x->get_header_value("X-Served-By") == "primary";
  }));
}

TEST_F(GatewayIntegration, SigtermExitsZeroWithinOneSecond) {
  start_gateway();
  ASSERT_EQ(get("/item/1")->status, 200);
  gateway_->signal(SIGTERM);
  // 1 s as written in Release; a sanitizer build gets chaos::testkit::kTimeScale times that (its
  // exit-time leak scan is not the gateway's shutdown).
  auto status = gateway_->wait_exit(chaos::testkit::scaled(1000ms));
  ASSERT_TRUE(status) << "still running " << chaos::testkit::scaled(1000ms).count() << " ms after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(GatewayIntegration, UnknownConfigKeyExitsTwoBeforeListening) {
  std::string cfg = dir_ + "/bad.json";
  std::ofstream(cfg) << R"({"cache": {"breaker": {"open_wait": 5}}})";
  ChildProcess p({std::string(CHAOS_BIN_DIR) + "/gateway", "--port", "0", "--config", cfg}, dir_ + "/bad.err");
  ASSERT_TRUE(p.started());
  EXPECT_FALSE(p.read_line(5s)) << "no ready line for a bad configuration";
  auto status = p.wait_exit(5s);
  ASSERT_TRUE(status);
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  std::ifstream err(dir_ + "/bad.err");
  std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cache.breaker.open_wait: unknown key"), std::string::npos) << text;
}

}  // namespace
}  // namespace chaos::gateway
