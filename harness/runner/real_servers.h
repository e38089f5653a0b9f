// Real servers as scenario services: `redis-server` and PostgreSQL from the Debian packages, started by
// the harness itself as ordinary processes of the scenario's process group, each in a fresh temporary
// directory on a loopback port, and removed afterwards. No system service, no state outside /tmp.
//
// PostgreSQL refuses to run as root and CI runs as root, so under root `initdb` and `postgres` run as
// the unprivileged `postgres` user (created by the Debian package) in a directory that user owns.
#pragma once

#include "common/clock.h"
#include "runner/process.h"
#include "scenario/model.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chaos::runner {

struct ServerLaunch {
  LaunchSpec spec;                      // argv, env, user, working folder, stop signal; log_path is the caller's
  std::function<bool(int port)> ready;  // true once the server serves clients (beyond accepting TCP)
};

// Owns the temporary directories of one scenario's servers. Destroy it only after the process group
// is gone: it removes the directories the servers were running in.
class RealServers {
 public:
  RealServers() = default;
  ~RealServers();
  RealServers(const RealServers&) = delete;
  RealServers& operator=(const RealServers&) = delete;

  // Prepares a server of `kind` for service `id` on `port` (PostgreSQL: runs initdb through `group`,
  // waiting at most until `deadline`) and says how to launch it. On failure returns nullopt and sets
  // `error` (what failed, with the tail of initdb's log where there is one).
  std::optional<ServerLaunch> prepare(scenario::ServerKind kind, const std::string& id, int port,
                                      const std::vector<std::string>& extra_args, ProcessGroup& group,
                                      const std::string& log_dir, TimePoint deadline,
                                      const std::atomic<bool>* interrupted, std::string* error);

  const std::vector<std::string>& directories() const { return dirs_; }

 private:
  std::optional<std::string> make_dir(const std::string& id, std::string* error);
  std::vector<std::string> dirs_;
};

// PostgreSQL's own binaries (initdb, postgres): the newest /usr/lib/postgresql/<version>/bin, else PATH.
std::optional<std::string> find_postgres_program(const std::string& program, std::string* error);

// True when a PostgreSQL server on 127.0.0.1:`port` answers a protocol v3 startup message with an
// authentication request (not with "the database system is starting up"). Bounded by `timeout`.
bool postgres_accepting(int port, Duration timeout = std::chrono::milliseconds(500));

}  // namespace chaos::runner
