// A tiny program the runner tests launch, so process handling is tested against real processes whose
// behaviour the test controls. Usage: test_child <action>...
//   ready PORT        print a ready line with that port
//   print TEXT        print TEXT as a line on stdout
//   stderr TEXT       print TEXT on stderr
//   event TYPE        print an event line {"type":TYPE,"ts_us":<now>}
//   sleep MS          sleep
//   exit CODE         exit with CODE
//   ignore-term       ignore SIGTERM (so only SIGKILL ends it)
//   fork-sleep MS     start a grandchild that sleeps MS (stays in our process group)
//   list-fds          print one line "fd N -> TARGET" per open descriptor above stderr, then "fds done"
//   env NAME          print "NAME=<value>" (or "NAME unset") as a line on stdout
//   segv              die of SIGSEGV (default action, no core file), as a crashing service would
//   wait-forever      sleep until killed
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "ready") {
      std::printf("{\"event\":\"ready\",\"service\":\"test-child\",\"port\":%s,\"pid\":%d}\n", next().c_str(),
                  static_cast<int>(::getpid()));
      std::fflush(stdout);
    } else if (a == "print") {
      std::printf("%s\n", next().c_str());
      std::fflush(stdout);
    } else if (a == "stderr") {
      std::fprintf(stderr, "%s\n", next().c_str());
    } else if (a == "event") {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
      std::printf("{\"type\":\"%s\",\"ts_us\":%lld}\n", next().c_str(), static_cast<long long>(us));
      std::fflush(stdout);
    } else if (a == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(next().c_str())));
    } else if (a == "exit") {
      std::exit(std::atoi(next().c_str()));
    } else if (a == "ignore-term") {
      ::signal(SIGTERM, SIG_IGN);
    } else if (a == "fork-sleep") {
      int ms = std::atoi(next().c_str());
      if (::fork() == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        ::_exit(0);
      }
    } else if (a == "list-fds") {
      // Listed from inside the child once main() runs, so descriptors a sanitizer runtime opens and
      // closes during start-up are not mistaken for inherited ones.
      DIR* d = ::opendir("/proc/self/fd");
      if (d != nullptr) {
        int own = ::dirfd(d);
        while (auto* e = ::readdir(d)) {
          int fd = std::atoi(e->d_name);
          if (e->d_name[0] == '.' || fd <= 2 || fd == own) continue;
          char target[512] = {};
          std::string link = std::string("/proc/self/fd/") + e->d_name;
          auto n = ::readlink(link.c_str(), target, sizeof target - 1);
          std::printf("fd %d -> %s\n", fd, n > 0 ? target : "?");
        }
        ::closedir(d);
      }
      std::printf("fds done\n");
      std::fflush(stdout);
    } else if (a == "env") {
      std::string name = next();
      const char* v = std::getenv(name.c_str());
      if (v != nullptr)
        std::printf("%s=%s\n", name.c_str(), v);
      else
        std::printf("%s unset\n", name.c_str());
      std::fflush(stdout);
    } else if (a == "segv") {
      // The default action, not a sanitizer's handler (which would turn it into an exit code), and
      // no core file left behind by a test.
      rlimit none{0, 0};
      ::setrlimit(RLIMIT_CORE, &none);
      ::signal(SIGSEGV, SIG_DFL);
      ::raise(SIGSEGV);
    } else if (a == "wait-forever") {
      while (true) ::pause();
    }
  }
  return 0;
}
