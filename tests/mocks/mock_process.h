// Launching a mock as a real child process, for the integration tests. The one place that starts
// processes, with Boost.Process (confined to mock_process.cc for compile time): argv vectors only (no
// shell), stderr captured to a file for diagnostics, the ready line read with a deadline by a reader
// thread (a child that never prints or dies cannot hang a test), and the child always killed and
// reaped by the destructor.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace chaos::mocks::testing {

class MockProcess {
 public:
  // Starts `argv` (argv[0] is a path) and waits up to `deadline` for the {"event":"ready"} line.
  // On failure `error()` says why (and includes the child's stderr).
  MockProcess(std::vector<std::string> argv, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  ~MockProcess();
  MockProcess(const MockProcess&) = delete;
  MockProcess& operator=(const MockProcess&) = delete;

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  const nlohmann::json& ready_line() const { return ready_line_; }
  int port() const { return ready_line_.value("port", 0); }
  int control_port() const { return ready_line_.value("control_port", 0); }
  pid_t pid() const { return pid_; }

  // The raw wait status once the child has exited (reaped), polling until `deadline`; nullopt if it
  // is still running then.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  void send_signal(int sig);
  // SIGTERM, then SIGKILL after `grace`; always reaps.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  std::string stderr_text() const;
  // What the child wrote to stdout after its ready line (the last 64 KiB), for diagnostics.
  std::string stdout_after_ready() const;

 private:
  struct Impl;  // the Boost.Process child and the stdout reader thread
  std::unique_ptr<Impl> impl_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  bool ready_ = false;
  std::string error_;
  nlohmann::json ready_line_;
  std::string log_path_;
};

// Runs a short helper command (argv, no shell) to completion with a deadline; returns its exit status
// (or -1 on timeout, after killing it) and its combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds deadline);

// Starts `argv` under an intermediate parent process (coreutils `timeout`, which forks and waits) and
// SIGKILLs that parent as soon as the child's ready line has arrived, leaving the child orphaned;
// returns the child's ready line (empty object on failure). For the "never outlives its parent"
// contract: a parent killed outright cannot forward anything, so only the child's own
// parent-death arrangement can end it.
nlohmann::json start_with_short_lived_parent(const std::vector<std::string>& argv, std::chrono::milliseconds deadline);

// True when `pid` no longer runs (gone, or a zombie waiting for its new parent to reap it).
bool process_gone(pid_t pid);

}  // namespace chaos::mocks::testing
