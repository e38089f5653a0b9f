// Child processes of one scenario. Every process the harness starts goes through here, so the rules
// live in one place: argv vectors (never a shell), stdin from /dev/null, no inherited descriptors,
// one process group per scenario, a parent-death signal so nothing outlives the harness, stdout lines
// handed to the caller live (ready lines, the event stream) and every byte of output kept in a log file.
// Boost.Process is confined to process.cc so few files pay for its compile time.
#pragma once

#include "common/clock.h"

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chaos::runner {

struct LaunchSpec {
  std::string name;                          // service id, for logs and messages
  std::vector<std::string> argv;             // argv[0] is a path or a name looked up on PATH
  std::map<std::string, std::string> env;    // added to (or overriding) the harness's environment
  std::string log_path;                      // stdout + stderr of the process end up here
  std::string work_dir;                      // "" = the harness's working directory
  // Run as this user (needs root): PostgreSQL refuses to run as root. The parent-death signal is set
  // after the switch, because changing credentials clears it.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // Sent to this process alone before the group's SIGTERM at shutdown (e.g. SIGINT, PostgreSQL's fast
  // shutdown, since its SIGTERM waits for clients). SIGTERM: nothing extra.
  int stop_signal = 15;
};

// Called from a reader thread for each stdout line (without the newline), with the time it was read.
using LineHandler = std::function<void(std::string_view line, TimePoint received)>;

struct ExitStatus {
  std::optional<int> exit_code;  // set when it exited normally
  std::optional<int> signal;     // set when a signal killed it
  std::string describe() const;  // "exit code 3" / "killed by signal 9 (Killed)"
};

class Process {
 public:
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Reaps the process if it has exited (non-blocking). Returns its status once it has.
  std::optional<ExitStatus> poll();
  bool running() { return !poll().has_value(); }
  // The last `n` lines of its log file.
  std::vector<std::string> log_tail(size_t n) const;

 private:
  friend class ProcessGroup;
  Process() = default;
  struct Reader;
  std::string name_;
  pid_t pid_ = -1;
  std::string log_path_;
  int stop_signal_ = 15;
  std::mutex mu_;
  std::optional<ExitStatus> status_;
  std::unique_ptr<Reader> reader_;
  void join_reader();
};

// One process group holding every process of a scenario; destroying it kills and reaps them all.
// The group's leader is a placeholder forked at the first launch (not the first service, which may
// exit early, e.g. initdb), so every later launch still joins the same group; a child that cannot
// join does not run.
class ProcessGroup {
 public:
  ProcessGroup();
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Starts a process. On failure returns nullptr and sets `error` (names the program and the cause).
  Process* launch(const LaunchSpec& spec, LineHandler on_stdout_line, std::string* error);

  // SIGTERM to the whole group, then SIGKILL after `grace`; reaps everything, descendants included.
  void terminate_all(Duration grace = std::chrono::milliseconds(1000));

  // Process group id, or -1 before the first launch.
  pid_t pgid() const { return pgid_; }
  std::vector<Process*> processes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  pid_t pgid_ = -1;
  std::vector<std::unique_ptr<Process>> processes_;
  std::mutex mu_;
};

// Resolves argv[0]: a path containing '/' must exist and be executable; a bare name is looked up on
// PATH. Returns the absolute path or sets `error` ("binary not found" / "not executable").
std::optional<std::string> resolve_executable(const std::string& program, std::string* error);

// Makes this process a subreaper, so descendants that lose their parent are reparented to the harness
// and can be reaped, never left as zombies. Call once at start-up.
void become_subreaper();

// Number of live processes (not zombies) in process group `pgid`, read from /proc. For tests and the
// interruption check: after terminate_all this must be 0.
int count_live_processes_in_group(pid_t pgid);

}  // namespace chaos::runner
