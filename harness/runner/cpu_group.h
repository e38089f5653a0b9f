// One CPU scheduling group for everything a harness run starts.
//
// Why: with autogroup scheduling (kernel.sched_autogroup_enabled=1, the default of Debian's kernels)
// the scheduler shares the CPU between sessions first, and every process that calls setsid() starts
// a session of its own. PostgreSQL's server processes all do (InitPostmasterChild), so each backend
// of a real-PostgreSQL scenario became a one-process scheduling group. Traced on a 2-core machine
// with both cores saturated by a CPU hog in another session, such backends waited up to 1.2 s to be
// run after data arrived on their socket (p99.9 310 ms); the gateway and the fault proxies, in the
// harness's session, waited at most 32 ms. A db health probe timed out, and the scenario failed for
// a reason no scenario injected. Inside a cpu cgroup autogroups do not apply, so the harness moves
// itself, and with it every process it starts, into a cgroup of its own: the backends then wait at
// most 34 ms, like the rest (docs/RELIABILITY.md, "Session 10").
//
// Nothing is done where it is not needed (autogroup off, or already in a cpu cgroup) or not possible
// (no cpu controller mounted, no permission): the plan says why, and the run goes on as before.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace chaos::runner {

// What the machine says, read from /proc and the cgroup filesystem (gathered by read_cpu_group_facts,
// or written by hand in tests).
struct CpuGroupFacts {
  std::optional<std::string> autogroup_enabled;  // /proc/sys/kernel/sched_autogroup_enabled; none: no such file
  std::string self_cgroup;                        // /proc/self/cgroup
  std::string mountinfo;                          // /proc/self/mountinfo
  // cgroup v2 only: cgroup.controllers of our own cgroup, and cgroup.subtree_control of the root.
  std::string v2_own_controllers;
  std::string v2_root_subtree_control;
};

struct CpuGroupPlan {
  bool join = false;
  bool v2 = false;
  std::string mount;        // the cpu hierarchy's mount point
  std::string from;         // our cgroup's path inside it ("/" for the root)
  std::string why;          // one line: what will be done, or why nothing is
};

// Pure: decides from the facts. The group itself is <mount>/chaos-harness-<pid>.
CpuGroupPlan plan_cpu_group(const CpuGroupFacts& facts);

CpuGroupFacts read_cpu_group_facts();

// Joins the plan's group for the life of the object and leaves it (and removes it) on destruction.
class CpuGroup {
 public:
  CpuGroup() = default;
  ~CpuGroup() { leave(); }
  CpuGroup(const CpuGroup&) = delete;
  CpuGroup& operator=(const CpuGroup&) = delete;

  // Moves this process (all its threads) into a new cgroup. False, with *why set, if it could not;
  // the process is then where it was. Groups left behind by harness runs that died (SIGKILL) are
  // removed first when they are empty.
  bool join(const CpuGroupPlan& plan, std::string* why);
  // Moves this process back and removes the group. Safe to call twice. False, with *why, if the group
  // could not be removed (a process is still in it); it is then left for the next run's sweep.
  bool leave(std::string* why = nullptr);

  bool joined() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;       // empty: not joined
  std::string back_to_;   // the cgroup.procs file of where we came from
};

}  // namespace chaos::runner
