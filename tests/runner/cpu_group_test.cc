#include "runner/cpu_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using chaos::runner::CpuGroup;
using chaos::runner::CpuGroupFacts;
using chaos::runner::CpuGroupPlan;
using chaos::runner::plan_cpu_group;

namespace {

// Mount lines as this project's CI machines (cgroup v1 cpu + a v2 "unified" mount) and a systemd
// machine with cgroup v2 only write them.
const std::string kV1Mounts =
    "35 25 0:30 / /sys/fs/cgroup/cpu rw,relatime shared:11 - cgroup cgroup rw,cpu\n"
    "36 25 0:31 / /sys/fs/cgroup/cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpuacct\n"
    "43 25 0:38 / /sys/fs/cgroup/unified rw,relatime shared:19 - cgroup2 cgroup2 rw\n";
const std::string kV2Mounts = "30 24 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
                              "rw,nsdelegate,memory_recursiveprot\n";

CpuGroupFacts v1_at(const std::string& cpu_path) {
  CpuGroupFacts f;
  f.autogroup_enabled = "1\n";
  f.self_cgroup = "9:name=systemd:/\n2:cpuacct:/\n1:cpu:" + cpu_path + "\n0::/\n";
  f.mountinfo = kV1Mounts;
  return f;
}

CpuGroupFacts v2_at(const std::string& path, const std::string& own, const std::string& root_subtree) {
  CpuGroupFacts f;
  f.autogroup_enabled = "1\n";
  f.self_cgroup = "0::" + path + "\n";
  f.mountinfo = kV2Mounts;
  f.v2_own_controllers = own;
  f.v2_root_subtree_control = root_subtree;
  return f;
}

TEST(CpuGroupPlan, NothingToDoWithoutAutogroupScheduling) {
  CpuGroupFacts f = v1_at("/");
  f.autogroup_enabled.reset();
  EXPECT_FALSE(plan_cpu_group(f).join);
  f.autogroup_enabled = "0\n";
  CpuGroupPlan p = plan_cpu_group(f);
  EXPECT_FALSE(p.join);
  EXPECT_NE(p.why.find("sched_autogroup_enabled=0"), std::string::npos) << p.why;
}

TEST(CpuGroupPlan, CgroupV1AtTheRootJoinsAGroupUnderTheCpuMount) {
  CpuGroupPlan p = plan_cpu_group(v1_at("/"));
  EXPECT_TRUE(p.join);
  EXPECT_FALSE(p.v2);
  EXPECT_EQ(p.mount, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(p.from, "/");
}

TEST(CpuGroupPlan, CgroupV1CombinedCpuControllerIsFound) {
  CpuGroupFacts f = v1_at("/");
  f.self_cgroup = "4:cpu,cpuacct:/\n";
  f.mountinfo = "35 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n";
  CpuGroupPlan p = plan_cpu_group(f);
  EXPECT_TRUE(p.join);
  EXPECT_EQ(p.mount, "/sys/fs/cgroup/cpu,cpuacct");
}

TEST(CpuGroupPlan, AlreadyInANonRootCpuCgroupLeavesThingsAlone) {
  CpuGroupPlan p = plan_cpu_group(v1_at("/ci.slice/job-7"));
  EXPECT_FALSE(p.join);
  EXPECT_NE(p.why.find("/ci.slice/job-7"), std::string::npos) << p.why;
}

TEST(CpuGroupPlan, CgroupV1WithoutACpuMountCannotJoin) {
  CpuGroupFacts f = v1_at("/");
  f.mountinfo = "36 25 0:31 / /sys/fs/cgroup/cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpuacct\n";
  CpuGroupPlan p = plan_cpu_group(f);
  EXPECT_FALSE(p.join);
  EXPECT_NE(p.why.find("not mounted"), std::string::npos) << p.why;
}

TEST(CpuGroupPlan, CgroupV2JoinsUnderTheRootWhenItDelegatesCpu) {
  CpuGroupPlan p = plan_cpu_group(v2_at("/user.slice/session-3.scope", "memory pids\n", "cpuset cpu io memory pids\n"));
  EXPECT_TRUE(p.join);
  EXPECT_TRUE(p.v2);
  EXPECT_EQ(p.mount, "/sys/fs/cgroup");
  EXPECT_EQ(p.from, "/user.slice/session-3.scope");
}

TEST(CpuGroupPlan, CgroupV2AlreadyUnderTheCpuControllerOrWithoutItCannotJoin) {
  CpuGroupPlan inside = plan_cpu_group(v2_at("/system.slice/ci.service", "cpu memory pids\n", "cpu memory\n"));
  EXPECT_FALSE(inside.join);
  EXPECT_NE(inside.why.find("already"), std::string::npos) << inside.why;
  CpuGroupPlan no_cpu = plan_cpu_group(v2_at("/user.slice", "memory\n", "memory pids\n"));
  EXPECT_FALSE(no_cpu.join);
  EXPECT_NE(no_cpu.why.find("does not enable the cpu controller"), std::string::npos) << no_cpu.why;
  // "cpuset" is not "cpu".
  EXPECT_FALSE(plan_cpu_group(v2_at("/", "", "cpuset memory\n")).join);
}

std::string cgroup_line_of(pid_t pid, bool v2) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    std::string controllers = line.substr(a + 1, b - a - 1);
    if (v2 ? line.rfind("0::", 0) == 0 : ("," + controllers + ",").find(",cpu,") != std::string::npos)
      return line.substr(b + 1);
  }
  return "";
}

// A child that starts a session of its own, as PostgreSQL's backends do, and waits to be killed.
pid_t spawn_session_leader() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    for (;;) ::pause();
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

// On the machine the tests run on: either the plan joins and every child, even one that starts its
// own session, lands in the group, or the plan says why not and join() refuses with that reason.
TEST(CpuGroupOnThisMachine, ChildrenStartedAfterJoiningAreInTheGroupEvenInANewSession) {
  CpuGroupPlan plan = plan_cpu_group(chaos::runner::read_cpu_group_facts());
  CpuGroup group;
  std::string why;
  if (!plan.join) {
    EXPECT_FALSE(group.join(plan, &why));
    EXPECT_EQ(why, plan.why);
    EXPECT_FALSE(group.joined());
    return;
  }
  const std::string before = cgroup_line_of(::getpid(), plan.v2);
  ASSERT_TRUE(group.join(plan, &why)) << why;
  const std::string name = fs::path(group.dir()).filename().string();
  EXPECT_EQ(name, "chaos-harness-" + std::to_string(::getpid()));
  EXPECT_EQ(cgroup_line_of(::getpid(), plan.v2), "/" + name);
  pid_t child = spawn_session_leader();
  ASSERT_GT(child, 0);
  // The child's session is its own, its cgroup is ours: what makes the scheduler group them.
  for (int i = 0; i < 2000 && ::getsid(child) != child; ++i) ::usleep(1000);
  EXPECT_EQ(::getsid(child), child);
  EXPECT_EQ(cgroup_line_of(child, plan.v2), "/" + name);
  kill_and_reap(child);
  ASSERT_TRUE(group.leave(&why)) << why;
  EXPECT_FALSE(fs::exists(fs::path(plan.mount) / name));
  EXPECT_EQ(cgroup_line_of(::getpid(), plan.v2), before);
  EXPECT_TRUE(group.leave(&why));  // twice is harmless
}

TEST(CpuGroupOnThisMachine, AGroupStillHoldingAProcessIsKeptAndSaysSo) {
  CpuGroupPlan plan = plan_cpu_group(chaos::runner::read_cpu_group_facts());
  if (!plan.join) {
    CpuGroup group;
    EXPECT_TRUE(group.leave());  // nothing joined, nothing to remove
    return;
  }
  CpuGroup group;
  std::string why;
  ASSERT_TRUE(group.join(plan, &why)) << why;
  const std::string dir = group.dir();
  pid_t child = spawn_session_leader();
  ASSERT_GT(child, 0);
  EXPECT_FALSE(group.leave(&why));
  EXPECT_NE(why.find("cannot remove " + dir), std::string::npos) << why;
  EXPECT_TRUE(fs::exists(dir));
  EXPECT_NE(cgroup_line_of(::getpid(), plan.v2), "/" + fs::path(dir).filename().string());
  kill_and_reap(child);
  // Emptied now; a group named after a live process (ours) is never swept, so remove it here.
  for (int i = 0; i < 2000 && ::rmdir(dir.c_str()) != 0; ++i) ::usleep(1000);
  EXPECT_FALSE(fs::exists(dir));
}

TEST(CpuGroupOnThisMachine, AnEmptyGroupLeftByADeadRunIsSweptAndALiveRunsIsNot) {
  CpuGroupPlan plan = plan_cpu_group(chaos::runner::read_cpu_group_facts());
  if (!plan.join) {
    CpuGroup group;
    std::string why;
    EXPECT_FALSE(group.join(plan, &why));
    return;
  }
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  int st = 0;
  ::waitpid(dead, &st, 0);
  const fs::path stale = fs::path(plan.mount) / ("chaos-harness-" + std::to_string(dead));
  const fs::path live = fs::path(plan.mount) / ("chaos-harness-" + std::to_string(::getppid()));
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0) << stale;
  bool made_live = ::mkdir(live.c_str(), 0755) == 0;  // our parent's name: alive for the whole test
  CpuGroup group;
  std::string why;
  ASSERT_TRUE(group.join(plan, &why)) << why;
  EXPECT_FALSE(fs::exists(stale));
  if (made_live) {
    EXPECT_TRUE(fs::exists(live));
    ::rmdir(live.c_str());
  }
  EXPECT_TRUE(group.leave(&why)) << why;
}

}  // namespace
