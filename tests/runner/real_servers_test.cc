// Real servers as scenario services (runner/real_servers.h): each runs from a temporary directory that
// is gone afterwards, PostgreSQL under the postgres user when we are root, stopped fast by SIGINT, and
// "ready" means serving clients. Needs redis-server and PostgreSQL installed (scripts/install_deps.sh).
#include "runner/real_servers.h"

#include "runner/port_reservation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using chaos::runner::ProcessGroup;
using chaos::runner::RealServers;
using chaos::scenario::ServerKind;

namespace {

// A loopback port held until the server serves (redis-server and PostgreSQL bind with SO_REUSEADDR),
// so no parallel test takes it during initdb, as the runner does.
chaos::runner::PortReservation hold_port() {
  std::string error;
  auto r = chaos::runner::PortReservation::take(&error);
  if (!r) throw std::runtime_error(error);
  return std::move(*r);
}

// Sends `request` and returns what arrives within `limit` (up to `want` bytes).
std::string ask(int port, const std::string& request, size_t want, std::chrono::milliseconds limit = 2000ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds(limit).count() % 1000000)};
    tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(limit).count();
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[256];
    while (out.size() < want) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

template <class F>
bool eventually(F cond, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

uid_t owner_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) return static_cast<uid_t>(std::stoul(line.substr(4)));
  return static_cast<uid_t>(-1);
}

class RealServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_dir_ = fs::temp_directory_path() / ("chaos-real-servers-test-" + std::to_string(::getpid()));
    fs::create_directories(log_dir_);
  }
  void TearDown() override { fs::remove_all(log_dir_); }
  fs::path log_dir_;
};

TEST_F(RealServersTest, RedisRunsFromATemporaryDirectoryThatIsRemovedAfterwards) {
  std::string dir;
  {
    ProcessGroup group;
    RealServers servers;
    auto held = hold_port();
    int port = held.port();
    std::string error;
    auto plan = servers.prepare(ServerKind::kRedis, "kv", port, {"--maxclients", "50"}, group, log_dir_.string(),
                                chaos::SteadyClock::instance().now() + 10s, nullptr, &error);
    ASSERT_TRUE(plan) << error;
    ASSERT_EQ(servers.directories().size(), 1u);
    dir = servers.directories()[0];
    EXPECT_TRUE(fs::is_directory(dir));
    plan->spec.name = "kv";
    plan->spec.log_path = (log_dir_ / "kv.log").string();
    auto* p = group.launch(plan->spec, nullptr, &error);
    ASSERT_NE(p, nullptr) << error;
    ASSERT_TRUE(eventually([&] { return ask(port, "PING\r\n", 7, 200ms) == "+PONG\r\n"; }, 5000ms))
        << "redis-server never answered; log:\n" << fs::path(plan->spec.log_path);
    const std::string want = "*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n";
    EXPECT_EQ(ask(port, "CONFIG GET maxclients\r\n", want.size()), want) << "extra args reach the server";
    EXPECT_FALSE(chaos::runner::postgres_accepting(port, 300ms)) << "a Redis answer is not a PostgreSQL one";
    group.terminate_all(1000ms);
    EXPECT_FALSE(p->running());
  }
  EXPECT_FALSE(fs::exists(dir)) << "the server's directory is removed with it";
}

TEST_F(RealServersTest, PostgresIsInitialisedRunsAsAnUnprivilegedUserAndStopsFastOnSigint) {
  std::string dir;
  {
    ProcessGroup group;
    RealServers servers;
    auto held = hold_port();
    int port = held.port();
    std::string error;
    auto plan = servers.prepare(ServerKind::kPostgres, "pg", port, {"-c", "max_connections=12"}, group,
                                log_dir_.string(), chaos::SteadyClock::instance().now() + 30s, nullptr, &error);
    ASSERT_TRUE(plan) << error;
    dir = servers.directories().at(0);
    EXPECT_TRUE(fs::exists(fs::path(dir) / "data" / "PG_VERSION")) << "initdb ran into the temporary directory";
    EXPECT_EQ(plan->spec.stop_signal, SIGINT);
    plan->spec.name = "pg";
    plan->spec.log_path = (log_dir_ / "pg.log").string();
    EXPECT_FALSE(chaos::runner::postgres_accepting(port, 200ms)) << "nothing listens yet";
    auto* p = group.launch(plan->spec, nullptr, &error);
    ASSERT_NE(p, nullptr) << error;
    ASSERT_TRUE(eventually([&] { return plan->ready(port); }, 15000ms)) << "postgres never served; see " << plan->spec.log_path;
    // initdb, the group's first member, has exited; postgres must still be in the scenario's group.
    EXPECT_EQ(::getpgid(p->pid()), group.pgid());
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      ASSERT_NE(pw, nullptr);
      EXPECT_EQ(owner_of(p->pid()), pw->pw_uid) << "PostgreSQL refuses root: it runs as postgres";
    } else {
      EXPECT_EQ(owner_of(p->pid()), ::geteuid());
    }
    auto t0 = std::chrono::steady_clock::now();
    group.terminate_all(5000ms);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(p->running());
    EXPECT_LT(took, 4000ms) << "SIGINT is a fast shutdown; a SIGTERM alone would wait for clients";
    EXPECT_EQ(chaos::runner::count_live_processes_in_group(group.pgid()), 0);
    std::ifstream log(plan->spec.log_path);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("fast shutdown request"), std::string::npos) << text;
  }
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(RealServersTest, PostgresBinariesAreFoundOrNamedInTheError) {
  std::string error;
  auto initdb = chaos::runner::find_postgres_program("initdb", &error);
  ASSERT_TRUE(initdb) << error;
  EXPECT_EQ(::access(initdb->c_str(), X_OK), 0);
  EXPECT_FALSE(chaos::runner::find_postgres_program("no-such-postgres-tool", &error));
  EXPECT_NE(error.find("no-such-postgres-tool"), std::string::npos);
  EXPECT_NE(error.find("install_deps.sh"), std::string::npos);
}

}  // namespace
