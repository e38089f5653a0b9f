// fork/exec with pipes and deadlines. Only async-signal-safe calls between fork and exec.
#include "mock_process.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace chaos::mocks::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (auto& a : argv) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

// Child side: stdout -> out_fd, stderr -> err_fd, die with the parent (unless the test is about the
// child doing that itself), exec.
[[noreturn]] void exec_child(std::vector<char*>& argv, int out_fd, int err_fd, bool die_with_parent = true) {
  if (die_with_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  signal(SIGPIPE, SIG_DFL);
  execv(argv[0], argv.data());
  const char msg[] = "exec failed\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

MockProcess::MockProcess(std::vector<std::string> argv, std::chrono::milliseconds deadline) {
  char path[] = "/tmp/chaos-mock-stderr-XXXXXX";
  int err_fd = mkstemp(path);
  log_path_ = path;
  int pipefd[2];
  if (err_fd < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
    error_ = std::string("cannot create pipe/log file: ") + std::strerror(errno);
    if (err_fd >= 0) close(err_fd);
    return;
  }
  auto args = c_argv(argv);
  pid_ = fork();
  if (pid_ == 0) exec_child(args, pipefd[1], err_fd);
  close(pipefd[1]);
  close(err_fd);
  if (pid_ < 0) {
    error_ = std::string("fork failed: ") + std::strerror(errno);
    close(pipefd[0]);
    return;
  }
  std::string line;
  auto until = Clock::now() + deadline;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      error_ = "no ready line within " + std::to_string(deadline.count()) + " ms";
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[512];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) {
      error_ = "child closed stdout before the ready line";
      break;
    }
    line.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  if (error_.empty()) {
    line = line.substr(0, line.find('\n'));
    ready_line_ = nlohmann::json::parse(line, nullptr, false);
    if (ready_line_.is_discarded() || ready_line_.value("event", "") != "ready") {
      error_ = "first stdout line is not a ready event: " + line;
    } else {
      ready_ = true;
    }
  }
  if (!ready_) error_ += "; stderr:\n" + stderr_text();
}

MockProcess::~MockProcess() {
  stop(std::chrono::seconds(2));
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

std::optional<int> MockProcess::wait_exit(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return std::nullopt;
  if (reaped_) return status_;
  auto until = Clock::now() + deadline;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = st;
      return st;
    }
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void MockProcess::send_signal(int sig) {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

void MockProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || reaped_) return;
  kill(pid_, SIGTERM);
  if (wait_exit(grace)) return;
  kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(10));
}

std::string MockProcess::stderr_text() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CommandResult run_command(const std::vector<std::string>& argv_in, std::chrono::milliseconds deadline) {
  CommandResult result;
  std::vector<std::string> argv = argv_in;
  auto args = c_argv(argv);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) exec_child(args, pipefd[1], pipefd[1]);
  close(pipefd[1]);
  auto until = Clock::now() + deadline;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[512];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  if (timed_out) kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  result.exit_code = timed_out ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return result;
}

nlohmann::json start_with_short_lived_parent(const std::vector<std::string>& argv_in,
                                             std::chrono::milliseconds deadline) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return nlohmann::json::object();
  std::vector<std::string> argv = argv_in;
  auto args = c_argv(argv);
  pid_t mid = fork();
  if (mid == 0) {
    // The intermediate parent: start the mock, pass its ready line up, exit without reaping it.
    int out[2];
    if (pipe(out) != 0) _exit(1);
    int devnull = open("/dev/null", O_WRONLY);
    pid_t child = fork();
    if (child == 0) {
      close(out[0]);
      exec_child(args, out[1], devnull, /*die_with_parent=*/false);  // the mock must arrange it itself
    }
    close(out[1]);
    char buf[512];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) {
      ssize_t w = write(report[1], buf, static_cast<size_t>(n));
      (void)w;
      if (memchr(buf, '\n', static_cast<size_t>(n))) break;
    }
    _exit(0);
  }
  close(report[1]);
  std::string line;
  auto until = Clock::now() + deadline;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{report[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[512];
    ssize_t n = read(report[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(report[0]);
  int st = 0;
  waitpid(mid, &st, 0);
  nlohmann::json j = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = content.rfind(')');
  return paren == std::string::npos || paren + 2 >= content.size() || content[paren + 2] == 'Z' ||
         content[paren + 2] == 'X';
}

}  // namespace chaos::mocks::testing
