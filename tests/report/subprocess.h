// Runs an external checker (python3, chromium) for the report tests: argv vector, no shell, output to
// files, bounded by a deadline after which the whole process group is killed and reaped.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace chaos::report::testing {

struct ProcessOutcome {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;  // -1 when killed by a signal or not started
  int signal = 0;
  std::string out;     // stdout
  std::string err;     // stderr
  std::string describe() const;  // one line for assertion messages
};

ProcessOutcome run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                           const std::string& stdin_text = "");

bool is_executable(const std::string& path);

}  // namespace chaos::report::testing
