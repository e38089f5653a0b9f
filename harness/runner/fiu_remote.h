// libfiu's remote control, for faults in the system under test itself: the runner starts the SUT with
// libfiu's POSIX preload (what `fiu-run -x` does) and a control fifo, then enables and disables fault
// points such as posix/io/net/connect while it runs. Protocol (libfiu 1.1, see ../shared/TOOLCHAIN.md):
// write one command line to <base>-<pid>.in, then read "0" or "-1" from <base>-<pid>.out.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <sys/types.h>

namespace chaos::runner {

struct FiuPreload {
  bool available = false;
  std::string error;                        // why not, when unavailable
  std::map<std::string, std::string> env;   // LD_PRELOAD, FIU_CTRL_FIFO, FIU_ENABLE, ...
};

// The environment that puts a program under libfiu's POSIX preload with control fifos at `fifo_base`.
FiuPreload fiu_preload_env(const std::string& fifo_base);

// Sends one command ("enable_random name=posix/io/net/connect,probability=0.5,failinfo=111") to
// process `pid`; returns "" on success, else what went wrong. Bounded by `timeout`.
std::string fiu_send(const std::string& fifo_base, pid_t pid, const std::string& command,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

}  // namespace chaos::runner
