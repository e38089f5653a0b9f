// A real redis-server for the proxy tests: started from a temporary folder on 127.0.0.1 with a free
// port, no persistence, dying with the test process, stopped and reaped (and its folder removed) by
// the destructor. argv only, no shell.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>

namespace chaos::proxy::testing {

class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server on `port` (0 = pick a free one, retrying if another process takes it first) and
  // waits until it answers PING. Returns false with error() set on failure.
  bool start(int port = 0, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // SIGKILL and reap: the upstream dies without a goodbye.
  void kill_now();
  void stop();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }

 private:
  bool start_once(int port, std::chrono::milliseconds deadline);
  void reap(std::chrono::milliseconds grace);
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_, error_;
};

// A free TCP port on 127.0.0.1 at the time of the call (bound to port 0, read back, released).
int pick_free_port();

// True when redis at 127.0.0.1:port answers PING within `timeout`.
bool redis_pings(int port, std::chrono::milliseconds timeout);

}  // namespace chaos::proxy::testing
