// The libpq database client against mock-db (build/bin): every new connection answers one statement
// before it is handed out, and that first statement is bounded by the connect budget, not by the
// query limit. mock-db's /stats counts the statements it received and its latency fault, matched on
// the first statement's text alone, stands in for a freshly forked PostgreSQL backend that answers
// its first statement late.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "common/clock.h"
#include "gateway/real_clients.h"

namespace chaos::gateway {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ChildProcess;
using namespace std::chrono_literals;

class PgClientWithMockDb : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string bin = std::string(CHAOS_BIN_DIR) + "/mock-db";
    ASSERT_TRUE(fs::exists(bin)) << bin << " is not built";
    char tmpl[] = "/tmp/pg-client-mock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin, "--port", "0", "--control-port", "0", "--seed", "1"}, dir_ + "/mock-db.err");
    ASSERT_TRUE(mock_->started());
    auto line = mock_->read_line(5s);
    ASSERT_TRUE(line) << "mock-db printed no ready line";
    json ready = json::parse(*line);
    port_ = ready["port"];
    control_port_ = ready["control_port"];
  }
  void TearDown() override {
    mock_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::unique_ptr<DbClient> client(std::chrono::milliseconds timeout, std::chrono::milliseconds connect_timeout) {
    ClientSettings s;
    s.host = "127.0.0.1";
    s.port = port_;
    s.timeout = timeout;
    s.connect_timeout = connect_timeout;
    s.pool_size = 1;
    return make_postgres_db(s);
  }

  json stats() {
    httplib::Client c("127.0.0.1", control_port_);
    auto r = c.Get("/stats");
    if (!r || r->status != 200) return json::object();
    return json::parse(r->body);
  }

  void add_fault(const json& fault) {
    httplib::Client c("127.0.0.1", control_port_);
    auto r = c.Post("/faults", fault.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  Deadline after(std::chrono::milliseconds ms) { return Deadline::after(clock_, ms); }

  static constexpr const char* kFirstStatementGlob = "*first statement on a new connection*";
  SteadyClock clock_;
  std::string dir_;
  std::unique_ptr<ChildProcess> mock_;
  int port_ = 0;
  int control_port_ = 0;
};

TEST_F(PgClientWithMockDb, ANewConnectionAnswersOneStatementBeforeItIsUsedAndOnlyOnce) {
  auto db = client(200ms, 1000ms);
  auto r = db->query_value("SELECT 2", after(2s));
  ASSERT_TRUE(r.ok()) << resilience::describe(r.error());
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(*r.value(), "2");
  json s = stats();
  EXPECT_EQ(s["connections_accepted"], 1);
  EXPECT_EQ(s["requests_received"], 2) << "the first statement, then the query";

  ASSERT_TRUE(db->query_value("SELECT 3", after(2s)).ok());
  s = stats();
  EXPECT_EQ(s["connections_accepted"], 1) << "the pooled connection is reused";
  EXPECT_EQ(s["requests_received"], 3) << "a reused connection sends no first statement again";
}

TEST_F(PgClientWithMockDb, ASlowFirstAnswerWithinTheConnectBudgetIsNoTimeout) {
  // 300 ms is past the 200 ms query limit but within the 1 s connect budget.
  add_fault({{"type", "latency"}, {"latency_ms", 300}, {"match", kFirstStatementGlob}});
  auto db = client(200ms, 1000ms);
  auto start = std::chrono::steady_clock::now();
  auto r = db->query_value("SELECT 2", after(3s));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << resilience::describe(r.error());
  EXPECT_GE(took, 300ms) << "the delayed first statement was waited for";
  json s = stats();
  EXPECT_EQ(s["requests_failed_by_fault"]["latency"], 1) << "only the first statement was delayed";
  EXPECT_EQ(s["requests_served"], 2);
  EXPECT_EQ(s["connections_accepted"], 1);
}

TEST_F(PgClientWithMockDb, AFirstAnswerPastTheConnectBudgetFailsTheConnectAsATimeout) {
  add_fault({{"type", "latency"}, {"latency_ms", 1500}, {"match", kFirstStatementGlob}});
  auto db = client(200ms, 400ms);
  auto start = std::chrono::steady_clock::now();
  auto r = db->query_value("SELECT 2", after(3s));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category, resilience::ErrorCategory::kTimeout) << resilience::describe(r.error());
  EXPECT_NE(r.error().message.find("connect timeout after 400 ms"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("first statement on a new connection"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 390ms);
  EXPECT_LT(took, 1400ms) << "bounded by the connect budget, not by the fault's delay";
  // The first statement met the fault; the query itself was never sent.
  json s = stats();
  EXPECT_EQ(s["requests_failed_by_fault"]["latency"], 1);
  EXPECT_EQ(s["requests_received"], 1);
}

TEST_F(PgClientWithMockDb, AnErrorAnswerToTheFirstStatementStillCountsAsAWorkingConnection) {
  add_fault({{"type", "error"}, {"sqlstate", "XX000"}, {"match", kFirstStatementGlob}});
  auto db = client(200ms, 1000ms);
  auto r = db->query_value("SELECT 2", after(2s));
  ASSERT_TRUE(r.ok()) << resilience::describe(r.error());
  json s = stats();
  EXPECT_EQ(s["requests_failed_by_fault"]["error"], 1) << "the first statement was answered with an error";
  EXPECT_EQ(s["connections_accepted"], 1);
  EXPECT_EQ(s["requests_received"], 2);
}

}  // namespace
}  // namespace chaos::gateway
