// mock-db's storage: one in-memory SQLite database shared by every connection, with SQL errors mapped
// to PostgreSQL SQLSTATEs and a time limit per statement so no query can stall the event loop.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace chaos::mocks {

struct SqlError {
  std::string sqlstate;
  std::string message;
};

// Callbacks of one statement's result, in order: columns (once, for row-returning statements), rows,
// then done with the PostgreSQL command tag.
struct SqlColumn {
  std::string name;
  uint32_t type_oid;  // 20 int8, 701 float8, 25 text, 17 bytea
};
struct SqlResultSink {
  std::function<void(const std::vector<SqlColumn>&)> columns;
  std::function<void(const std::vector<std::optional<std::string>>&)> row;
  std::function<void(const std::string& tag)> done;
  std::function<void()> empty_query;
};

class SqlEngine {
 public:
  static constexpr auto kStatementTimeLimit = std::chrono::seconds(5);

  SqlEngine();
  ~SqlEngine();
  SqlEngine(const SqlEngine&) = delete;
  SqlEngine& operator=(const SqlEngine&) = delete;

  bool ok() const { return db_ != nullptr; }
  // Runs every statement in `sql` in order, stopping at the first error (returned).
  std::optional<SqlError> execute(std::string_view sql, const SqlResultSink& sink);
  bool in_transaction() const;

 private:
  sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  static int progress(void* self);
};

// Maps a SQLite error (extended code and message) to a PostgreSQL SQLSTATE.
std::string sqlstate_for(int extended_code, std::string_view message);
// "INSERT 0 1", "SELECT 3", "CREATE TABLE", ... for a statement's leading keywords.
std::string command_tag(std::string_view sql, int64_t changes, int64_t rows);

}  // namespace chaos::mocks
