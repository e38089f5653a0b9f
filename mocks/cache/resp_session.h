// RESP2 (the Redis protocol) for mock-cache: multibulk and inline requests, pipelining, and the
// commands the harness and its clients use (PING ECHO GET SET DEL EXISTS INCR INCRBY DECR EXPIRE PEXPIRE
// TTL PTTL FLUSHALL FLUSHDB DBSIZE INFO SELECT QUIT, plus CONFIG GET / COMMAND / CLIENT stubs that
// redis-cli and redis-benchmark send on connect).
#pragma once

#include "cache/store.h"
#include "core/session.h"

#include <string>
#include <vector>

namespace chaos::mocks {

class RespSession final : public ProtocolSession {
 public:
  static constexpr size_t kMaxBulk = 16 * 1024 * 1024;  // one argument
  static constexpr size_t kMaxArgs = 64 * 1024;         // arguments in one command
  static constexpr size_t kMaxInline = 64 * 1024;       // one inline command line
  static constexpr size_t kMaxCommand = 64 * 1024 * 1024;  // all arguments of one command together

  explicit RespSession(Store& store) : store_(store) {}
  Step parse(std::string_view in, std::string& out) override;
  std::string_view request_key() const override { return command_; }
  void serve(std::string& out) override;
  void fail(const ErrorSpec& error, std::string& out) override;
  void serve_partial(const PartialCut& cut, std::string& out) override;
  bool close_after_response() const override { return quit_; }

 private:
  Step protocol_error(const std::string& what, std::string& out);
  Store& store_;
  std::vector<std::string> args_;
  size_t nargs_ = 0;           // arguments of the current command taken so far
  size_t pending_ = 0;         // arguments the multibulk header announced; 0 outside a multibulk
  size_t command_bytes_ = 0;   // bulk bytes taken so far for the current command
  std::string command_;  // upper-cased args_[0]
  bool quit_ = false;
};

}  // namespace chaos::mocks
