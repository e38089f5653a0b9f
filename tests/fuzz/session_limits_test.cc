// Issue 5, "size limits on every control-API body and protocol frame": each limit the mocks promise
// (docs/MOCKS.md) checked at its boundary on the real session code, with no sockets. Also the RESP
// parser's incremental consumption, which keeps a big command linear in time however it is split.
#include <gtest/gtest.h>

#include <cstdio>

#include "cache/resp_session.h"
#include "core/control_api.h"
#include "core/http.h"
#include "db/pg_session.h"
#include "rpc/rpc_session.h"
#include "session_driver.h"

namespace chaos::mocks {
namespace {

std::string resp_header(size_t n) { return "*" + std::to_string(n) + "\r\n"; }
std::string resp_bulk_header(size_t len) { return "$" + std::to_string(len) + "\r\n"; }
std::string be32(uint32_t v) {
  std::string s;
  for (int shift : {24, 16, 8, 0}) s += static_cast<char>(v >> shift);
  return s;
}
std::string pg_startup() {
  std::string params("user\0chaos\0\0", 12);
  return be32(static_cast<uint32_t>(8 + params.size())) + be32(196608) + params;
}

TEST(RespLimitsTest, BulkArgumentLimitIsSixteenMiB) {
  Store store;
  RespSession ok_session(store);
  std::string out;
  // Exactly the limit: accepted as a length (the session waits for the bytes).
  Step st = ok_session.parse(resp_header(2) + "$3\r\nGET\r\n" + resp_bulk_header(RespSession::kMaxBulk), out);
  EXPECT_EQ(st.kind, StepKind::kNeedMore);
  EXPECT_TRUE(out.empty());
  RespSession bad(store);
  st = bad.parse(resp_header(2) + "$3\r\nGET\r\n" + resp_bulk_header(RespSession::kMaxBulk + 1), out);
  EXPECT_EQ(st.kind, StepKind::kClose);
  EXPECT_EQ(out, "-ERR Protocol error: invalid bulk length\r\n");
}

TEST(RespLimitsTest, ArgumentCountLimitAndNegativeLengths) {
  for (std::string bad : {resp_header(RespSession::kMaxArgs + 1), std::string("*1\r\n$-2\r\n"),
                          std::string("*99999999999999999999\r\n"), std::string("*1\r\n$") + std::string(40, '9')}) {
    Store store;
    RespSession s(store);
    std::string out;
    EXPECT_EQ(s.parse(bad, out).kind, StepKind::kClose) << bad;
    EXPECT_EQ(out.rfind("-ERR Protocol error", 0), 0u) << bad;
  }
  Store store;
  RespSession s(store);
  std::string out;
  EXPECT_EQ(s.parse(resp_header(RespSession::kMaxArgs), out).kind, StepKind::kNeedMore);
}

TEST(RespLimitsTest, InlineLineLimit) {
  Store store;
  RespSession s(store);
  std::string out;
  EXPECT_EQ(s.parse(std::string(RespSession::kMaxInline, 'a'), out).kind, StepKind::kNeedMore);
  EXPECT_EQ(s.parse(std::string(RespSession::kMaxInline + 1, 'a'), out).kind, StepKind::kClose);
  EXPECT_EQ(out, "-ERR Protocol error: too big inline request\r\n");
}

TEST(RespLimitsTest, WholeCommandLimitCountsEveryArgument) {
  // "DEL" plus arguments that bring the command to exactly 64 MiB are taken; one more byte is refused
  // before it is buffered.
  Store store;
  RespSession s(store);
  std::string out;
  std::string in = resp_header(6) + "$3\r\nDEL\r\n";
  Step st = s.parse(in, out);
  ASSERT_EQ(st.kind, StepKind::kNeedMore);
  ASSERT_EQ(st.consumed, in.size());
  for (size_t len : {RespSession::kMaxBulk, RespSession::kMaxBulk, RespSession::kMaxBulk, RespSession::kMaxBulk - 3}) {
    std::string arg = resp_bulk_header(len) + std::string(len, 'v') + "\r\n";
    st = s.parse(arg, out);
    ASSERT_EQ(st.kind, StepKind::kNeedMore) << out;
    ASSERT_EQ(st.consumed, arg.size());  // a complete argument is consumed at once
  }
  st = s.parse(resp_bulk_header(1), out);
  EXPECT_EQ(st.kind, StepKind::kClose);
  EXPECT_EQ(out, "-ERR Protocol error: command larger than " + std::to_string(RespSession::kMaxCommand) + " bytes\r\n");
}

TEST(RespLimitsTest, BigCommandIsConsumedAsItArrivesNotRescanned) {
  // 200 arguments of 1000 bytes, fed 100 bytes at a time: each parse() consumes every argument that
  // is complete, so no byte is looked at again when more arrive, and the command still comes out whole.
  std::string input = resp_header(201) + "$4\r\nECHO\r\n";
  for (int i = 0; i < 200; ++i)
    input += resp_bulk_header(1000) + std::string(1000, static_cast<char>('a' + i % 26)) + "\r\n";
  Store store;
  RespSession s(store);
  std::string buffered, out;
  size_t pos = 0, max_unconsumed = 0;
  int requests = 0;
  for (size_t off = 0; off < input.size(); off += 100) {
    buffered.append(input, off, 100);
    Step st = s.parse(std::string_view(buffered).substr(pos), out);
    pos += st.consumed;
    max_unconsumed = std::max(max_unconsumed, buffered.size() - pos);
    if (st.kind == StepKind::kRequest) {
      ++requests;
      s.serve(out);
    }
  }
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(pos, input.size());
  // Never more than one incomplete argument (header + 1000 bytes + CRLF) waits in the buffer.
  EXPECT_LE(max_unconsumed, 1000u + 10u);
  EXPECT_EQ(out, "-ERR wrong number of arguments for 'ECHO' command\r\n");
}

TEST(RespLimitsTest, SplitReadsGiveTheSameAnswers) {
  std::string input =
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*0\r\n*1\r\n$4\r\nQUIT\r\n";
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    Store sa, sb;
    RespSession a(sa), b(sb);
    fuzz::check_split_invariance(a, b, input, chunk);  // aborts on any difference
    Store store;
    RespSession s(store);
    fuzz::DriveResult r = fuzz::drive(s, input, chunk, true);
    EXPECT_EQ(r.out, "+OK\r\n+PONG\r\n$5\r\nhello\r\n+OK\r\n") << chunk;
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.requests, (std::vector<std::string>{"SET", "PING", "GET", "QUIT"}));
  }
}

TEST(PgLimitsTest, StartupPacketLimit) {
  for (uint32_t len : {uint32_t{7}, PgSession::kMaxStartup + 1, uint32_t{0xffffffff}}) {
    SqlEngine engine;
    PgSession s(engine, 1, 2);
    std::string out;
    EXPECT_EQ(s.parse(be32(len) + be32(196608), out).kind, StepKind::kClose) << len;
    EXPECT_NE(out.find(std::string("C08P01\0", 7)), std::string::npos) << len;
  }
  SqlEngine engine;
  PgSession s(engine, 1, 2);
  std::string out;
  EXPECT_EQ(s.parse(be32(PgSession::kMaxStartup) + be32(196608), out).kind, StepKind::kNeedMore);
}

TEST(PgLimitsTest, MessageLengthLimit) {
  for (uint32_t len : {uint32_t{3}, PgSession::kMaxMessage + 1, uint32_t{0x80000000}, uint32_t{0xffffffff}}) {
    SqlEngine engine;
    PgSession s(engine, 1, 2);
    fuzz::DriveResult r = fuzz::drive(s, pg_startup() + "Q" + be32(len) + "SELECT 1", 0, true);
    EXPECT_TRUE(r.closed) << len;
    EXPECT_NE(r.out.find("invalid message length " + std::to_string(len)), std::string::npos) << len;
  }
  SqlEngine engine;
  PgSession s(engine, 1, 2);
  fuzz::DriveResult r = fuzz::drive(s, pg_startup() + "Q" + be32(PgSession::kMaxMessage) + "SELECT 1", 0, true);
  EXPECT_FALSE(r.closed);  // legal length: waits for the rest of the message
}

TEST(HttpLimitsTest, RpcBodyAndHeaderLimits) {
  auto run = [](const std::string& req) {
    RpcSession s;
    return fuzz::drive(s, req, 0, true);
  };
  auto ok = run("POST /rpc/a HTTP/1.1\r\nContent-Length: " + std::to_string(RpcSession::kMaxBody) + "\r\n\r\n");
  EXPECT_FALSE(ok.closed);  // at the limit: waits for the body
  auto big = run("POST /rpc/a HTTP/1.1\r\nContent-Length: " + std::to_string(RpcSession::kMaxBody + 1) + "\r\n\r\n");
  EXPECT_TRUE(big.closed);
  EXPECT_EQ(big.out.rfind("HTTP/1.1 413 ", 0), 0u);
  auto huge = run("POST /rpc/a HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n");
  EXPECT_TRUE(huge.closed);
  EXPECT_EQ(huge.out.rfind("HTTP/1.1 4", 0), 0u);
  // Chunked bodies count against the same limit.
  auto chunked = run("POST /rpc/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n");
  EXPECT_TRUE(chunked.closed);
  EXPECT_EQ(chunked.out.rfind("HTTP/1.1 413 ", 0), 0u);
  auto header = run("GET /rpc/a HTTP/1.1\r\nX: " + std::string(17 * 1024, 'h') + "\r\n\r\n");
  EXPECT_TRUE(header.closed);
  EXPECT_EQ(header.out.rfind("HTTP/1.1 431 ", 0), 0u);
}

TEST(HttpLimitsTest, ChunkSizeLinesAndTrailersAreBoundedLikeHeaders) {
  // Boost.Beast limits neither; HttpRequestParser holds them to the header limit (16 KiB).
  for (std::string head : {std::string("POST /rpc/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;ext="),
                           std::string("POST /rpc/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: ")}) {
    RpcSession at_limit;
    fuzz::DriveResult ok = fuzz::drive(at_limit, head + std::string(8 * 1024, 'e'), 1024, true);
    EXPECT_FALSE(ok.closed) << head;
    EXPECT_TRUE(ok.out.empty()) << ok.out;
    RpcSession over;
    fuzz::DriveResult r = fuzz::drive(over, head + std::string(20 * 1024, 'e'), 1024, true);
    EXPECT_TRUE(r.closed) << head;
    EXPECT_EQ(r.out.rfind("HTTP/1.1 400 ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("chunk-size line or trailer longer than 16384 bytes"), std::string::npos) << r.out;
  }
  // A legal chunked request with small lines is untouched.
  RpcSession s;
  fuzz::DriveResult r = fuzz::drive(
      s, "POST /rpc/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n{\"a\":\r\n2\r\n1}\r\n0\r\nT: v\r\n\r\n", 3, true);
  EXPECT_EQ(r.requests.size(), 1u);
  EXPECT_NE(r.out.find(R"({"method":"a","result":{"a":1}})"), std::string::npos) << r.out;
}

TEST(HttpLimitsTest, AChunkExtensionStillOpenWhenItsLineEndsIsRejectedThen) {
  // A quoted extension value may hold CR and LF, so Beast would scan on past the line's end and ask
  // for more; the mock rejects the request as soon as the line has ended instead of waiting for the
  // 16 KiB window (and rescanning the line on every read meanwhile).
  const std::string head = "POST /rpc/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& chunks : {std::string("5;a=\"open\r\n"), std::string("2\r\nab\r\n5 ; a=b;c=\"x\\\"\r\n")}) {
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{3}}) {
      RpcSession s;
      fuzz::DriveResult r = fuzz::drive(s, head + chunks, chunk, true);
      EXPECT_TRUE(r.closed) << chunks << " in reads of " << chunk;
      EXPECT_EQ(r.out.rfind("HTTP/1.1 400 ", 0), 0u) << r.out;
      EXPECT_NE(r.out.find("bad chunk extension"), std::string::npos) << r.out;
    }
  }
  // Closing the quote on a later line gives Beast's own verdict: the same answer as above, so one
  // read and many reads agree whether the quote closes or not.
  RpcSession closed_later;
  fuzz::DriveResult r = fuzz::drive(closed_later, head + "5;a=\"open\r\nmore\"\r\n", 0, true);
  EXPECT_TRUE(r.closed);
  EXPECT_NE(r.out.find("bad chunk extension"), std::string::npos) << r.out;
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{5}}) {
    RpcSession a, b;
    fuzz::check_split_invariance(a, b, head + "5;a=\"open\r\n" + std::string(100, 'x') + "\"\r\n", chunk);
  }
  // A chunk's data not followed by its CRLF is Beast's "bad chunk", however the reads fall: here a
  // read that ends on "1\r\n" (a size line, by its look) must not be taken for an ended extension.
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}}) {
    RpcSession a, b;
    fuzz::check_split_invariance(a, b, head + "2\r\n1.1\r\nX\r\n0\r\n\r\n", chunk);
  }
  // Quoted values that close on their line, and the last chunk with its trailer, still pass.
  RpcSession ok;
  fuzz::DriveResult good = fuzz::drive(
      ok, head + "5;a=\"q \\\" ;\"\r\n{\"a\":\r\n2;b=\"\"\r\n1}\r\n0;z=\"w\"\r\nT: v\r\n\r\n", 1, true);
  ASSERT_EQ(good.requests.size(), 1u) << good.out;
  EXPECT_NE(good.out.find(R"({"method":"a","result":{"a":1}})"), std::string::npos) << good.out;
}

TEST(HttpLimitsTest, BodiesUpToTheLimitPassWhateverTheReads) {
  // The 1 MiB body, as Content-Length and as 8 KiB chunks, in one read and in 4 KiB reads.
  const std::string json = "\"" + std::string(RpcSession::kMaxBody - 2, 'a') + "\"";
  std::string chunked = "POST /rpc/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t off = 0; off < json.size(); off += 8192) {
    std::string part = json.substr(off, 8192);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    chunked += size + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  const std::string plain =
      "POST /rpc/big HTTP/1.1\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
  for (const std::string& req : {plain, chunked}) {
    for (size_t chunk : {size_t{0}, size_t{4096}}) {
      RpcSession s;
      fuzz::DriveResult r = fuzz::drive(s, req, chunk, true);
      ASSERT_EQ(r.requests.size(), 1u) << chunk;
      EXPECT_EQ(r.out.rfind("HTTP/1.1 200 ", 0), 0u) << r.out.substr(0, 200);
      EXPECT_NE(r.out.find(json), std::string::npos);
    }
  }
}

TEST(HttpLimitsTest, ControlApiBodyLimit) {
  // The control API runs HttpRequestParser with ControlApi::kMaxBody (mocks/core/server.cc).
  HttpRequestParser at_limit(ControlApi::kMaxBody), over(ControlApi::kMaxBody);
  size_t used = 0;
  std::string body(ControlApi::kMaxBody, ' ');
  EXPECT_EQ(at_limit.feed("POST /faults HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                          &used),
            HttpRequestParser::Result::kDone);
  EXPECT_EQ(
      over.feed("POST /faults HTTP/1.1\r\nContent-Length: " + std::to_string(body.size() + 1) + "\r\n\r\n", &used),
      HttpRequestParser::Result::kError);
  EXPECT_EQ(over.error_status(), 413);
}

}  // namespace
}  // namespace chaos::mocks
