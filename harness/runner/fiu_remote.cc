#include "runner/fiu_remote.h"

#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace chaos::runner {
namespace {

constexpr const char* kRunPreload = "/usr/lib/fiu/fiu_run_preload.so";
constexpr const char* kPosixPreload = "/usr/lib/fiu/fiu_posix_preload.so";

// The AddressSanitizer runtime this harness runs with, or "" when it is not an ASan build.
std::string own_asan_runtime() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        const char* name = info->dlpi_name;
        if (!name || !std::strstr(name, "/libasan.so")) return 0;
        *static_cast<std::string*>(out) = name;
        return 1;
      },
      &found);
  return found;
}

}  // namespace

FiuPreload fiu_preload_env(const std::string& fifo_base) {
  FiuPreload p;
  for (const char* lib : {kRunPreload, kPosixPreload}) {
    if (::access(lib, R_OK) != 0) {
      p.error = std::string("libfiu preload library ") + lib + " is missing (install fiu-utils)";
      return p;
    }
  }
  p.available = true;
  // An AddressSanitizer program refuses to start unless the ASan runtime is the first library loaded
  // (and with verify_asan_link_order=0 it crashes with SIGSEGV instead). When the harness is an ASan
  // build, so are the built-in gateway and the mocks it starts: its own runtime goes first. The SUT
  // keeps the harness's ASAN_OPTIONS, so leaks and reports in it are still found. (A SUT from another
  // ASan build under a Release harness still fails, with ASan's own message in its log.)
  std::string asan = own_asan_runtime();
  p.env["LD_PRELOAD"] = (asan.empty() ? "" : asan + " ") + kRunPreload + " " + kPosixPreload;
  p.env["FIU_CTRL_FIFO"] = fifo_base;
  p.env["FIU_ENABLE"] = "";  // nothing enabled at start; the runner switches points on by fifo
  return p;
}

std::string fiu_send(const std::string& fifo_base, pid_t pid, const std::string& command,
                     std::chrono::milliseconds timeout) {
  const std::string in = fifo_base + "-" + std::to_string(pid) + ".in";
  const std::string out = fifo_base + "-" + std::to_string(pid) + ".out";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The fifos appear once the preload's control thread is up; wait for a reader on .in.
  int wfd = -1;
  while (true) {
    wfd = ::open(in.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (wfd >= 0) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return "cannot open libfiu control fifo " + in + ": " + std::strerror(errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string line = command + "\n";
  ssize_t w = ::write(wfd, line.data(), line.size());
  int werr = errno;
  ::close(wfd);
  if (w != static_cast<ssize_t>(line.size())) return "cannot write to " + in + ": " + std::strerror(werr);

  int rfd = ::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rfd < 0) return "cannot open libfiu reply fifo " + out + ": " + std::strerror(errno);
  std::string reply;
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{rfd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if (r > 0 && (p.revents & POLLIN)) {
      char buf[64];
      ssize_t n = ::read(rfd, buf, sizeof buf);
      if (n > 0) reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(rfd);
  if (reply.find('\n') == std::string::npos) return "no reply from libfiu in process " + std::to_string(pid);
  reply.erase(reply.find('\n'));
  if (reply != "0") return "libfiu rejected \"" + command + "\" (reply " + reply + ")";
  return "";
}

}  // namespace chaos::runner
