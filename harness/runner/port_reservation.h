// A loopback port held for a program that cannot pick its own, from the moment the scenario assigns it
// until the program is about to bind it (or, for a server known to bind with SO_REUSEADDR, until it
// serves). A port that is merely "free when looked at" can be taken in between by any other process,
// if only as the local port of an outgoing connection; PostgreSQL's initdb alone takes seconds.
//
// How: a socket bound to 127.0.0.1:port with SO_REUSEADDR and never listening. While it exists, the
// kernel gives that port to no other bind(port 0) and to no connect() that picks a local port, yet a
// server that sets SO_REUSEADDR itself (redis-server, PostgreSQL) can still bind and listen on it.
// A program that does not set SO_REUSEADDR cannot, so for those the reservation is released right
// before launch.
#pragma once

#include <optional>
#include <string>

namespace chaos::runner {

class PortReservation {
 public:
  // A fresh port on 127.0.0.1, held; nullopt with `error` set if no socket could be bound.
  static std::optional<PortReservation> take(std::string* error);

  PortReservation(PortReservation&& other) noexcept;
  PortReservation& operator=(PortReservation&& other) noexcept;
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  ~PortReservation();

  int port() const { return port_; }
  bool held() const { return fd_ >= 0; }
  // Lets the port go (idempotent); port() still says which it was.
  void release();

 private:
  PortReservation(int fd, int port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace chaos::runner
