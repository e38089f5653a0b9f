// The PostgreSQL v3 wire protocol subset mock-db speaks: SSLRequest/GSSENCRequest (declined with 'N'),
// StartupMessage with trust auth (AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery),
// simple Query with several statements (RowDescription, DataRow, CommandComplete, EmptyQueryResponse,
// ErrorResponse with SQLSTATE), Terminate. The extended protocol (Parse/Bind/...) is refused with
// SQLSTATE 0A000 up to the next Sync, so a client gets an error, not a hang.
#pragma once

#include "core/session.h"
#include "db/sql_engine.h"

#include <cstdint>
#include <string>

namespace chaos::mocks {

class PgSession final : public ProtocolSession {
 public:
  static constexpr uint32_t kMaxMessage = 16 * 1024 * 1024;
  static constexpr uint32_t kMaxStartup = 10000;

  PgSession(SqlEngine& engine, int32_t backend_pid, int32_t secret)
      : engine_(engine), backend_pid_(backend_pid), secret_(secret) {}
  Step parse(std::string_view in, std::string& out) override;
  std::string_view request_key() const override { return query_; }
  void serve(std::string& out) override;
  void fail(const ErrorSpec& error, std::string& out) override;
  void serve_partial(const PartialCut& cut, std::string& out) override;

 private:
  Step startup(std::string_view in, std::string& out);
  void ready_for_query(std::string& out);
  SqlEngine& engine_;
  int32_t backend_pid_, secret_;
  bool started_ = false;
  bool skip_to_sync_ = false;
  std::string query_;
};

// Appends one ErrorResponse (severity ERROR) message.
void append_pg_error(std::string& out, std::string_view sqlstate, std::string_view message, bool fatal = false);

}  // namespace chaos::mocks
