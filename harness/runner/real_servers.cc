#include "runner/real_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace chaos::runner {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Fast and disposable: nothing a scenario writes needs to survive a crash of the machine.
const std::vector<std::string> kPostgresSettings = {
    "listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", "full_page_writes=off",
    // Dynamic shared memory as files in the data directory, so even a SIGKILLed server leaves
    // nothing behind in /dev/shm once the directory is removed.
    "dynamic_shared_memory_type=mmap", "shared_buffers=16MB", "unix_socket_permissions=0700",
};

struct User {
  uid_t uid;
  gid_t gid;
};

std::string tail_text(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n    | " + l;
  return out;
}

void put_u32(std::string& out, uint32_t v) {
  uint32_t n = htonl(v);
  out.append(reinterpret_cast<const char*>(&n), 4);
}

}  // namespace

RealServers::~RealServers() {
  for (const auto& d : dirs_) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}

std::optional<std::string> RealServers::make_dir(const std::string& id, std::string* error) {
  std::string tmpl = (fs::temp_directory_path() / ("chaos-" + id + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    *error = "cannot create a temporary directory " + tmpl + ": " + std::strerror(errno);
    return std::nullopt;
  }
  dirs_.emplace_back(buf.data());
  return dirs_.back();
}

std::optional<std::string> find_postgres_program(const std::string& program, std::string* error) {
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/usr/lib/postgresql", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    fs::path p = it->path() / "bin" / program;
    int version = std::atoi(it->path().filename().c_str());
    if (version > 0 && ::access(p.c_str(), X_OK) == 0) found.emplace_back(version, p);
  }
  if (!found.empty()) return std::max_element(found.begin(), found.end())->second.string();
  std::string e;
  if (auto p = resolve_executable(program, &e)) return p;
  *error = "PostgreSQL's " + program + " is neither in /usr/lib/postgresql/<version>/bin nor on PATH; install the " +
           "postgresql package (scripts/install_deps.sh does)";
  return std::nullopt;
}

bool postgres_accepting(int port, Duration timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{};
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  tv.tv_sec = us / 1000000;
  tv.tv_usec = us % 1000000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string body;
    put_u32(body, 196608);  // protocol 3.0
    for (const char* s : {"user", "postgres", "database", "postgres", ""}) body.append(s, std::strlen(s) + 1);
    std::string msg;
    put_u32(msg, static_cast<uint32_t>(body.size() + 4));
    msg += body;
    char first = 0;
    // 'R' = an authentication request (trust: AuthenticationOk); 'E' = e.g. "starting up".
    if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size()) &&
        ::recv(fd, &first, 1, 0) == 1)
      ok = first == 'R';
    if (ok) {
      const char terminate[] = {'X', 0, 0, 0, 4};
      ::send(fd, terminate, sizeof terminate, MSG_NOSIGNAL);
    }
  }
  ::close(fd);
  return ok;
}

std::optional<ServerLaunch> RealServers::prepare(scenario::ServerKind kind, const std::string& id, int port,
                                                 const std::vector<std::string>& extra_args, ProcessGroup& group,
                                                 const std::string& log_dir, TimePoint deadline,
                                                 const std::atomic<bool>* interrupted, std::string* error) {
  ServerLaunch out;
  if (kind == scenario::ServerKind::kRedis) {
    std::string e;
    auto exe = resolve_executable("redis-server", &e);
    if (!exe) {
      *error = e + " (install the redis-server package; scripts/install_deps.sh does)";
      return std::nullopt;
    }
    auto dir = make_dir(id, error);
    if (!dir) return std::nullopt;
    out.spec.argv = {*exe, "--bind", "127.0.0.1", "--port", std::to_string(port), "--save", "",
                     "--appendonly", "no", "--dir", *dir, "--daemonize", "no", "--logfile", ""};
    out.spec.work_dir = *dir;
    out.spec.argv.insert(out.spec.argv.end(), extra_args.begin(), extra_args.end());
    return out;
  }

  auto initdb = find_postgres_program("initdb", error);
  if (!initdb) return std::nullopt;
  auto postgres = find_postgres_program("postgres", error);
  if (!postgres) return std::nullopt;
  std::optional<User> user;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      *error = "PostgreSQL refuses to run as root and there is no \"postgres\" user to run it as; install the "
               "postgresql package (scripts/install_deps.sh does), which creates it";
      return std::nullopt;
    }
    user = User{pw->pw_uid, pw->pw_gid};
  }
  auto dir = make_dir(id, error);
  if (!dir) return std::nullopt;
  if (user && ::chown(dir->c_str(), user->uid, user->gid) != 0) {
    *error = "cannot hand " + *dir + " to the postgres user: " + std::strerror(errno);
    return std::nullopt;
  }
  const std::string data = (fs::path(*dir) / "data").string();

  LaunchSpec init;
  init.name = id + "-initdb";
  init.argv = {*initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
               "--no-sync", "--no-instructions"};
  init.log_path = (fs::path(log_dir) / (id + "-initdb.log")).string();
  init.work_dir = *dir;
  if (user) {
    init.uid = user->uid;
    init.gid = user->gid;
  }
  Process* p = group.launch(init, nullptr, error);
  if (!p) return std::nullopt;
  while (true) {
    if (auto st = p->poll()) {
      if (st->exit_code == 0) break;
      *error = "initdb failed (" + st->describe() + "); last log lines:" + tail_text(p->log_tail(10));
      return std::nullopt;
    }
    if (interrupted && interrupted->load()) {
      *error = "interrupted while initdb ran";
      return std::nullopt;
    }
    if (SteadyClock::instance().now() >= deadline) {
      *error = "scenario timeout reached while initdb ran; last log lines:" + tail_text(p->log_tail(10));
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }

  out.spec.argv = {*postgres, "-D", data, "-p", std::to_string(port), "-k", *dir};
  for (const auto& s : kPostgresSettings) {
    out.spec.argv.push_back("-c");
    out.spec.argv.push_back(s);
  }
  out.spec.argv.insert(out.spec.argv.end(), extra_args.begin(), extra_args.end());
  out.spec.work_dir = *dir;
  if (user) {
    out.spec.uid = user->uid;
    out.spec.gid = user->gid;
  }
  // SIGINT is PostgreSQL's fast shutdown; a SIGTERM alone would wait for every client to leave.
  out.spec.stop_signal = SIGINT;
  out.ready = [](int port) { return postgres_accepting(port); };
  return out;
}

}  // namespace chaos::runner
