// fork/exec with a deadline for the report tests (see subprocess.h).
#include "subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace chaos::report::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string ProcessOutcome::describe() const {
  std::string s = !started ? "did not start" : timed_out ? "timed out and was killed"
                  : signal ? "killed by signal " + std::to_string(signal)
                           : "exited " + std::to_string(exit_code);
  std::string tail = err.size() > 2000 ? err.substr(err.size() - 2000) : err;
  return s + "; stderr: " + tail;
}

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

ProcessOutcome run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                           const std::string& stdin_text) {
  ProcessOutcome result;
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/chaos-report-proc-XXXXXX";
  if (!::mkdtemp(tmpl)) return result;
  const fs::path dir(tmpl);
  const std::string in_path = (dir / "stdin").string(), out_path = (dir / "stdout").string(),
                    err_path = (dir / "stderr").string();
  std::ofstream(in_path, std::ios::binary) << stdin_text;

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Own process group so a timeout kills chromium's helpers too; die with the test if it dies.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid < 0) {
    fs::remove_all(dir);
    return result;
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
  result.started = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child, not a timing guess
  }
  // Chromium leaves helper processes in the group briefly; make sure none outlives the test.
  ::kill(-pid, SIGKILL);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  fs::remove_all(dir);
  return result;
}

}  // namespace chaos::report::testing
