// PostgreSQL message framing and the mapping of SQLite results onto it.
#include "db/pg_session.h"

#include <cstring>

namespace chaos::mocks {
namespace {

uint32_t be32(const char* p) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(p[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 8) | static_cast<uint32_t>(static_cast<unsigned char>(p[3]));
}
void put32(std::string& out, uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}
void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}
// Starts a message; returns the offset of its length field, finished by end_msg.
size_t begin_msg(std::string& out, char type) {
  out += type;
  size_t at = out.size();
  put32(out, 0);
  return at;
}
void end_msg(std::string& out, size_t at) {
  uint32_t len = static_cast<uint32_t>(out.size() - at);
  out[at] = static_cast<char>(len >> 24);
  out[at + 1] = static_cast<char>(len >> 16);
  out[at + 2] = static_cast<char>(len >> 8);
  out[at + 3] = static_cast<char>(len);
}
void cstr(std::string& out, std::string_view s) {
  out += s;
  out += '\0';
}
void parameter_status(std::string& out, std::string_view k, std::string_view v) {
  size_t at = begin_msg(out, 'S');
  cstr(out, k);
  cstr(out, v);
  end_msg(out, at);
}

}  // namespace

void append_pg_error(std::string& out, std::string_view sqlstate, std::string_view message, bool fatal) {
  size_t at = begin_msg(out, 'E');
  out += 'S';
  cstr(out, fatal ? "FATAL" : "ERROR");
  out += 'V';
  cstr(out, fatal ? "FATAL" : "ERROR");
  out += 'C';
  cstr(out, sqlstate);
  out += 'M';
  // A NUL would end the field early; SQLite messages have none, fault messages are checked.
  cstr(out, message.substr(0, message.find('\0')));
  out += '\0';
  end_msg(out, at);
}

void PgSession::ready_for_query(std::string& out) {
  size_t at = begin_msg(out, 'Z');
  out += engine_.in_transaction() ? 'T' : 'I';
  end_msg(out, at);
}

Step PgSession::startup(std::string_view in, std::string& out) {
  if (in.size() < 8) return {};
  uint32_t len = be32(in.data());
  if (len < 8 || len > kMaxStartup) {
    append_pg_error(out, "08P01", "invalid startup packet length " + std::to_string(len), true);
    return {StepKind::kClose, 0};
  }
  if (in.size() < len) return {};
  uint32_t code = be32(in.data() + 4);
  if (code == 80877103 || code == 80877104) {  // SSLRequest, GSSENCRequest: not supported, go plain
    out += 'N';
    return {StepKind::kReply, len};
  }
  if (code == 80877102) return {StepKind::kClose, len};  // CancelRequest: nothing to cancel
  if (code != 196608) {
    append_pg_error(out, "0A000", "unsupported frontend protocol " + std::to_string(code >> 16) + "." +
                                      std::to_string(code & 0xffff) + ": mock-db speaks 3.0", true);
    return {StepKind::kClose, len};
  }
  std::string application_name;
  std::string_view params = in.substr(8, len - 8);
  while (!params.empty() && params[0] != '\0') {
    size_t k_end = params.find('\0');
    if (k_end == std::string_view::npos) break;
    std::string_view key = params.substr(0, k_end);
    params.remove_prefix(k_end + 1);
    size_t v_end = params.find('\0');
    if (v_end == std::string_view::npos) break;
    if (key == "application_name") application_name = std::string(params.substr(0, v_end));
    params.remove_prefix(v_end + 1);
  }
  size_t at = begin_msg(out, 'R');
  put32(out, 0);  // AuthenticationOk: trust
  end_msg(out, at);
  parameter_status(out, "server_version", "15.0");
  parameter_status(out, "server_encoding", "UTF8");
  parameter_status(out, "client_encoding", "UTF8");
  parameter_status(out, "DateStyle", "ISO, MDY");
  parameter_status(out, "integer_datetimes", "on");
  parameter_status(out, "standard_conforming_strings", "on");
  parameter_status(out, "TimeZone", "UTC");
  parameter_status(out, "IntervalStyle", "postgres");
  parameter_status(out, "is_superuser", "on");
  parameter_status(out, "application_name", application_name);
  at = begin_msg(out, 'K');
  put32(out, static_cast<uint32_t>(backend_pid_));
  put32(out, static_cast<uint32_t>(secret_));
  end_msg(out, at);
  ready_for_query(out);
  started_ = true;
  return {StepKind::kReply, len};
}

Step PgSession::parse(std::string_view in, std::string& out) {
  if (!started_) return startup(in, out);
  if (in.size() < 5) return {};
  char type = in[0];
  uint32_t len = be32(in.data() + 1);
  if (len < 4 || len > kMaxMessage) {
    append_pg_error(out, "08P01", "invalid message length " + std::to_string(len), true);
    return {StepKind::kClose, 0};
  }
  if (in.size() < 1 + static_cast<size_t>(len)) return {};
  std::string_view body = in.substr(5, len - 4);
  size_t consumed = 1 + static_cast<size_t>(len);
  switch (type) {
    case 'Q': {
      if (skip_to_sync_) return {StepKind::kReply, consumed};
      size_t nul = body.find('\0');
      query_.assign(body.substr(0, nul));
      return {StepKind::kRequest, consumed};
    }
    case 'X': return {StepKind::kClose, consumed};
    case 'S':
      skip_to_sync_ = false;
      ready_for_query(out);
      return {StepKind::kReply, consumed};
    case 'H': return {StepKind::kReply, consumed};  // Flush: we always flush
    case 'P': case 'B': case 'D': case 'E': case 'C': case 'F':
      if (!skip_to_sync_) {
        append_pg_error(out, "0A000", "mock-db supports only the simple query protocol (no Parse/Bind/Execute)");
        skip_to_sync_ = true;
      }
      return {StepKind::kReply, consumed};
    default:
      append_pg_error(out, "08P01", std::string("unexpected message type '") + type + "'", true);
      return {StepKind::kClose, consumed};
  }
}

void PgSession::serve(std::string& out) {
  SqlResultSink sink;
  sink.columns = [&](const std::vector<SqlColumn>& cols) {
    size_t at = begin_msg(out, 'T');
    put16(out, static_cast<uint16_t>(cols.size()));
    for (const auto& c : cols) {
      cstr(out, c.name);
      put32(out, 0);  // table oid
      put16(out, 0);  // column number
      put32(out, c.type_oid);
      put16(out, static_cast<uint16_t>(c.type_oid == 20 || c.type_oid == 701 ? 8 : 0xffff));  // typlen (-1 varlena)
      put32(out, 0xffffffff);  // typmod -1
      put16(out, 0);           // text format
    }
    end_msg(out, at);
  };
  sink.row = [&](const std::vector<std::optional<std::string>>& row) {
    size_t at = begin_msg(out, 'D');
    put16(out, static_cast<uint16_t>(row.size()));
    for (const auto& v : row) {
      if (!v) {
        put32(out, 0xffffffff);
      } else {
        put32(out, static_cast<uint32_t>(v->size()));
        out += *v;
      }
    }
    end_msg(out, at);
  };
  sink.done = [&](const std::string& tag) {
    size_t at = begin_msg(out, 'C');
    cstr(out, tag);
    end_msg(out, at);
  };
  sink.empty_query = [&] {
    size_t at = begin_msg(out, 'I');
    end_msg(out, at);
  };
  if (auto err = engine_.execute(query_, sink)) append_pg_error(out, err->sqlstate, err->message);
  ready_for_query(out);
}

void PgSession::serve_partial(const PartialCut& cut, std::string& out) {
  std::string full;
  serve(full);  // the statement really runs: its side effects happen, only the answer is lost
  size_t rows = 0;
  for (size_t pos = 0; pos + 5 <= full.size(); pos += 1 + be32(full.data() + pos + 1)) rows += full[pos] == 'D';
  // RowDescription and the first `keep` DataRows, then nothing: no CommandComplete, no ReadyForQuery.
  // With no rows at all the cut comes right after the RowDescription (or before the first message).
  size_t keep = cut.units_to_send(rows);
  size_t pos = 0, sent_rows = 0;
  while (pos + 5 <= full.size()) {
    char type = full[pos];
    if (type == 'D') {
      if (sent_rows == keep) break;
      ++sent_rows;
    } else if (rows == 0 && type != 'T') {
      break;
    }
    pos += 1 + be32(full.data() + pos + 1);
  }
  out.append(full, 0, pos);
}

void PgSession::fail(const ErrorSpec& error, std::string& out) {
  append_pg_error(out, error.sqlstate, error.message);
  ready_for_query(out);
}

}  // namespace chaos::mocks
