#include "runner/event_stream.h"
#include "runner/http_client.h"
#include "runner/workload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using chaos::expect::RequestOutcome;

TEST(EventStreamTest, EventWithTimestampIsPlacedRelativeToOrigin) {
  chaos::TimePoint origin(std::chrono::seconds(100));
  auto e = chaos::runner::parse_event_line(R"({"type":"breaker.state","ts_us":100250000,"name":"db","to":"OPEN"})",
                                           "sut", origin, origin + std::chrono::seconds(5));
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->t_ms, 250.0);
  EXPECT_EQ(e->type, "breaker.state");
  EXPECT_EQ(e->source, "sut");
  EXPECT_EQ(e->data["name"], "db");
}

TEST(EventStreamTest, EventWithoutTimestampIsStampedOnReceipt) {
  chaos::TimePoint origin(std::chrono::seconds(100));
  auto e = chaos::runner::parse_event_line(R"({"type":"heal.attempt"})", "sut", origin,
                                           origin + std::chrono::milliseconds(1500));
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->t_ms, 1500.0);
}

TEST(EventStreamTest, LogLinesAndMalformedJsonAreNotEvents) {
  chaos::TimePoint t;
  for (const char* line : {"listening on 8080", "{not json", "[1,2]", R"({"event":"ready"})", R"({"type":3})", ""})
    EXPECT_FALSE(chaos::runner::parse_event_line(line, "sut", t, t).has_value()) << line;
}

TEST(EventStreamTest, ReadyLineIsRecognisedOnlyWithEventReady) {
  EXPECT_TRUE(chaos::runner::parse_ready_line(R"({"event":"ready","port":1})").has_value());
  EXPECT_FALSE(chaos::runner::parse_ready_line(R"({"event":"started","port":1})").has_value());
  EXPECT_FALSE(chaos::runner::parse_ready_line("ready").has_value());
}

TEST(WorkloadTest, ResponsesAreClassifiedByStatusAndServedByHeader) {
  EXPECT_EQ(chaos::runner::classify_response(200, ""), RequestOutcome::kOk);
  EXPECT_EQ(chaos::runner::classify_response(200, "primary"), RequestOutcome::kOk);
  EXPECT_EQ(chaos::runner::classify_response(200, "fallback"), RequestOutcome::kFallback);
  EXPECT_EQ(chaos::runner::classify_response(200, "cache"), RequestOutcome::kFallback);
  EXPECT_EQ(chaos::runner::classify_response(503, "fallback"), RequestOutcome::kError);
  EXPECT_EQ(chaos::runner::classify_response(0, ""), RequestOutcome::kError);
}

TEST(WorkloadTest, RoutePickIsDeterministicAndFollowsWeights) {
  std::vector<chaos::runner::WorkloadRoute> mix = {{"GET", "/a", "", 3}, {"GET", "/b", "", 1}};
  int a = 0;
  for (uint64_t i = 0; i < 4000; ++i) {
    size_t r = chaos::runner::pick_route(mix, 7, i);
    EXPECT_EQ(r, chaos::runner::pick_route(mix, 7, i));
    if (r == 0) ++a;
  }
  EXPECT_NEAR(a / 4000.0, 0.75, 0.03);
}

TEST(HttpClientTest, UrlsAreParsedStrictly) {
  auto u = chaos::runner::parse_url("http://127.0.0.1:8080/health");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/health");
  EXPECT_EQ(chaos::runner::parse_url("http://127.0.0.1:8080")->path, "/");
  EXPECT_FALSE(chaos::runner::parse_url("https://127.0.0.1:8080/").has_value());
  EXPECT_FALSE(chaos::runner::parse_url("http://127.0.0.1:99999/").has_value());
  EXPECT_FALSE(chaos::runner::parse_url("127.0.0.1:80").has_value());
}

TEST(HttpClientTest, ConnectionRefusedIsATransportErrorNotACrash) {
  // Port 1 on loopback: nothing listens there for an unprivileged test.
  auto r = chaos::runner::http_request("GET", "http://127.0.0.1:1/", "", std::chrono::milliseconds(500));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

// ---------------------------------------------------------------------------------------------
// EventFileTailer: the SUT's events file, followed from before it exists to the scenario's end.
namespace {

class EventFileTailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("chaos-tailer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "events.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void append(const std::string& text) { std::ofstream(path_, std::ios::app | std::ios::binary) << text; }

  std::filesystem::path dir_;
  std::string path_;
};

using Lines = std::vector<std::string>;

TEST_F(EventFileTailerTest, FileThatDoesNotExistYetGivesNothingThenItsLinesOnceItAppears) {
  chaos::runner::EventFileTailer t(path_);
  EXPECT_TRUE(t.read_new_lines().empty());
  EXPECT_FALSE(t.seen_file());
  append("{\"type\":\"a\"}\n{\"type\":\"b\"}\n");
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"a"})", R"({"type":"b"})"}));
  EXPECT_TRUE(t.seen_file());
  EXPECT_TRUE(t.read_new_lines().empty()) << "lines already returned must not come again";
}

TEST_F(EventFileTailerTest, PartialLineWaitsForItsNewlineAndTheLastOneIsDrainedAtTheEnd) {
  chaos::runner::EventFileTailer t(path_);
  append("{\"type\":");
  EXPECT_TRUE(t.read_new_lines().empty());
  append("\"split\"}\r\n{\"type\":\"tail\"}");
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"split"})"}));
  EXPECT_EQ(t.take_partial_line(), R"({"type":"tail"})");
  EXPECT_EQ(t.take_partial_line(), "");
}

TEST_F(EventFileTailerTest, BytesLeftByAnEarlierRunAreSkippedButATruncatedFileIsReadFromItsStart) {
  append("{\"type\":\"stale\"}\n");
  auto [size, inode] = chaos::runner::EventFileTailer::current_end(path_);
  ASSERT_GT(size, 0u);
  chaos::runner::EventFileTailer t(path_, size, inode);
  append("{\"type\":\"fresh\"}\n");
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"fresh"})"}));
  std::ofstream(path_, std::ios::trunc) << "{\"type\":\"after-truncate\"}\n";
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"after-truncate"})"}));
}

TEST_F(EventFileTailerTest, ReplacedFileIsFollowedFromTheBeginningOfTheNewOne) {
  chaos::runner::EventFileTailer t(path_);
  append("{\"type\":\"old\"}\n");
  EXPECT_EQ(t.read_new_lines().size(), 1u);
  std::string next = path_ + ".new";
  std::ofstream(next) << "{\"type\":\"new\"}\n";
  std::filesystem::rename(next, path_);
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"new"})"}));
}

TEST_F(EventFileTailerTest, OverlongLineIsDroppedAndCountedWithoutLosingTheNextOne) {
  chaos::runner::EventFileTailer t(path_);
  append(std::string(chaos::runner::EventFileTailer::kMaxLineBytes + 10, 'x'));
  EXPECT_TRUE(t.read_new_lines().empty());
  append("still the same line\n{\"type\":\"next\"}\n");
  EXPECT_EQ(t.read_new_lines(), (Lines{R"({"type":"next"})"}));
  EXPECT_EQ(t.dropped_lines(), 1u);
}

}  // namespace
