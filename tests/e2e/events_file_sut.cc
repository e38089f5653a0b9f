// A stand-in system under test for the events-file e2e tests: it reports its events by appending JSON
// lines to a file (system_under_test.events "file"), not on stdout, and controls exactly when the file
// appears and how lines are split across writes. Usage: events_file_sut <action>...
//   file PATH                  the events file (not created until the first append)
//   ready                      print the ready line on stdout
//   breaker NAME FROM TO       append a breaker.state event stamped with CLOCK_MONOTONIC ts_us
//   append TEXT                append TEXT and a newline
//   partial TEXT               append TEXT without a newline (the rest of the line comes later)
//   event TYPE NAME            append a {"type": TYPE, "name": NAME} event stamped like breaker
//   first-time PATH            when PATH does not exist: create it and skip the next action (so a
//                              scenario repeated with --repeat behaves differently on its first run)
//   stdout TEXT                print TEXT as a line on stdout (must not count as an event)
//   sleep MS                   sleep
//   wait-forever               sleep until killed
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

// One open-append-close per write, as a logging library that reopens its file would do: the reader
// must cope with the file appearing between two of its reads and with lines split across writes.
bool append(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

long long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    bool ok = true;
    if (a == "file") {
      path = next();
    } else if (a == "ready") {
      std::printf("{\"event\":\"ready\",\"service\":\"events-file-sut\",\"pid\":%d}\n", static_cast<int>(::getpid()));
      std::fflush(stdout);
    } else if (a == "breaker") {
      std::string name = next(), from = next(), to = next();
      ok = append(path, "{\"type\":\"breaker.state\",\"ts_us\":" + std::to_string(now_us()) + ",\"name\":\"" + name +
                            "\",\"from\":\"" + from + "\",\"to\":\"" + to + "\"}\n");
    } else if (a == "event") {
      std::string type = next(), name = next();
      ok = append(path, "{\"type\":\"" + type + "\",\"ts_us\":" + std::to_string(now_us()) + ",\"name\":\"" + name +
                            "\"}\n");
    } else if (a == "first-time") {
      std::string marker = next();
      if (::access(marker.c_str(), F_OK) != 0) {
        ok = append(marker, "");
        if (i + 1 < argc) {
          const std::string skipped = argv[++i];
          int words = 0;
          if (skipped == "breaker") words = 3;
          else if (skipped == "event") words = 2;
          else if (skipped == "append" || skipped == "partial" || skipped == "stdout" || skipped == "sleep" ||
                   skipped == "file" || skipped == "first-time")
            words = 1;
          i += words;
        }
      }
    } else if (a == "append") {
      ok = append(path, next() + "\n");
    } else if (a == "partial") {
      ok = append(path, next());
    } else if (a == "stdout") {
      std::printf("%s\n", next().c_str());
      std::fflush(stdout);
    } else if (a == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(next().c_str())));
    } else if (a == "wait-forever") {
      while (true) ::pause();
    } else {
      std::fprintf(stderr, "events_file_sut: unknown action %s\n", a.c_str());
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "events_file_sut: cannot append to %s\n", path.c_str());
      return 3;
    }
  }
  return 0;
}
