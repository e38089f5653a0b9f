// The last line of defence against orphans. A parent-death signal kills our direct children when the
// harness dies, but not what they started (a SUT's worker processes). So at start-up the harness forks
// a tiny watchdog that holds the read end of a pipe and knows every live scenario process group; when
// the harness dies by any means, even SIGKILL, the pipe reaches EOF and the watchdog SIGKILLs those
// groups. Groups are unregistered when a scenario ends normally, so a recycled group id is never hit.
#pragma once

#include <sys/types.h>

namespace chaos::runner {

// Forks the watchdog. Call once, early, before other threads exist. Returns false if it could not.
bool start_watchdog();
// Closes the pipe and reaps the watchdog (at normal exit, after every group was unregistered).
void stop_watchdog();
// No-ops when the watchdog is not running.
void watchdog_register_group(pid_t pgid);
void watchdog_unregister_group(pid_t pgid);

}  // namespace chaos::runner
