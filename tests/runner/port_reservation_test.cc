// PortReservation: the held port is given to nobody else (bind to port 0, a plain bind), yet a server
// that binds with SO_REUSEADDR, as redis-server and PostgreSQL do, can listen and serve on it.
#include "runner/port_reservation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace chaos::runner {
namespace {

// A TCP socket bound to 127.0.0.1:port (0 = any); -1 and errno on failure.
int bound_socket(int port, bool reuse_addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (reuse_addr) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(PortReservationTest, AHeldPortIsRefusedToAPlainBindAndGivenBackOnRelease) {
  std::string error;
  auto r = PortReservation::take(&error);
  ASSERT_TRUE(r) << error;
  ASSERT_GT(r->port(), 0);
  EXPECT_TRUE(r->held());
  EXPECT_EQ(bound_socket(r->port(), false), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  r->release();
  EXPECT_FALSE(r->held());
  int fd = bound_socket(r->port(), false);
  EXPECT_GE(fd, 0) << "a released port is free again";
  if (fd >= 0) ::close(fd);
}

TEST(PortReservationTest, AServerWithReuseAddrListensAndServesOnAHeldPort) {
  std::string error;
  auto r = PortReservation::take(&error);
  ASSERT_TRUE(r) << error;
  int server = bound_socket(r->port(), true);
  ASSERT_GE(server, 0) << "SO_REUSEADDR bind on a held port: errno " << errno;
  ASSERT_EQ(::listen(server, 4), 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(r->port()));
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "the server, not the hold, answers";
  int accepted = ::accept(server, nullptr, nullptr);
  EXPECT_GE(accepted, 0);
  for (int fd : {accepted, client, server})
    if (fd >= 0) ::close(fd);
}

TEST(PortReservationTest, BindToPortZeroNeverLandsOnAHeldPort) {
  std::string error;
  auto r = PortReservation::take(&error);
  ASSERT_TRUE(r) << error;
  // 2000 ports at once, all held until the end so the kernel must keep choosing new ones.
  std::vector<int> fds;
  for (int i = 0; i < 2000; ++i) {
    int fd = bound_socket(0, false);
    if (fd < 0) break;  // out of descriptors: what was taken is enough evidence
    fds.push_back(fd);
    EXPECT_NE(port_of(fd), r->port()) << "after " << i << " binds";
  }
  EXPECT_GE(fds.size(), 500u);
  for (int fd : fds) ::close(fd);
}

TEST(PortReservationTest, MovingKeepsOneHolder) {
  std::string error;
  auto r = PortReservation::take(&error);
  ASSERT_TRUE(r) << error;
  const int port = r->port();
  PortReservation moved = std::move(*r);
  EXPECT_FALSE(r->held());
  EXPECT_TRUE(moved.held());
  r.reset();  // destroying the moved-from one must not free the port
  EXPECT_EQ(bound_socket(port, false), -1);
  auto other = PortReservation::take(&error);
  ASSERT_TRUE(other) << error;
  moved = std::move(*other);  // assigning releases the old port
  int fd = bound_socket(port, false);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
}

}  // namespace
}  // namespace chaos::runner
