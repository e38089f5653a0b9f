// SQLite execution and the PostgreSQL-flavoured view of its results and errors.
#include "db/sql_engine.h"

#include <sqlite3.h>

#include <cctype>

namespace chaos::mocks {
namespace {

std::string upper_word(std::string_view s, size_t* pos) {
  while (*pos < s.size() && !std::isalpha(static_cast<unsigned char>(s[*pos]))) ++*pos;
  std::string w;
  while (*pos < s.size() && std::isalpha(static_cast<unsigned char>(s[*pos])))
    w += static_cast<char>(std::toupper(static_cast<unsigned char>(s[(*pos)++])));
  return w;
}

uint32_t oid_for_decl(const char* decl) {
  if (!decl) return 25;
  std::string d;
  for (const char* p = decl; *p; ++p) d += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  if (d.find("INT") != std::string::npos) return 20;
  if (d.find("REAL") != std::string::npos || d.find("FLOA") != std::string::npos || d.find("DOUB") != std::string::npos)
    return 701;
  if (d.find("BLOB") != std::string::npos) return 17;
  return 25;
}

void version_fn(sqlite3_context* ctx, int, sqlite3_value**) {
  std::string v = std::string("PostgreSQL 15.0 (chaos mock-db on SQLite ") + sqlite3_libversion() + ")";
  sqlite3_result_text(ctx, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void current_database_fn(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, "mock", -1, SQLITE_STATIC);
}

}  // namespace

std::string sqlstate_for(int code, std::string_view msg) {
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return "23505";
    case SQLITE_CONSTRAINT_NOTNULL: return "23502";
    case SQLITE_CONSTRAINT_CHECK: return "23514";
    case SQLITE_CONSTRAINT_FOREIGNKEY: return "23503";
    case SQLITE_INTERRUPT: return "57014";
    case SQLITE_TOOBIG: return "54000";
    default: break;
  }
  if (msg.find("syntax error") != std::string_view::npos || msg.find("incomplete input") != std::string_view::npos ||
      msg.find("unrecognized token") != std::string_view::npos)
    return "42601";
  if (msg.find("no such table") != std::string_view::npos) return "42P01";
  if (msg.find("no such column") != std::string_view::npos) return "42703";
  if (msg.find("no such function") != std::string_view::npos) return "42883";
  if (msg.find("already exists") != std::string_view::npos) return "42P07";
  if ((code & 0xff) == SQLITE_CONSTRAINT) return "23000";
  return "XX000";
}

std::string command_tag(std::string_view sql, int64_t changes, int64_t rows) {
  size_t pos = 0;
  std::string w = upper_word(sql, &pos);
  if (w == "WITH") {  // a CTE: the verb that follows the CTEs decides the tag; approximate by result
    return "SELECT " + std::to_string(rows);
  }
  if (w == "SELECT" || w == "VALUES" || w == "PRAGMA" || w == "EXPLAIN") return "SELECT " + std::to_string(rows);
  if (w == "INSERT" || w == "REPLACE") return "INSERT 0 " + std::to_string(changes);
  if (w == "UPDATE" || w == "DELETE") return w + " " + std::to_string(changes);
  if (w == "CREATE" || w == "DROP" || w == "ALTER") {
    std::string obj = upper_word(sql, &pos);
    if (obj == "UNIQUE" || obj == "TEMP" || obj == "TEMPORARY" || obj == "VIRTUAL") obj = upper_word(sql, &pos);
    return w + " " + obj;
  }
  if (w == "BEGIN" || w == "START") return "BEGIN";
  if (w == "COMMIT" || w == "END") return "COMMIT";
  return w;
}

SqlEngine::SqlEngine() {
  if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db_);
    db_ = nullptr;
    return;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_progress_handler(db_, 10000, &SqlEngine::progress, this);
  sqlite3_create_function(db_, "version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, version_fn, nullptr, nullptr);
  sqlite3_create_function(db_, "current_database", 0, SQLITE_UTF8, nullptr, current_database_fn, nullptr, nullptr);
}

SqlEngine::~SqlEngine() { sqlite3_close(db_); }

int SqlEngine::progress(void* self) {
  return std::chrono::steady_clock::now() > static_cast<SqlEngine*>(self)->deadline_ ? 1 : 0;
}

bool SqlEngine::in_transaction() const { return db_ && sqlite3_get_autocommit(db_) == 0; }

std::optional<SqlError> SqlEngine::execute(std::string_view sql, const SqlResultSink& sink) {
  const char* p = sql.data();
  const char* end = sql.data() + sql.size();
  bool any = false;
  while (p < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    deadline_ = std::chrono::steady_clock::now() + kStatementTimeLimit;
    int rc = sqlite3_prepare_v2(db_, p, static_cast<int>(end - p), &stmt, &tail);
    if (rc != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db_);
      return SqlError{sqlstate_for(sqlite3_extended_errcode(db_), msg), msg};
    }
    std::string_view text(p, static_cast<size_t>(tail - p));
    p = tail;
    if (!stmt) continue;  // whitespace or a comment
    any = true;
    int ncols = sqlite3_column_count(stmt);
    int64_t rows = 0;
    bool described = false;
    std::vector<std::optional<std::string>> row(static_cast<size_t>(ncols));
    auto describe = [&](bool from_values) {
      std::vector<SqlColumn> cols;
      for (int i = 0; i < ncols; ++i) {
        uint32_t oid = oid_for_decl(sqlite3_column_decltype(stmt, i));
        if (from_values) {
          switch (sqlite3_column_type(stmt, i)) {
            case SQLITE_INTEGER: oid = 20; break;
            case SQLITE_FLOAT: oid = 701; break;
            case SQLITE_BLOB: oid = 17; break;
            case SQLITE_TEXT: oid = 25; break;
            default: break;
          }
        }
        cols.push_back({sqlite3_column_name(stmt, i), oid});
      }
      sink.columns(cols);
      described = true;
    };
    for (;;) {
      rc = sqlite3_step(stmt);
      if (rc != SQLITE_ROW) break;
      if (!described) describe(true);
      for (int i = 0; i < ncols; ++i) {
        int t = sqlite3_column_type(stmt, i);
        if (t == SQLITE_NULL) {
          row[static_cast<size_t>(i)].reset();
        } else if (t == SQLITE_BLOB) {
          static const char* kHex = "0123456789abcdef";
          const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, i));
          int n = sqlite3_column_bytes(stmt, i);
          std::string s = "\\x";
          for (int k = 0; k < n; ++k) {
            s += kHex[b[k] >> 4];
            s += kHex[b[k] & 15];
          }
          row[static_cast<size_t>(i)] = std::move(s);
        } else {
          const auto* txt = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
          row[static_cast<size_t>(i)] = std::string(txt, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
        }
      }
      sink.row(row);
      ++rows;
    }
    if (rc != SQLITE_DONE) {
      std::string msg = sqlite3_errmsg(db_);
      int code = sqlite3_extended_errcode(db_);
      sqlite3_finalize(stmt);
      if (code == SQLITE_INTERRUPT) msg = "canceling statement due to statement timeout";
      return SqlError{sqlstate_for(code, msg), msg};
    }
    if (ncols > 0 && !described) describe(false);
    int64_t changes = sqlite3_changes64(db_);
    sqlite3_finalize(stmt);
    sink.done(command_tag(text, changes, rows));
  }
  if (!any) sink.empty_query();
  return std::nullopt;
}

}  // namespace chaos::mocks
