#include "runner/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using chaos::runner::LaunchSpec;
using chaos::runner::ProcessGroup;

namespace {

const std::string kChild = std::string(CHAOS_BIN_DIR) + "/runner_test_child";

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chaos-proc-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  LaunchSpec spec(std::vector<std::string> args) {
    LaunchSpec s;
    s.name = "child";
    s.argv = {kChild};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.log_path = (dir_ / "child.log").string();
    return s;
  }
  // Polls `cond` until it holds or `limit` passes.
  template <class F>
  bool eventually(F cond, std::chrono::milliseconds limit = 3000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return cond();
  }
  fs::path dir_;
};

TEST_F(ProcessTest, DeliversStdoutLinesAndKeepsBothStreamsInTheLog) {
  ProcessGroup group;
  std::mutex mu;
  std::vector<std::string> lines;
  std::string error;
  auto* p = group.launch(spec({"print", "hello", "stderr", "oops", "print", "world"}),
                         [&](std::string_view l, chaos::TimePoint) {
                           std::lock_guard<std::mutex> lock(mu);
                           lines.emplace_back(l);
                         },
                         &error);
  ASSERT_NE(p, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return !p->running(); }));
  group.terminate_all();
  EXPECT_EQ(lines, (std::vector<std::string>{"hello", "world"}));
  auto tail = p->log_tail(10);
  EXPECT_NE(std::find(tail.begin(), tail.end(), "oops"), tail.end());
  EXPECT_NE(std::find(tail.begin(), tail.end(), "hello"), tail.end());
  EXPECT_EQ(p->poll()->exit_code, 0);
}

TEST_F(ProcessTest, ReportsExitCodeAndSignalDistinctly) {
  ProcessGroup group;
  std::string error;
  auto* a = group.launch(spec({"exit", "15"}), nullptr, &error);
  ASSERT_NE(a, nullptr) << error;
  auto* b = group.launch(spec({"wait-forever"}), nullptr, &error);
  ASSERT_NE(b, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return !a->running(); }));
  ::kill(b->pid(), SIGTERM);
  ASSERT_TRUE(eventually([&] { return !b->running(); }));
  EXPECT_EQ(a->poll()->exit_code, 15);
  EXPECT_FALSE(a->poll()->signal.has_value());
  EXPECT_EQ(b->poll()->signal, SIGTERM);
  EXPECT_FALSE(b->poll()->exit_code.has_value());
  EXPECT_EQ(b->poll()->describe(), "killed by signal 15 (Terminated)");
}

TEST_F(ProcessTest, TerminateAllKillsEveryMemberAndDescendantEvenIfTheyIgnoreSigterm) {
  chaos::runner::become_subreaper();
  ProcessGroup group;
  std::string error;
  ASSERT_NE(group.launch(spec({"fork-sleep", "60000", "wait-forever"}), nullptr, &error), nullptr) << error;
  ASSERT_NE(group.launch(spec({"ignore-term", "wait-forever"}), nullptr, &error), nullptr) << error;
  pid_t pgid = group.pgid();
  ASSERT_GT(pgid, 0);
  // The two members, the sleeper one of them forked, and the group's anchor.
  ASSERT_TRUE(eventually([&] { return chaos::runner::count_live_processes_in_group(pgid) == 4; }))
      << chaos::runner::count_live_processes_in_group(pgid);
  auto t0 = std::chrono::steady_clock::now();
  group.terminate_all(300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(chaos::runner::count_live_processes_in_group(pgid), 0);
  EXPECT_LT(took, 2500ms) << "SIGKILL must follow the grace period promptly";
  for (auto* p : group.processes()) EXPECT_FALSE(p->running());
}

// initdb is the first process of a real-PostgreSQL scenario and is gone before postgres starts: the
// group must outlive its first member, or later members land outside it and a group kill misses them.
TEST_F(ProcessTest, MembersLaunchedAfterTheFirstHasExitedStillJoinTheGroup) {
  chaos::runner::become_subreaper();
  ProcessGroup group;
  std::string error;
  auto* first = group.launch(spec({"exit", "0"}), nullptr, &error);
  ASSERT_NE(first, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return !first->running(); }));  // exited and reaped
  const pid_t pgid = group.pgid();
  ASSERT_GT(pgid, 0);
  EXPECT_NE(pgid, first->pid()) << "the first member must not be the group's leader";
  auto* later = group.launch(spec({"ignore-term", "wait-forever"}), nullptr, &error);
  ASSERT_NE(later, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return ::getpgid(later->pid()) == pgid; }))
      << "later member is in group " << ::getpgid(later->pid()) << ", expected " << pgid;
  EXPECT_NE(::getpgid(later->pid()), ::getpgrp()) << "a member must never stay in the harness's group";
  group.terminate_all(300ms);
  EXPECT_FALSE(later->running());
  EXPECT_EQ(chaos::runner::count_live_processes_in_group(pgid), 0);
}

TEST_F(ProcessTest, MissingBinaryIsAClearErrorAndStartsNothing) {
  ProcessGroup group;
  std::string error;
  LaunchSpec s = spec({});
  s.argv = {"/nonexistent/chaos-binary"};
  EXPECT_EQ(group.launch(s, nullptr, &error), nullptr);
  EXPECT_EQ(error, "binary not found: /nonexistent/chaos-binary");
  EXPECT_TRUE(group.processes().empty());
}

TEST_F(ProcessTest, NonExecutableFileIsAClearError) {
  ProcessGroup group;
  auto f = dir_ / "not-exec";
  { std::ofstream(f) << "x"; }
  fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
  std::string error;
  LaunchSpec s = spec({});
  s.argv = {f.string()};
  EXPECT_EQ(group.launch(s, nullptr, &error), nullptr);
  EXPECT_NE(error.find("is not executable"), std::string::npos) << error;
}

TEST_F(ProcessTest, ChildrenDoNotInheritEachOthersPipes) {
  // If the second child inherited the first one's stdout pipe, the first one's reader would never
  // see EOF while the second lives.
  ProcessGroup group;
  std::string error;
  std::atomic<int> lines{0};
  auto* first = group.launch(spec({"print", "one"}), [&](std::string_view, chaos::TimePoint) { ++lines; }, &error);
  ASSERT_NE(first, nullptr);
  std::mutex mu;
  std::vector<std::string> second_lines;
  ASSERT_NE(group.launch(spec({"list-fds", "wait-forever"}),
                         [&](std::string_view l, chaos::TimePoint) {
                           std::lock_guard<std::mutex> lock(mu);
                           second_lines.emplace_back(l);
                         },
                         &error),
            nullptr);
  ASSERT_TRUE(eventually([&] { return !first->running(); }));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !second_lines.empty() && second_lines.back() == "fds done";
  }));
  std::vector<std::string> listed;
  {
    std::lock_guard<std::mutex> lock(mu);
    listed = second_lines;
  }
  // Only descriptors the harness could have leaked matter: pipes, sockets and the run's log files.
  // (A sanitizer runtime may hold its own file open; that is not an inherited descriptor.)
  for (const auto& l : listed) {
    if (l == "fds done") continue;
    EXPECT_EQ(l.find("pipe:"), std::string::npos) << "inherited pipe: " << l;
    EXPECT_EQ(l.find("socket:"), std::string::npos) << "inherited socket: " << l;
    EXPECT_EQ(l.find(dir_.string()), std::string::npos) << "inherited log file: " << l;
  }
  group.terminate_all();
  EXPECT_EQ(lines.load(), 1);
}

TEST_F(ProcessTest, EnvironmentOverridesReachTheChild) {
  ProcessGroup group;
  std::string error;
  LaunchSpec s = spec({});
  s.argv = {"/usr/bin/env"};
  s.env = {{"CHAOS_TEST_VALUE", "a b;c"}};
  std::mutex mu;
  std::vector<std::string> lines;
  auto* p = group.launch(s,
                         [&](std::string_view l, chaos::TimePoint) {
                           std::lock_guard<std::mutex> lock(mu);
                           lines.emplace_back(l);
                         },
                         &error);
  ASSERT_NE(p, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return !p->running(); }));
  group.terminate_all();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "CHAOS_TEST_VALUE=a b;c"), lines.end());
}

}  // namespace
