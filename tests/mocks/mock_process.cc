// Child processes for the mock tests, started with Boost.Process 1.74. Reading a child's stdout is
// done on our own terms (a reader thread polling the pipe with a short timeout, a condition variable
// with a deadline for the ready line) because Boost's blocking streams cannot give up on a child that
// never prints. Reaping is ours too: bp::child::running() (a WNOHANG waitpid) is polled with a
// deadline, since wait_for() on an already exited child waits its whole duration and terminate() can
// leave a zombie (see /work/shared/TOOLCHAIN.md).
#include "mock_process.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace bp = boost::process;

namespace chaos::mocks::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kStdoutTailBytes = 64 * 1024;
constexpr size_t kMaxReadyLineBytes = 1 << 20;

// Runs in the child between fork and exec (async-signal-safe calls only): die with the test process
// (the parent-death signal is lost if the parent died before prctl, hence the ppid check), and restore
// the default SIGPIPE the mock's own code expects to change itself.
auto child_setup(bool die_with_parent) {
  const pid_t parent = ::getpid();
  return [parent, die_with_parent](auto&) {
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    ::signal(SIGPIPE, SIG_DFL);
  };
}

// A pipe whose two ends are close-on-exec in this process, so concurrently started children never
// inherit another child's pipe (which would keep its EOF from ever arriving). Boost.Process dup2()s the
// sink onto the child's stdout, and dup2 clears the flag on the copy.
bool make_cloexec_pipe(bp::pipe& p, std::string* error) {
  for (int fd : {p.native_source(), p.native_sink()}) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      *error = std::string("fcntl(FD_CLOEXEC) failed: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// Boost.Process 1.74 does not reap a child whose exec failed; this handler remembers its pid so we can.
struct ExecFailureReaper {
  pid_t failed_pid = -1;
  auto handler() {
    return bp::extend::on_error = [this](auto& executor, const std::error_code&) { failed_pid = executor.pid; };
  }
  void reap() const {
    if (failed_pid > 0) ::waitpid(failed_pid, nullptr, 0);  // it already called _exit
  }
};

// Polls the child until it has been reaped or `deadline` passes. Returns the raw wait status, or
// nullopt while it still runs. ECHILD (reaped by someone else) reports status 0 with `lost` set.
std::optional<int> poll_exit(bp::child& child, std::chrono::milliseconds deadline, bool* lost = nullptr) {
  auto until = Clock::now() + deadline;
  for (;;) {
    std::error_code ec;
    if (!child.running(ec)) {
      if (ec && lost) *lost = true;
      return ec ? 0 : child.native_exit_code();
    }
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// SIGKILL and reap, bounded; then detach so bp::child's destructor never touches the pid again.
void kill_and_reap(bp::child& child) {
  if (!child.valid()) return;
  std::error_code ec;
  if (child.running(ec)) {
    ::kill(child.id(), SIGKILL);
    poll_exit(child, std::chrono::seconds(10));
  }
  child.detach();
}

// Reads the first `\n`-terminated line from `fd`, polling until `deadline`. Empty on timeout or EOF.
std::string read_first_line(int fd, std::chrono::milliseconds deadline) {
  std::string got;
  auto until = Clock::now() + deadline;
  while (got.find('\n') == std::string::npos && got.size() < kMaxReadyLineBytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return "";
    if (r <= 0) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    got.append(buf, static_cast<size_t>(n));
  }
  return got.substr(0, got.find('\n'));
}

}  // namespace

// The child and a thread that drains its stdout for as long as it runs: the first line is handed to
// the constructor, the rest kept as a bounded tail, so a chatty child never blocks on a full pipe.
struct MockProcess::Impl {
  bp::child child;
  int stdout_fd = -1;
  std::thread reader;
  std::atomic<bool> stop_reading{false};

  mutable std::mutex mu;
  std::condition_variable line_or_eof;
  std::string pending;  // bytes before the first newline
  std::optional<std::string> first_line;
  bool eof = false;
  std::string tail;  // stdout after the first line

  void read_loop() {
    char buf[4096];
    // Bounded by EOF (the child and everything that inherited its stdout exited) or by stop_reading,
    // checked at least every 50 ms.
    while (!stop_reading.load()) {
      pollfd p{stdout_fd, POLLIN, 0};
      int r = ::poll(&p, 1, 50);
      if (r < 0 && errno != EINTR) break;
      if (r <= 0) continue;
      ssize_t n = ::read(stdout_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(mu);
      if (first_line) {
        tail.append(buf, static_cast<size_t>(n));
        if (tail.size() > kStdoutTailBytes) tail.erase(0, tail.size() - kStdoutTailBytes);
        continue;
      }
      pending.append(buf, static_cast<size_t>(n));
      size_t nl = pending.find('\n');
      if (nl == std::string::npos && pending.size() < kMaxReadyLineBytes) continue;
      first_line = pending.substr(0, nl);
      if (nl != std::string::npos) tail = pending.substr(nl + 1);
      pending.clear();
      line_or_eof.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    eof = true;
    line_or_eof.notify_all();
  }

  ~Impl() {
    stop_reading = true;
    if (reader.joinable()) reader.join();
    if (stdout_fd >= 0) ::close(stdout_fd);
    kill_and_reap(child);  // normally already reaped by MockProcess::stop
  }
};

MockProcess::MockProcess(std::vector<std::string> argv, std::chrono::milliseconds deadline)
    : impl_(std::make_unique<Impl>()) {
  char path[] = "/tmp/chaos-mock-stderr-XXXXXX";
  int reserved = ::mkstemp(path);
  if (reserved < 0) {
    error_ = std::string("cannot create the stderr log file: ") + std::strerror(errno);
    return;
  }
  ::close(reserved);  // Boost.Process opens it again for the child by name
  log_path_ = path;
  if (argv.empty() || ::access(argv[0].c_str(), X_OK) != 0) {
    error_ = "not an executable: " + (argv.empty() ? std::string("(empty argv)") : argv[0]);
    return;
  }

  bp::pipe out_pipe;
  if (!make_cloexec_pipe(out_pipe, &error_)) return;
  ExecFailureReaper exec_failure;
  std::error_code ec;
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  try {
    // `std_out > out_pipe` takes the sink and closes it here after the launch.
    impl_->child = bp::child(bp::exe = argv[0], bp::args = args, bp::std_in < bp::null, bp::std_out > out_pipe,
                             bp::std_err > log_path_, bp::extend::on_exec_setup = child_setup(true),
                             exec_failure.handler(), ec);
  } catch (const std::exception& e) {
    error_ = std::string("cannot start ") + argv[0] + ": " + e.what();
  }
  if (ec || !impl_->child.valid()) {
    exec_failure.reap();
    if (error_.empty()) error_ = "cannot start " + argv[0] + ": " + ec.message();
    return;
  }
  pid_ = impl_->child.id();
  impl_->stdout_fd = out_pipe.native_source();
  out_pipe.assign_source(-1);  // Impl owns it now
  Impl* impl = impl_.get();
  impl_->reader = std::thread([impl] { impl->read_loop(); });

  std::string line;
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->line_or_eof.wait_until(lock, Clock::now() + deadline,
                                  [impl] { return impl->first_line.has_value() || impl->eof; });
    if (impl_->first_line) {
      line = *impl_->first_line;
    } else if (impl_->eof) {
      error_ = "child closed stdout before the ready line";
    } else {
      error_ = "no ready line within " + std::to_string(deadline.count()) + " ms";
    }
  }
  if (error_.empty()) {
    ready_line_ = nlohmann::json::parse(line, nullptr, false);
    if (ready_line_.is_discarded() || !ready_line_.is_object() || ready_line_.value("event", "") != "ready") {
      error_ = "first stdout line is not a ready event: " + line;
      ready_line_ = nlohmann::json::object();
    } else {
      ready_ = true;
    }
  }
  if (!ready_) error_ += "; stderr:\n" + stderr_text();
}

MockProcess::~MockProcess() {
  stop(std::chrono::seconds(2));
  impl_.reset();  // joins the reader; the child is reaped by now
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

std::optional<int> MockProcess::wait_exit(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return std::nullopt;
  if (reaped_) return status_;
  bool lost = false;
  std::optional<int> status = poll_exit(impl_->child, deadline, &lost);
  if (!status) return std::nullopt;
  reaped_ = true;
  status_ = *status;
  if (lost) error_ += "; the child was reaped elsewhere, its exit status is unknown";
  return status_;
}

void MockProcess::send_signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

void MockProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGTERM);
  if (wait_exit(grace)) return;
  ::kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(10));
}

std::string MockProcess::stderr_text() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string MockProcess::stdout_after_ready() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->tail;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds deadline) {
  CommandResult result;
  if (argv.empty()) return result;
  if (::access(argv[0].c_str(), X_OK) != 0) {
    result.output = "not an executable: " + argv[0];
    return result;
  }
  bp::pipe out_pipe;
  if (!make_cloexec_pipe(out_pipe, &result.output)) return result;
  ExecFailureReaper exec_failure;
  std::error_code ec;
  bp::child child;
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  try {
    // One pipe for both streams keeps their interleaving (the only form Boost.Process 1.74 accepts).
    child = bp::child(bp::exe = argv[0], bp::args = args, bp::std_in < bp::null,
                      (bp::std_out & bp::std_err) > out_pipe, bp::extend::on_exec_setup = child_setup(true),
                      exec_failure.handler(), ec);
  } catch (const std::exception& e) {
    result.output = std::string("cannot start ") + argv[0] + ": " + e.what();
    return result;
  }
  if (ec || !child.valid()) {
    exec_failure.reap();
    result.output = "cannot start " + argv[0] + ": " + ec.message();
    return result;
  }
  const int fd = out_pipe.native_source();
  auto until = Clock::now() + deadline;
  bool timed_out = false;
  for (;;) {  // bounded by EOF or the deadline
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  std::optional<int> status;
  if (!timed_out) {
    // EOF: the command closed its output, so it is exiting; allow what is left of the deadline.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    status = poll_exit(child, std::max(left, std::chrono::milliseconds(100)));
    timed_out = !status;
  }
  if (timed_out) {
    kill_and_reap(child);
    return result;  // exit_code stays -1
  }
  child.detach();
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
  return result;
}

nlohmann::json start_with_short_lived_parent(const std::vector<std::string>& argv, std::chrono::milliseconds deadline) {
  if (argv.empty()) return nlohmann::json::object();
  bp::pipe out_pipe;
  std::string error;
  if (!make_cloexec_pipe(out_pipe, &error)) return nlohmann::json::object();
  ExecFailureReaper exec_failure;
  std::error_code ec;
  bp::child parent;
  // `timeout` forks the command and waits for it: a real, separate parent process. Its own limit is a
  // backstop only; the test kills it long before.
  std::vector<std::string> args = {"--kill-after=5", "120"};
  args.insert(args.end(), argv.begin(), argv.end());
  try {
    // The intermediate parent dies with us; the mock itself gets no help (it must arrange that itself).
    parent = bp::child(bp::exe = "/usr/bin/timeout", bp::args = args, bp::std_in < bp::null, bp::std_out > out_pipe,
                       bp::std_err > bp::null, bp::extend::on_exec_setup = child_setup(true), exec_failure.handler(),
                       ec);
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
  if (ec || !parent.valid()) {
    exec_failure.reap();
    return nlohmann::json::object();
  }
  std::string line = read_first_line(out_pipe.native_source(), deadline);
  kill_and_reap(parent);  // SIGKILL: no chance to forward a signal to the mock
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  return j.is_discarded() || !j.is_object() ? nlohmann::json::object() : j;
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
