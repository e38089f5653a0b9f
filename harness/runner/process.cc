#include "runner/process.h"

#include "runner/watchdog.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

namespace bp = boost::process;

namespace chaos::runner {

std::string ExitStatus::describe() const {
  if (signal) return "killed by signal " + std::to_string(*signal) + " (" + ::strsignal(*signal) + ")";
  if (exit_code) return "exit code " + std::to_string(*exit_code);
  return "still running";
}

namespace {

ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) s.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

void write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // a log we cannot write must not stop the scenario
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

constexpr size_t kMaxLine = 1 << 20;

}  // namespace

// Reads a child's stdout: copies every byte into its log and hands complete lines to the handler.
// Polls with a short timeout so that stopping it never depends on the child closing its end.
struct Process::Reader {
  int fd = -1;
  int log_fd = -1;
  LineHandler handler;
  std::atomic<bool> stop{false};
  std::thread thread;

  void run() {
    std::string pending;
    char buf[16384];
    while (true) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 50);
      if (r < 0 && errno != EINTR) break;
      if (r <= 0) {
        if (stop.load()) break;
        continue;
      }
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      auto now = SteadyClock::instance().now();
      write_all(log_fd, buf, static_cast<size_t>(n));
      pending.append(buf, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        if (handler) handler(std::string_view(pending).substr(start, nl - start), now);
        start = nl + 1;
      }
      pending.erase(0, start);
      if (pending.size() > kMaxLine) {
        if (handler) handler(pending, now);
        pending.clear();
      }
    }
    if (!pending.empty() && handler) handler(pending, SteadyClock::instance().now());
  }
};

Process::~Process() {
  join_reader();
}

void Process::join_reader() {
  if (!reader_) return;
  reader_->stop = true;
  if (reader_->thread.joinable()) reader_->thread.join();
  if (reader_->fd >= 0) ::close(reader_->fd);
  if (reader_->log_fd >= 0) ::close(reader_->log_fd);
  reader_.reset();
}

std::optional<ExitStatus> Process::poll() {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_) return status_;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode(st);
  } else if (r < 0 && errno == ECHILD) {
    // Reaped elsewhere (a group-wide reap during shutdown): it is gone, its status unknown.
    status_ = ExitStatus{};
  }
  return status_;
}

std::vector<std::string> Process::log_tail(size_t n) const {
  std::ifstream in(log_path_);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

// The group's leader is a placeholder process that does nothing but wait, not the first service.
// A group lives only while a member does: were the first child its leader (initdb, say, which exits
// within seconds), children launched after it had gone could not join, and would scatter into groups
// of their own that a group-wide kill no longer reaches. The anchor lives until terminate_all.
struct ProcessGroup::Impl {
  pid_t anchor = -1;

  // Forks the anchor. Returns its pid (= the group id) or -1 with errno set.
  static pid_t fork_anchor() {
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // The child of a multi-threaded parent: async-signal-safe calls only, and it never execs.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);
      // Hold none of the harness's descriptors: a copy of another child's pipe would hide its EOF.
      ::syscall(SYS_close_range, 0U, ~0U, 0U);
      // The harness may block or catch these; the anchor must die of the group's SIGTERM.
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGHUP, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (;;) ::pause();
    }
    if (pid > 0) ::setpgid(pid, pid);  // also from this side, so no launch can race the child's own call
    return pid;
  }
};

ProcessGroup::ProcessGroup() : impl_(std::make_unique<Impl>()) {}

ProcessGroup::~ProcessGroup() {
  terminate_all();
}

std::vector<Process*> ProcessGroup::processes() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Process*> out;
  for (auto& p : processes_) out.push_back(p.get());
  return out;
}

Process* ProcessGroup::launch(const LaunchSpec& spec, LineHandler on_stdout_line, std::string* error) {
  if (spec.argv.empty()) {
    *error = spec.name + ": empty command";
    return nullptr;
  }
  auto exe = resolve_executable(spec.argv[0], error);
  if (!exe) return nullptr;

  int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *error = spec.name + ": cannot open log file " + spec.log_path + ": " + std::strerror(errno);
    return nullptr;
  }
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    *error = spec.name + ": pipe failed: " + std::strerror(errno);
    ::close(log_fd);
    return nullptr;
  }

  bp::environment env = boost::this_process::environment();
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());

  const pid_t parent = ::getpid();
  pid_t group_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (impl_->anchor < 0) {
      impl_->anchor = Impl::fork_anchor();
      if (impl_->anchor < 0) {
        *error = spec.name + ": cannot create the scenario's process group: " + std::strerror(errno);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        ::close(log_fd);
        return nullptr;
      }
      pgid_ = impl_->anchor;
      watchdog_register_group(pgid_);
    }
    group_id = pgid_;
  }
  const int child_out = out_pipe[1];
  const int child_err = log_fd;
  const bool switch_user = spec.uid.has_value();
  const uid_t uid = spec.uid.value_or(0);
  const gid_t gid = spec.gid.value_or(0);
  const std::string work_dir = spec.work_dir;
  // Runs in the child between fork and exec: only async-signal-safe calls here.
  auto setup = [parent, group_id, child_out, child_err, switch_user, uid, gid, &work_dir](auto&) {
    auto die = [child_err](const char* msg) {
      ssize_t w = ::write(child_err, msg, std::strlen(msg));
      (void)w;
      ::_exit(126);
    };
    if (switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0))
      die("chaos-harness: cannot switch to the service's user (the harness must run as root for that)\n");
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Outside the scenario's group a group-wide kill would miss it: refuse to run at all.
    if (::setpgid(0, group_id) != 0) die("chaos-harness: cannot join the scenario's process group\n");
    if (::getppid() != parent) ::_exit(127);  // the harness died before prctl took effect
    if (!work_dir.empty() && ::chdir(work_dir.c_str()) != 0) die("chaos-harness: cannot enter the working directory\n");
    ::dup2(child_out, STDOUT_FILENO);
    ::dup2(child_err, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    // Nothing but stdio crosses exec: descriptors of other children must not keep their pipes open.
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  };

  std::error_code ec;
  pid_t pid = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      bp::child c(bp::exe = *exe, bp::args = args, env, bp::std_in < bp::null,
                  bp::extend::on_exec_setup = setup, ec);
      if (!ec) {
        pid = c.id();
        c.detach();  // we reap it ourselves with waitpid (Boost.Process 1.74 leaves zombies)
      }
    } catch (const std::exception& e) {
      ec = std::make_error_code(std::errc::io_error);
      *error = spec.name + ": cannot start " + *exe + ": " + e.what();
    }
  }
  ::close(out_pipe[1]);
  if (ec || pid <= 0) {
    if (error->empty()) *error = spec.name + ": cannot start " + *exe + ": " + ec.message();
    ::close(out_pipe[0]);
    ::close(log_fd);
    return nullptr;
  }

  auto proc = std::unique_ptr<Process>(new Process());
  proc->name_ = spec.name;
  proc->pid_ = pid;
  proc->log_path_ = spec.log_path;
  proc->stop_signal_ = spec.stop_signal;
  proc->reader_ = std::make_unique<Process::Reader>();
  proc->reader_->fd = out_pipe[0];
  proc->reader_->log_fd = log_fd;
  proc->reader_->handler = std::move(on_stdout_line);
  auto* reader = proc->reader_.get();
  reader->thread = std::thread([reader] { reader->run(); });

  std::lock_guard<std::mutex> lock(mu_);
  processes_.push_back(std::move(proc));
  return processes_.back().get();
}

void ProcessGroup::terminate_all(Duration grace) {
  std::vector<Process*> procs = processes();
  if (procs.empty() && pgid_ < 0) return;
  auto reap_all = [&] {
    for (auto* p : procs) p->poll();
    // Descendants reparented to us (we are a subreaper) that are still in the group.
    if (pgid_ > 0) {
      int st;
      while (::waitpid(-pgid_, &st, WNOHANG) > 0) {
      }
    }
  };
  auto all_gone = [&] {
    reap_all();
    for (auto* p : procs)
      if (!p->poll()) return false;
    return pgid_ <= 0 || count_live_processes_in_group(pgid_) == 0;
  };
  if (!all_gone()) {
    bool sent_own = false;
    for (auto* p : procs)
      if (p->stop_signal_ != SIGTERM && !p->poll()) sent_own = ::kill(p->pid(), p->stop_signal_) == 0 || sent_own;
    // Let it act on its own signal first (PostgreSQL's postmaster takes SIGINT as "fast shutdown"
    // but would take a SIGTERM arriving first as "smart", waiting for clients).
    if (sent_own) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (pgid_ > 0) ::kill(-pgid_, SIGTERM);
    for (auto* p : procs) ::kill(p->pid(), SIGTERM);  // in case one left the group
    auto deadline = SteadyClock::instance().now() + grace;
    while (!all_gone() && SteadyClock::instance().now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!all_gone()) {
      if (pgid_ > 0) ::kill(-pgid_, SIGKILL);
      for (auto* p : procs)
        if (!p->poll()) ::kill(p->pid(), SIGKILL);
      auto hard = SteadyClock::instance().now() + std::chrono::seconds(2);
      while (!all_gone() && SteadyClock::instance().now() < hard)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  for (auto* p : procs) p->join_reader();
  if (pgid_ > 0 && count_live_processes_in_group(pgid_) == 0) {
    watchdog_unregister_group(pgid_);
    std::lock_guard<std::mutex> lock(mu_);
    impl_->anchor = -1;  // a later launch starts a new group rather than joining a dead one
  }
}

std::optional<std::string> resolve_executable(const std::string& program, std::string* error) {
  namespace fs = std::filesystem;
  auto check = [&](const fs::path& p) -> std::optional<std::string> {
    std::error_code ec;
    if (!fs::exists(p, ec) || fs::is_directory(p, ec)) return std::nullopt;
    if (::access(p.c_str(), X_OK) != 0) {
      *error = "binary " + p.string() + " is not executable";
      return std::string();
    }
    return fs::absolute(p).string();
  };
  if (program.find('/') != std::string::npos) {
    auto r = check(program);
    if (r && !r->empty()) return r;
    if (!r) *error = "binary not found: " + program;
    return std::nullopt;
  }
  const char* path = ::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      auto r = check(fs::path(dir) / program);
      if (r && !r->empty()) return r;
    }
    start = end + 1;
  }
  if (error->empty()) *error = "binary not found on PATH: " + program;
  return std::nullopt;
}

void become_subreaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

int count_live_processes_in_group(pid_t pgid) {
  int count = 0;
  std::error_code ec;
  // Entries vanish while we read: use the non-throwing iteration.
  for (auto it = std::filesystem::directory_iterator("/proc", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string content;
    if (!std::getline(stat, content)) continue;
    // Fields after the command (which may contain spaces) start after the last ')'.
    auto close = content.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0, pg = 0;
    if (std::sscanf(content.c_str() + close + 1, " %c %ld %ld", &state, &ppid, &pg) != 3) continue;
    if (pg == pgid && state != 'Z' && state != 'X') ++count;
  }
  return count;
}

}  // namespace chaos::runner
