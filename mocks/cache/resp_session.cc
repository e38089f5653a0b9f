// RESP2 parsing and command execution. A multibulk command is parsed incrementally: each complete
// argument is consumed as it arrives, so the cost of a command is linear in its size however many
// reads it takes (re-scanning from the start on every read made a big command quadratic, and a single
// client could stall the event loop). Inline commands are short (64 KiB) and re-scanned.
#include "cache/resp_session.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <unistd.h>

namespace chaos::mocks {
namespace {

void bulk(std::string& out, std::string_view v) {
  out += '$';
  out += std::to_string(v.size());
  out += "\r\n";
  out += v;
  out += "\r\n";
}
void integer(std::string& out, int64_t v) {
  out += ':';
  out += std::to_string(v);
  out += "\r\n";
}
void nil(std::string& out) { out += "$-1\r\n"; }
void ok(std::string& out) { out += "+OK\r\n"; }
void err(std::string& out, std::string_view msg) {
  // An error line ends at the first CR or LF, and messages quote client arguments (unknown command
  // 'a\r\n+OK'): like Redis, turn line breaks into spaces so a client cannot forge the next reply.
  out += "-";
  for (char c : msg) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
}

// Reads "<int>\r\n" at in[pos]; returns false if incomplete, sets *bad on garbage.
bool read_int_line(std::string_view in, size_t& pos, int64_t* v, bool* bad) {
  constexpr size_t kMaxDigits = 32;  // no length needs that many characters
  size_t eol = in.find("\r\n", pos);
  // The same rule whether the line is complete or not, so the verdict never depends on how the
  // bytes were split into reads (32 characters and a CR may still become a valid line).
  if (eol == std::string_view::npos) {
    if (in.size() - pos > kMaxDigits + 1) *bad = true;
    return false;
  }
  if (eol - pos > kMaxDigits) {
    *bad = true;
    return false;
  }
  auto [p, ec] = std::from_chars(in.data() + pos, in.data() + eol, *v);
  if (ec != std::errc() || p != in.data() + eol) {
    *bad = true;
    return false;
  }
  pos = eol + 2;
  return true;
}

bool parse_i64(const std::string& s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// The absolute expiry `ms` after `now`, or nullopt when it does not fit in 64 bits: Redis answers
// "invalid expire time" for those instead of wrapping around (the sum was signed overflow, UB).
std::optional<Store::Ms> expiry_after(Store::Ms now, int64_t ms) {
  Store::Ms at = 0;
  if (__builtin_add_overflow(now, ms, &at)) return std::nullopt;
  return at;
}

bool iequals(const std::string& a, const char* b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

// End of the well-formed RESP2 value that starts at `pos` in one of our own replies, or npos.
size_t resp_value_end(std::string_view r, size_t pos, int depth = 0) {
  constexpr int kMaxDepth = 8;  // our replies nest one level; the bound only keeps recursion finite
  if (pos >= r.size() || depth > kMaxDepth) return std::string_view::npos;
  size_t eol = r.find("\r\n", pos);
  if (eol == std::string_view::npos) return eol;
  char type = r[pos];
  if (type == '+' || type == '-' || type == ':') return eol + 2;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(r.data() + pos + 1, r.data() + eol, n);
  if (ec != std::errc() || p != r.data() + eol) return std::string_view::npos;
  if (type == '$') return n < 0 ? eol + 2 : eol + 2 + static_cast<size_t>(n) + 2;
  if (type != '*') return std::string_view::npos;
  size_t end = eol + 2;
  for (int64_t i = 0; i < n && end != std::string_view::npos; ++i) end = resp_value_end(r, end, depth + 1);
  return end;
}

}  // namespace

Step RespSession::protocol_error(const std::string& what, std::string& out) {
  pending_ = 0;
  err(out, "ERR Protocol error: " + what);
  return {StepKind::kClose, 0};
}

Step RespSession::parse(std::string_view in, std::string& out) {
  size_t pos = 0;
  if (pending_ > 0 || in[0] == '*') {
    if (pending_ == 0) {
      ++pos;
      int64_t n = 0;
      bool bad = false;
      if (!read_int_line(in, pos, &n, &bad)) return bad ? protocol_error("invalid multibulk length", out) : Step{};
      if (n > static_cast<int64_t>(kMaxArgs)) return protocol_error("too many arguments in one command", out);
      if (n <= 0) return {StepKind::kReply, pos};  // empty command: ignored, as Redis does
      pending_ = static_cast<size_t>(n);
      nargs_ = 0;
      command_bytes_ = 0;
    }
    // Complete arguments are taken into args_ and consumed at once, so a big command arriving in many
    // reads costs linear time: nothing is re-scanned or re-copied when more bytes come.
    while (nargs_ < pending_) {
      if (pos >= in.size()) return {StepKind::kNeedMore, pos};
      if (in[pos] != '$') return protocol_error("expected '$', got '" + std::string(1, in[pos]) + "'", out);
      size_t p = pos + 1;
      int64_t len = 0;
      bool bad = false;
      if (!read_int_line(in, p, &len, &bad)) {
        return bad ? protocol_error("invalid bulk length", out) : Step{StepKind::kNeedMore, pos};
      }
      if (len < 0 || static_cast<size_t>(len) > kMaxBulk) return protocol_error("invalid bulk length", out);
      if (command_bytes_ + static_cast<size_t>(len) > kMaxCommand) {
        return protocol_error("command larger than " + std::to_string(kMaxCommand) + " bytes", out);
      }
      if (in.size() - p < static_cast<size_t>(len) + 2) return {StepKind::kNeedMore, pos};
      if (in[p + len] != '\r' || in[p + len + 1] != '\n') return protocol_error("bulk not followed by CRLF", out);
      // Grown one argument at a time: a declared count alone allocates nothing.
      if (args_.size() <= nargs_) args_.emplace_back();
      args_[nargs_++].assign(in.data() + p, static_cast<size_t>(len));
      command_bytes_ += static_cast<size_t>(len);
      pos = p + static_cast<size_t>(len) + 2;
    }
    pending_ = 0;
  } else {
    // Inline command (telnet style): space-separated words on one line.
    size_t eol = in.find('\n');
    if (eol == std::string_view::npos) {
      if (in.size() > kMaxInline) return protocol_error("too big inline request", out);
      return {};
    }
    std::string_view line = in.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    nargs_ = 0;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) {
        if (args_.size() <= nargs_) args_.resize(nargs_ + 1);
        args_[nargs_++].assign(line.data() + start, i - start);
      }
    }
    if (nargs_ == 0) return {StepKind::kReply, pos};
  }
  command_.assign(args_[0]);
  for (char& c : command_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {StepKind::kRequest, pos};
}

void RespSession::fail(const ErrorSpec& error, std::string& out) {
  // Redis errors start with an upper-case code word; keep that shape so clients classify them.
  err(out, "ERR " + error.message);
}

void RespSession::serve_partial(const PartialCut& cut, std::string& out) {
  std::string full;
  serve(full);
  size_t eol = full.find("\r\n");
  if (full.size() < 3 || eol == std::string::npos) {  // not a reply we make; cut the bytes
    out.append(full, 0, cut.units_to_send(full.size()));
    return;
  }
  char type = full[0];
  int64_t n = -1;
  if (type == '*' || type == '$') std::from_chars(full.data() + 1, full.data() + eol, n);
  if (type == '*' && n > 0) {
    // The array header announcing every element, then only some of them: half an array.
    size_t end = eol + 2;
    size_t keep = cut.units_to_send(static_cast<size_t>(n));
    for (size_t i = 0; i < keep && end != std::string::npos; ++i) end = resp_value_end(full, end);
    if (end != std::string::npos) {
      out.append(full, 0, end);
      return;
    }
  } else if (type == '$' && n >= 0) {
    // The bulk header with the full length, then part of the payload (and no closing CRLF).
    out.append(full, 0, eol + 2 + cut.units_to_send(static_cast<size_t>(n)));
    return;
  }
  // A one-line reply (+OK, :1, -ERR ..., $-1, *0): the type byte and part of the line, no CRLF.
  out.append(full, 0, 1 + cut.units_to_send(eol - 1));
}

void RespSession::serve(std::string& out) {
  const std::string& c = command_;
  const size_t n = nargs_;
  auto& a = args_;
  auto wrong_args = [&] { err(out, "ERR wrong number of arguments for '" + a[0] + "' command"); };
  Store::Ms now = Store::now_ms();

  if (c == "GET") {
    if (n != 2) return wrong_args();
    const std::string* v = store_.get(a[1], now);
    return v ? bulk(out, *v) : nil(out);
  }
  if (c == "SET") {
    if (n < 3) return wrong_args();
    std::optional<Store::Ms> expire;
    bool nx = false, xx = false, keep_ttl = false, get = false;
    for (size_t i = 3; i < n; ++i) {
      if ((iequals(a[i], "EX") || iequals(a[i], "PX")) && i + 1 < n && !expire) {
        int64_t t = 0;
        if (!parse_i64(a[i + 1], &t)) return err(out, "ERR value is not an integer or out of range");
        if (t <= 0) return err(out, "ERR invalid expire time in 'set' command");
        int64_t ms = t;
        if (iequals(a[i], "EX") && __builtin_mul_overflow(t, int64_t{1000}, &ms))
          return err(out, "ERR invalid expire time in 'set' command");
        expire = expiry_after(now, ms);
        if (!expire) return err(out, "ERR invalid expire time in 'set' command");
        ++i;
      } else if (iequals(a[i], "NX")) {
        nx = true;
      } else if (iequals(a[i], "XX")) {
        xx = true;
      } else if (iequals(a[i], "KEEPTTL")) {
        keep_ttl = true;
      } else if (iequals(a[i], "GET")) {
        get = true;
      } else {
        return err(out, "ERR syntax error");
      }
    }
    if ((nx && xx) || (keep_ttl && expire)) return err(out, "ERR syntax error");
    const std::string* old = store_.get(a[1], now);
    std::string previous = old ? *old : std::string();
    bool had = old != nullptr;
    if ((nx && had) || (xx && !had)) return get ? (had ? bulk(out, previous) : nil(out)) : nil(out);
    store_.set(a[1], a[2], expire, keep_ttl, now);
    if (get) return had ? bulk(out, previous) : nil(out);
    return ok(out);
  }
  if (c == "PING") {
    if (n > 2) return wrong_args();
    if (n == 2) return bulk(out, a[1]);
    out += "+PONG\r\n";
    return;
  }
  if (c == "ECHO") {
    if (n != 2) return wrong_args();
    return bulk(out, a[1]);
  }
  if (c == "DEL" || c == "UNLINK" || c == "EXISTS") {
    if (n < 2) return wrong_args();
    int64_t count = 0;
    for (size_t i = 1; i < n; ++i) count += c == "EXISTS" ? store_.exists(a[i], now) : store_.del(a[i], now);
    return integer(out, count);
  }
  if (c == "INCR" || c == "DECR" || c == "INCRBY" || c == "DECRBY") {
    bool by = c == "INCRBY" || c == "DECRBY";
    if (n != (by ? 3u : 2u)) return wrong_args();
    int64_t delta = 1;
    if (by && !parse_i64(a[2], &delta)) return err(out, "ERR value is not an integer or out of range");
    if (c[0] == 'D') {
      if (delta == INT64_MIN) return err(out, "ERR increment or decrement would overflow");
      delta = -delta;
    }
    int64_t cur = 0;
    std::string* v = store_.mutable_value(a[1], now);
    if (v && !parse_i64(*v, &cur)) return err(out, "ERR value is not an integer or out of range");
    if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta)) {
      return err(out, "ERR increment or decrement would overflow");
    }
    cur += delta;
    if (v) {
      *v = std::to_string(cur);
    } else {
      store_.set(a[1], std::to_string(cur), std::nullopt, false, now);
    }
    return integer(out, cur);
  }
  if (c == "EXPIRE" || c == "PEXPIRE") {
    if (n != 3) return wrong_args();
    int64_t t = 0;
    if (!parse_i64(a[2], &t)) return err(out, "ERR value is not an integer or out of range");
    if (c == "EXPIRE") {
      if (t > INT64_MAX / 1000 || t < INT64_MIN / 1000) return err(out, "ERR invalid expire time in 'expire' command");
      t *= 1000;
    }
    auto at = expiry_after(now, t);
    if (!at) return err(out, c == "EXPIRE" ? "ERR invalid expire time in 'expire' command"
                                           : "ERR invalid expire time in 'pexpire' command");
    return integer(out, store_.expire_at(a[1], *at, now) ? 1 : 0);
  }
  if (c == "TTL" || c == "PTTL") {
    if (n != 2) return wrong_args();
    Store::Ms ms = store_.pttl(a[1], now);
    if (ms < 0) return integer(out, ms);
    return integer(out, c == "TTL" ? ms / 1000 + (ms % 1000 >= 500 ? 1 : 0) : ms);  // rounded, without ms + 500
  }
  if (c == "FLUSHALL" || c == "FLUSHDB") {
    store_.flush();
    return ok(out);
  }
  if (c == "DBSIZE") return integer(out, static_cast<int64_t>(store_.size()));
  if (c == "SELECT") {
    if (n != 2) return wrong_args();
    if (a[1] != "0") return err(out, "ERR DB index is out of range");
    return ok(out);
  }
  if (c == "INFO") {
    std::string info =
        "# Server\r\nredis_version:7.0.0-chaos-mock\r\nredis_mode:standalone\r\nprocess_id:" +
        std::to_string(::getpid()) + "\r\n# Keyspace\r\ndb0:keys=" + std::to_string(store_.size()) +
        ",expires=" + std::to_string(store_.expiring()) + ",avg_ttl=0\r\n";
    return bulk(out, info);
  }
  if (c == "QUIT") {
    quit_ = true;
    return ok(out);
  }
  if (c == "CONFIG") {
    // redis-benchmark asks for "save" and "appendonly" on start; an empty answer is a valid one.
    if (n == 3 && iequals(a[1], "GET")) {
      if (iequals(a[2], "SAVE")) return void(out += "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
      if (iequals(a[2], "APPENDONLY")) return void(out += "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
      out += "*0\r\n";
      return;
    }
    return err(out, "ERR CONFIG subcommand not supported by mock-cache");
  }
  if (c == "COMMAND") {
    out += "*0\r\n";
    return;
  }
  if (c == "CLIENT") return ok(out);
  err(out, "ERR unknown command '" + a[0] + "'");
}

}  // namespace chaos::mocks
