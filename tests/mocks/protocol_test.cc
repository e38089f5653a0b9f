// The protocol sessions without sockets: framing under arbitrary splits, limits, and the bytes they
// answer with. (The processes tests cover the same paths end to end with real clients.)
#include "cache/resp_session.h"
#include "core/http.h"
#include "db/pg_session.h"
#include "rpc/rpc_session.h"

#include <gtest/gtest.h>

namespace chaos::mocks {
namespace {

// Feeds `input` in chunks of `chunk` bytes the way the runtime does, serving every request.
std::string drive(ProtocolSession& s, const std::string& input, size_t chunk, int* requests = nullptr,
                  bool* closed = nullptr) {
  std::string buffered, out;
  size_t pos = 0;
  for (size_t off = 0; off < input.size(); off += chunk) {
    buffered.append(input, off, chunk);
    while (pos < buffered.size()) {
      Step st = s.parse(std::string_view(buffered).substr(pos), out);
      pos += st.consumed;
      if (st.kind == StepKind::kNeedMore) break;
      if (st.kind == StepKind::kClose) {
        if (closed) *closed = true;
        return out;
      }
      if (st.kind == StepKind::kRequest) {
        s.serve(out);
        if (requests) ++*requests;
      }
    }
  }
  return out;
}

TEST(RespSessionTest, AnswersTheSameWhateverTheReadBoundaries) {
  std::string input = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nINCR\r\n";
  std::string expected;
  for (size_t chunk : {input.size(), size_t{1}, size_t{2}, size_t{7}}) {
    Store store;
    RespSession s(store);
    int requests = 0;
    std::string out = drive(s, input, chunk, &requests);
    EXPECT_EQ(requests, 4);
    EXPECT_EQ(out, "+OK\r\n$5\r\nhello\r\n+PONG\r\n-ERR wrong number of arguments for 'INCR' command\r\n") << chunk;
  }
}

TEST(RespSessionTest, RejectsOversizedAndMalformedFrames) {
  for (std::string bad : {"*70000\r\n", "*1\r\n$17000000\r\n", "*1\r\n:1\r\n", "*x\r\n", "*1\r\n$3\r\nabcXY"}) {
    Store store;
    RespSession s(store);
    bool closed = false;
    std::string out = drive(s, bad, bad.size(), nullptr, &closed);
    EXPECT_TRUE(closed) << bad;
    EXPECT_EQ(out.rfind("-ERR Protocol error", 0), 0u) << bad;
  }
}

TEST(RespSessionTest, RequestKeyIsTheUpperCasedCommand) {
  Store store;
  RespSession s(store);
  std::string out;
  std::string in = "*2\r\n$3\r\nget\r\n$1\r\nk\r\n";
  ASSERT_EQ(s.parse(in, out).kind, StepKind::kRequest);
  EXPECT_EQ(s.request_key(), "GET");
  s.fail(ErrorSpec{503, "nope", "XX000"}, out);
  EXPECT_EQ(out, "-ERR nope\r\n");
}

TEST(HttpParserTest, ParsesPipelinedRequestsSplitAnywhere) {
  std::string input =
      "POST /rpc/a HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
      "GET /rpc/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (size_t chunk : {input.size(), size_t{1}, size_t{5}}) {
    RpcSession s;
    int requests = 0;
    std::string out = drive(s, input, chunk, &requests);
    EXPECT_EQ(requests, 2) << chunk;
    EXPECT_NE(out.find(R"({"method":"a","result":{"a":1}})"), std::string::npos);
    EXPECT_NE(out.find(R"({"method":"b","result":null})"), std::string::npos);
    EXPECT_TRUE(s.close_after_response());
  }
}

TEST(HttpParserTest, LimitsMapToStatusCodes) {
  HttpRequestParser p(10, 64);
  size_t used = 0;
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", &used), HttpRequestParser::Result::kError);
  EXPECT_EQ(p.error_status(), 413);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", &used), HttpRequestParser::Result::kError);
  EXPECT_EQ(p.error_status(), 431);
  EXPECT_EQ(p.feed("\x01\x02 nonsense\r\n\r\n", &used), HttpRequestParser::Result::kError);
  EXPECT_EQ(p.error_status(), 400);
}

std::string pg_startup() {
  std::string params = std::string("user\0chaos\0database\0mock\0\0", 26);
  uint32_t len = static_cast<uint32_t>(8 + params.size());
  std::string m;
  for (int shift : {24, 16, 8, 0}) m += static_cast<char>(len >> shift);
  for (uint32_t code = 196608; int shift : {24, 16, 8, 0}) m += static_cast<char>(code >> shift);
  return m + params;
}

std::string pg_query(const std::string& sql) {
  uint32_t len = static_cast<uint32_t>(4 + sql.size() + 1);
  std::string m = "Q";
  for (int shift : {24, 16, 8, 0}) m += static_cast<char>(len >> shift);
  return m + sql + '\0';
}

TEST(PgSessionTest, StartupThenQueriesUnderAnySplit) {
  std::string input = pg_startup() + pg_query("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('a')") +
                      pg_query("SELECT v FROM t") + pg_query("SELEC");
  for (size_t chunk : {input.size(), size_t{1}, size_t{3}}) {
    SqlEngine engine;
    PgSession s(engine, 1, 2);
    int requests = 0;
    std::string out = drive(s, input, chunk, &requests);
    EXPECT_EQ(requests, 3) << chunk;
    EXPECT_EQ(out[0], 'R');                                   // AuthenticationOk first
    EXPECT_NE(out.find("server_version"), std::string::npos);
    EXPECT_NE(out.find(std::string("CREATE TABLE\0", 13)), std::string::npos);
    EXPECT_NE(out.find(std::string("INSERT 0 1\0", 11)), std::string::npos);
    EXPECT_NE(out.find(std::string("SELECT 1\0", 9)), std::string::npos);
    EXPECT_NE(out.find(std::string("C42601\0", 7)), std::string::npos);  // syntax error SQLSTATE
    EXPECT_EQ(out.substr(out.size() - 6), std::string("Z\0\0\0\x05I", 6));
  }
}

TEST(PgSessionTest, BadLengthsAreFatalForThatConnectionOnly) {
  SqlEngine engine;
  PgSession s(engine, 1, 2);
  bool closed = false;
  std::string out = drive(s, pg_startup() + std::string("Q\xff\xff\xff\xff", 5), 1000, nullptr, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(out.find(std::string("C08P01\0", 7)), std::string::npos);
}

TEST(SqlEngineTest, MapsSqliteErrorsToSqlstates) {
  EXPECT_EQ(command_tag("  insert into t values (1)", 3, 0), "INSERT 0 3");
  EXPECT_EQ(command_tag("create unique index i on t(x)", 0, 0), "CREATE INDEX");
  EXPECT_EQ(command_tag("select 1", 0, 1), "SELECT 1");
  EXPECT_EQ(sqlstate_for(0, "no such table: x"), "42P01");
  EXPECT_EQ(sqlstate_for(0, "near \"SELEC\": syntax error"), "42601");
}

}  // namespace
}  // namespace chaos::mocks
