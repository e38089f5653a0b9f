// Protocol-aware `partial` faults, observed with real clients (hiredis, libpq, HTTP) and with raw
// sockets that show exactly where each mock cut its answer: after whole DataRows (no CommandComplete,
// no ReadyForQuery), after whole RESP array elements or inside a bulk payload whose header announced
// the full length, and inside an HTTP body whose complete headers announced the full Content-Length.
#include "mock_test_fixture.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loopback TCP connection that sends bytes and collects the answer with a deadline.
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  bool ok() const { return ok_; }
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `done(received)` holds, the peer closes, or `deadline` passes.
  template <typename Done>
  std::string read_until(Done done, std::chrono::milliseconds deadline) {
    auto end = Clock::now() + deadline;
    while (!done(got_) && !closed_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  // Everything the peer sends until it closes (or the deadline passes: then closed() is false).
  std::string read_to_close(std::chrono::milliseconds deadline = 5s) {
    return read_until([](const std::string&) { return false; }, deadline);
  }
  bool closed() const { return closed_; }
  void forget_received() { got_.clear(); }

 private:
  int fd_ = -1;
  bool ok_ = false, closed_ = false;
  std::string got_;
};

// ---- mock-db ------------------------------------------------------------------------------------

uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}
void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(v >> shift);
}

// The type letters of the complete backend messages in `bytes`, and whether bytes are left over.
struct PgMessages {
  std::string types;
  bool trailing_bytes = false;
};
PgMessages pg_message_types(const std::string& bytes) {
  PgMessages m;
  size_t pos = 0;
  while (pos + 5 <= bytes.size()) {
    size_t len = be32(bytes, pos + 1);
    if (pos + 1 + len > bytes.size()) break;
    m.types += bytes[pos];
    pos += 1 + len;
  }
  m.trailing_bytes = pos != bytes.size();
  return m;
}

// A raw PostgreSQL v3 client: startup with trust auth, then one simple Query.
class RawPg {
 public:
  explicit RawPg(int port) : sock_(port) {
    if (!sock_.ok()) return;
    std::string params = std::string("user\0chaos\0database\0mock\0\0", 26);
    std::string startup;
    put32(startup, static_cast<uint32_t>(8 + params.size()));
    put32(startup, 196608);  // protocol 3.0
    startup += params;
    sock_.send_all(startup);
    std::string hello = sock_.read_until([](const std::string& got) { return ends_with_ready(got); }, 5s);
    ready_ = ends_with_ready(hello);
    sock_.forget_received();
  }
  bool ready() const { return ready_; }
  // Sends one Query and returns everything received until the server closes (or 5 s pass).
  std::string query_to_close(const std::string& sql) {
    std::string q = "Q";
    put32(q, static_cast<uint32_t>(4 + sql.size() + 1));
    q += sql;
    q += '\0';
    sock_.send_all(q);
    return sock_.read_to_close();
  }
  bool closed() const { return sock_.closed(); }

 private:
  static bool ends_with_ready(const std::string& got) {
    PgMessages m = pg_message_types(got);
    return !m.types.empty() && m.types.back() == 'Z' && !m.trailing_bytes;
  }
  RawSocket sock_;
  bool ready_ = false;
};

// What a libpq client in single-row mode received before the query ended.
struct SingleRowOutcome {
  std::vector<std::string> rows;    // first column of each row that arrived
  std::string column_name;          // from the RowDescription libpq parsed
  ExecStatusType final_status = PGRES_EMPTY_QUERY;  // the result that ended the query
  bool connection_bad = false;
  bool timed_out = false;
};

// Runs `sql` in single-row mode, so every DataRow that arrives is seen even when the query then fails;
// waits on the socket with a deadline instead of blocking in libpq.
SingleRowOutcome run_single_row(PGconn* conn, const std::string& sql, std::chrono::milliseconds deadline = 5s) {
  SingleRowOutcome out;
  if (PQsendQuery(conn, sql.c_str()) != 1 || PQsetSingleRowMode(conn) != 1) {
    out.final_status = PGRES_FATAL_ERROR;
    return out;
  }
  auto end = Clock::now() + deadline;
  constexpr int kMaxResults = 1000;  // far more than any query here returns
  for (int i = 0; i < kMaxResults; ++i) {
    while (PQisBusy(conn)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) {
        out.timed_out = true;
        return out;
      }
      pollfd p{PQsocket(conn), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
      if (PQconsumeInput(conn) != 1) break;  // connection lost: PQgetResult reports it
    }
    PGresult* res = PQgetResult(conn);
    if (!res) break;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_SINGLE_TUPLE) {
      if (out.column_name.empty() && PQnfields(res) > 0) out.column_name = PQfname(res, 0);
      out.rows.emplace_back(PQgetvalue(res, 0, 0));
    } else {
      out.final_status = st;
    }
    PQclear(res);
  }
  out.connection_bad = PQstatus(conn) == CONNECTION_BAD;
  return out;
}

class PgConn {
 public:
  explicit PgConn(int port) {
    std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " user=chaos dbname=mock connect_timeout=3";
    conn_ = PQconnectdb(conninfo.c_str());
  }
  ~PgConn() { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() { return conn_; }

 private:
  PGconn* conn_;
};

constexpr const char* kSixRows =
    "SELECT 'r1' AS item UNION ALL SELECT 'r2' UNION ALL SELECT 'r3' UNION ALL SELECT 'r4' "
    "UNION ALL SELECT 'r5' UNION ALL SELECT 'r6'";

class MockDbPartialTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-db"); }
};

TEST_F(MockDbPartialTest, LibpqReceivesTheFirstNRowsThenLosesTheConnection) {
  PgConn db(port());
  ASSERT_TRUE(db.ok()) << PQerrorMessage(db.raw());
  control().must_add({{"type", "partial"}, {"count", 2}});
  SingleRowOutcome r = run_single_row(db.raw(), kSixRows);
  ASSERT_FALSE(r.timed_out) << "the mock neither finished nor dropped the query";
  EXPECT_EQ(r.column_name, "item") << "RowDescription arrived whole";
  EXPECT_EQ(r.rows, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(r.final_status, PGRES_FATAL_ERROR);
  EXPECT_TRUE(r.connection_bad) << "no CommandComplete: the query ends with the connection lost";
  EXPECT_EQ(control().stats()["requests_failed_by_fault"]["partial"], 1);

  control().clear();
  PgConn fresh(port());
  ASSERT_TRUE(fresh.ok());
  SingleRowOutcome whole = run_single_row(fresh.raw(), kSixRows);
  EXPECT_EQ(whole.rows.size(), 6u);
  EXPECT_EQ(whole.final_status, PGRES_TUPLES_OK);
  EXPECT_FALSE(whole.connection_bad);
}

TEST_F(MockDbPartialTest, OnTheWireTheCutFallsAfterWholeDataRowsWithNoCommandComplete) {
  control().must_add({{"type", "partial"}, {"fraction", 0.5}, {"match", "SELECT*"}});
  RawPg pg(port());
  ASSERT_TRUE(pg.ready()) << "startup is not subject to request faults";
  std::string answer = pg.query_to_close(kSixRows);
  ASSERT_TRUE(pg.closed()) << "the mock must drop the connection after the rows";
  PgMessages m = pg_message_types(answer);
  EXPECT_EQ(m.types, "TDDD") << "RowDescription, half of six DataRows, then nothing";
  EXPECT_FALSE(m.trailing_bytes) << "the cut must not split a message";
}

TEST_F(MockDbPartialTest, ACountAtOrBeyondTheRowsStillWithholdsTheLastRow) {
  control().must_add({{"type", "partial"}, {"count", 100}});
  RawPg pg(port());
  ASSERT_TRUE(pg.ready());
  std::string answer = pg.query_to_close(kSixRows);
  ASSERT_TRUE(pg.closed());
  EXPECT_EQ(pg_message_types(answer).types, "TDDDDD") << "a partial answer is always short";
}

TEST_F(MockDbPartialTest, AQueryWithoutRowsIsCutBeforeItsCommandComplete) {
  control().must_add({{"type", "partial"}});
  RawPg pg(port());
  ASSERT_TRUE(pg.ready());
  std::string none = pg.query_to_close("SELECT 1 WHERE 1 = 0");
  ASSERT_TRUE(pg.closed());
  EXPECT_EQ(pg_message_types(none).types, "T");
  RawPg pg2(port());
  ASSERT_TRUE(pg2.ready());
  std::string ddl = pg2.query_to_close("CREATE TABLE t(x)");
  ASSERT_TRUE(pg2.closed());
  EXPECT_EQ(ddl, "") << "no rows to send: the client gets only the close";
}

// ---- mock-cache ---------------------------------------------------------------------------------

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

class MockCachePartialTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-cache"); }
};

TEST_F(MockCachePartialTest, ABulkReplyKeepsItsFullLengthHeaderAndLosesHalfItsPayload) {
  const std::string value(1000, 'v');
  {
    RawSocket setup(port());
    ASSERT_TRUE(setup.ok());
    setup.send_all(resp_command({"SET", "big", value}));
    EXPECT_EQ(setup.read_until([](const std::string& got) { return got.find("\r\n") != std::string::npos; }, 5s),
              "+OK\r\n");
  }
  control().must_add({{"type", "partial"}, {"match", "GET"}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(resp_command({"GET", "big"}));
  std::string got = c.read_to_close();
  ASSERT_TRUE(c.closed());
  EXPECT_EQ(got, "$1000\r\n" + std::string(500, 'v'));

  // hiredis waits for the announced 1000 bytes, then sees the server close.
  timeval tv{3, 0};
  redisContext* r = redisConnectWithTimeout("127.0.0.1", port(), tv);
  ASSERT_TRUE(r && !r->err);
  redisSetTimeout(r, tv);
  auto* reply = static_cast<redisReply*>(redisCommand(r, "GET big"));
  EXPECT_EQ(reply, nullptr);
  EXPECT_EQ(r->err, REDIS_ERR_EOF) << r->errstr;
  if (reply) freeReplyObject(reply);
  redisFree(r);
}

TEST_F(MockCachePartialTest, AnArrayReplyKeepsItsHeaderAndSendsOnlyWholeLeadingElements) {
  control().must_add({{"type", "partial"}, {"match", "CONFIG"}, {"count", 1}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(resp_command({"CONFIG", "GET", "appendonly"}));
  std::string got = c.read_to_close();
  ASSERT_TRUE(c.closed());
  EXPECT_EQ(got, "*2\r\n$10\r\nappendonly\r\n") << "the header announces two elements, one arrives whole";

  timeval tv{3, 0};
  redisContext* r = redisConnectWithTimeout("127.0.0.1", port(), tv);
  ASSERT_TRUE(r && !r->err);
  redisSetTimeout(r, tv);
  auto* reply = static_cast<redisReply*>(redisCommand(r, "CONFIG GET appendonly"));
  EXPECT_EQ(reply, nullptr) << "half an array must not parse as a reply";
  EXPECT_EQ(r->err, REDIS_ERR_EOF) << r->errstr;
  if (reply) freeReplyObject(reply);
  redisFree(r);
}

TEST_F(MockCachePartialTest, OtherCommandsOnTheConnectionBeforeTheCutAreAnsweredWhole) {
  control().must_add({{"type", "partial"}, {"match", "ECHO"}, {"fraction", 0.25}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(resp_command({"PING"}) + resp_command({"ECHO", "abcdefgh"}));
  std::string got = c.read_to_close();
  ASSERT_TRUE(c.closed());
  EXPECT_EQ(got, "+PONG\r\n$8\r\nab");
}

// ---- mock-rpc -----------------------------------------------------------------------------------

struct HttpParts {
  std::string head;  // through the blank line
  std::string body;
  size_t content_length = 0;
  bool has_head = false;
};
HttpParts split_http(const std::string& raw) {
  HttpParts p;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return p;
  p.has_head = true;
  p.head = raw.substr(0, end + 4);
  p.body = raw.substr(end + 4);
  size_t cl = p.head.find("Content-Length: ");
  if (cl != std::string::npos) p.content_length = std::stoul(p.head.substr(cl + 16));
  return p;
}

std::string http_post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class MockRpcPartialTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-rpc"); }
};

TEST_F(MockRpcPartialTest, HeadersArriveWholeWithTheFullContentLengthAndTheBodyIsShort) {
  const std::string params = R"({"payload":"0123456789abcdefghij"})";
  HttpResult whole = http_request(port(), "POST", "/rpc/item.get", params);
  ASSERT_EQ(whole.status, 200);
  const std::string full_body = whole.body;

  control().must_add({{"type", "partial"}, {"match", "item.*"}, {"fraction", 0.5}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(http_post("/rpc/item.get", params));
  std::string raw = c.read_to_close();
  ASSERT_TRUE(c.closed());
  HttpParts got = split_http(raw);
  ASSERT_TRUE(got.has_head) << "the cut must not land in the headers: " << raw;
  EXPECT_EQ(got.head.rfind("HTTP/1.1 200 ", 0), 0u) << got.head;
  EXPECT_EQ(got.content_length, full_body.size()) << "Content-Length announces the whole body";
  EXPECT_EQ(got.body, full_body.substr(0, full_body.size() / 2));

  EXPECT_EQ(http_request(port(), "POST", "/rpc/item.get", params).status, 0) << "an HTTP client sees a failed call";
  EXPECT_EQ(http_request(port(), "POST", "/rpc/other", params).status, 200) << "match scopes the fault";
}

TEST_F(MockRpcPartialTest, CountSendsThatManyBodyBytes) {
  control().must_add({{"type", "partial"}, {"count", 5}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(http_post("/rpc/m", "{}"));
  std::string raw = c.read_to_close();
  ASSERT_TRUE(c.closed());
  HttpParts got = split_http(raw);
  ASSERT_TRUE(got.has_head) << raw;
  EXPECT_EQ(got.body, R"({"met)");
  EXPECT_GT(got.content_length, 5u);
}

TEST_F(MockRpcPartialTest, BytesStillCutTheRawResponseWhereverItLands) {
  control().must_add({{"type", "partial"}, {"bytes", 10}});
  RawSocket c(port());
  ASSERT_TRUE(c.ok());
  c.send_all(http_post("/rpc/m", "{}"));
  std::string raw = c.read_to_close();
  ASSERT_TRUE(c.closed());
  EXPECT_EQ(raw, "HTTP/1.1 2") << "a raw cut inside the status line, for testing a client's parser";
}

TEST_F(MockRpcPartialTest, OnlyOneWayOfSayingHowMuchIsAccepted) {
  HttpResult r = control().add_fault({{"type", "partial"}, {"count", 1}, {"fraction", 0.5}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not several"), std::string::npos) << r.body;
  EXPECT_EQ(control().add_fault({{"type", "partial"}, {"count", -1}}).status, 400);
  HttpResult ok = control().add_fault({{"type", "partial"}, {"count", 3}});
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(control().faults()[0]["count"], 3);
}

}  // namespace
}  // namespace chaos::mocks::testing
