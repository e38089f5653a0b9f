// fork/exec of redis-server. Only async-signal-safe calls between fork and exec.
#include "redis_server.h"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chaos::proxy::testing {

using Clock = std::chrono::steady_clock;

int pick_free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool redis_pings(int port, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG";
    if (r) freeReplyObject(r);
  }
  if (c) redisFree(c);
  return ok;
}

RedisServer::~RedisServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool RedisServer::start(int port, std::chrono::milliseconds deadline) {
  if (dir_.empty()) {
    char tmpl[] = "/tmp/chaos-proxy-redis-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error_ = std::string("mkdtemp failed: ") + std::strerror(errno);
      return false;
    }
    dir_ = tmpl;
  }
  // A picked port can be taken by someone else before redis binds it: try a few.
  for (int attempt = 0; attempt < (port == 0 ? 5 : 1); ++attempt) {
    if (start_once(port == 0 ? pick_free_port() : port, deadline)) return true;
  }
  return false;
}

bool RedisServer::start_once(int port, std::chrono::milliseconds deadline) {
  std::vector<std::string> argv = {"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir_, "--daemonize", "no",
                                   "--logfile", dir_ + "/redis.log"};
  if (access(argv[0].c_str(), X_OK) != 0) {
    error_ = "redis-server not found at /usr/bin/redis-server (Debian package redis-server)";
    return false;
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
    }
    signal(SIGPIPE, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) {
    error_ = std::string("fork failed: ") + std::strerror(errno);
    return false;
  }
  pid_ = pid;
  port_ = port;
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream log(dir_ + "/redis.log");
      std::stringstream ss;
      ss << log.rdbuf();
      error_ = "redis-server on port " + std::to_string(port) + " exited at start; log:\n" + ss.str();
      return false;
    }
    if (redis_pings(port, std::chrono::milliseconds(200))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  error_ = "redis-server on port " + std::to_string(port) + " did not answer PING within " +
           std::to_string(deadline.count()) + " ms";
  kill_now();
  return false;
}

void RedisServer::reap(std::chrono::milliseconds grace) {
  auto until = Clock::now() + grace;
  while (pid_ > 0) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    if (Clock::now() >= until) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void RedisServer::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  reap(std::chrono::seconds(5));
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  reap(std::chrono::seconds(3));
}

}  // namespace chaos::proxy::testing
