#include "runner/watchdog.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

namespace chaos::runner {
namespace {

std::atomic<int> g_write_fd{-1};
pid_t g_pid = -1;
std::mutex g_mu;

struct Message {
  char op;  // 'A' add, 'R' remove
  int32_t pgid;
};

[[noreturn]] void watchdog_main(int fd) {
  ::signal(SIGINT, SIG_IGN);  // a terminal's Ctrl-C reaches the whole foreground group
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_NAME, "chaos-watchdog");
  constexpr int kMax = 4096;
  static int32_t groups[kMax];
  int count = 0;
  Message m;
  while (true) {
    ssize_t n = ::read(fd, &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof m)) break;  // EOF: the harness is gone
    if (m.op == 'A' && count < kMax && m.pgid > 1) {
      groups[count++] = m.pgid;
    } else if (m.op == 'R') {
      for (int i = 0; i < count; ++i)
        if (groups[i] == m.pgid) groups[i] = groups[--count];
    }
  }
  for (int i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
  ::_exit(0);
}

void send(char op, pid_t pgid) {
  int fd = g_write_fd.load();
  if (fd < 0 || pgid <= 1) return;
  Message m{op, static_cast<int32_t>(pgid)};
  std::lock_guard<std::mutex> lock(g_mu);
  ssize_t r;
  do {
    r = ::write(fd, &m, sizeof m);
  } while (r < 0 && errno == EINTR);
}

}  // namespace

bool start_watchdog() {
  if (g_write_fd.load() >= 0) return true;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return false;
  }
  if (pid == 0) {
    ::close(p[1]);
    // Keep only the read end: no other descriptor of the harness may be held open by us.
    if (p[0] != 3) {
      ::dup2(p[0], 3);
      ::close(p[0]);
    }
    ::syscall(SYS_close_range, 4U, ~0U, 0U);
    watchdog_main(3);
  }
  ::close(p[0]);
  g_write_fd = p[1];
  g_pid = pid;
  return true;
}

void stop_watchdog() {
  int fd = g_write_fd.exchange(-1);
  if (fd < 0) return;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ::close(fd);
  }
  int st;
  while (::waitpid(g_pid, &st, 0) < 0 && errno == EINTR) {
  }
}

void watchdog_register_group(pid_t pgid) { send('A', pgid); }
void watchdog_unregister_group(pid_t pgid) { send('R', pgid); }

}  // namespace chaos::runner
