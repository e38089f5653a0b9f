// Scenario JSON -> validated Scenario. The Validator walks the document once, collects every error
// with its position (JsonPositions) and JSON path, and fills the typed model; cross-field checks
// (labels, anchors, templates, time budget) run after the fields are read. Nothing here throws on
// user input: nlohmann is called with allow_exceptions=false and values are type-checked before get<>.
#include "scenario/parser.h"

#include "scenario/fault_kinds.h"
#include "scenario/json_positions.h"
#include "scenario/templates.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace chaos::scenario {

using nlohmann::json;

std::string ScenarioError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(col);
  out += ": ";
  if (!json_path.empty()) out += json_path + ": ";
  out += message;
  return out;
}

// Replaces invalid UTF-8 with U+FFFD: messages quote user text (and nlohmann's "last read" token,
// which can end mid-character) and end up in JSON reports, whose writer rejects invalid UTF-8.
static std::string sanitize_utf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= in.size() && !(len == 2 && c < 0xC2);
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {
      unsigned char c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      unsigned char c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90) && c <= 0xF4;
    }
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string format_errors(const std::vector<ScenarioError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

namespace {

// ----------------------------------------------------------------------------------------------
// Paths: kept both as a JSON pointer (position look-up) and as the dotted form users read.
struct Path {
  std::string ptr;
  std::string dotted;
  Path key(const std::string& k) const {
    bool plain = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    std::string d = plain ? (dotted.empty() ? k : dotted + "." + k) : dotted + "[" + json(k).dump() + "]";
    return Path{ptr + "/" + JsonPositions::escape_token(k), d};
  }
  Path idx(size_t i) const { return Path{ptr + "/" + std::to_string(i), dotted + "[" + std::to_string(i) + "]"}; }
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate if it is close enough to be a plausible typo, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) { best_d = d; best = c; }
  }
  size_t limit = std::max<size_t>(1, word.size() / 3);
  return best_d <= limit ? best : "";
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string qt(const std::string& s) { return json(s).dump(); }

std::string describe(const json& v) {
  std::string text = v.dump();
  if (text.size() > 40) {
    // Cut on a UTF-8 character boundary: messages end up in JSON reports.
    size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  switch (v.type()) {
    case json::value_t::string: return "string " + text;
    case json::value_t::boolean: return "boolean " + text;
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::number_float: return "number " + text;
    default: return "integer " + text;
  }
}

std::string fmt_num(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  std::ostringstream o;
  o << d;
  return o.str();
}

bool is_integer_value(const json& v) {
  if (v.is_number_integer()) return true;
  return false;
}

const std::vector<std::string> kBreakerStates = {"CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED"};
const std::vector<std::string> kHealthStatuses = {"HEALTHY", "DEGRADED", "UNHEALTHY", "UNKNOWN"};
const std::vector<std::string> kSystemStates = {"RUNNING", "DEGRADED", "CRITICAL"};

bool valid_sqlstate(const std::string& s) {
  return s.size() == 5 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); });
}

bool matches_id(const std::string& s, bool allow_upper, bool allow_dot) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (allow_upper && c >= 'A' && c <= 'Z') || (allow_dot && c == '.');
    if (!ok) return false;
  }
  return true;
}

// ----------------------------------------------------------------------------------------------
class Validator;

// Reads one JSON object: every field asked for becomes "known", and finish() reports the rest as
// unknown, suggesting the closest known name.
class Obj {
 public:
  Obj(Validator& v, const json& j, Path p) : v_(v), j_(j), path_(std::move(p)) {}
  const json* get(const std::string& key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  bool has(const std::string& key) const { return j_.contains(key); }
  Path at(const std::string& key) const { return path_.key(key); }
  const Path& path() const { return path_; }
  const json& raw() const { return j_; }
  void finish();

 private:
  Validator& v_;
  const json& j_;
  Path path_;
  std::vector<std::string> known_;
};

class Validator {
 public:
  Validator(const json& root, const JsonPositions& pos, std::string file)
      : root_(root), pos_(pos), file_(std::move(file)) {}

  std::vector<ScenarioError> errors;

  SourcePos where(const Path& p, bool at_key = false) const {
    std::optional<size_t> off = at_key ? pos_.key_offset(p.ptr) : pos_.value_offset(p.ptr);
    if (!off && at_key) off = pos_.value_offset(p.ptr);
    std::string ptr = p.ptr;
    while (!off && !ptr.empty()) {  // fall back to the nearest enclosing value
      ptr = ptr.substr(0, ptr.rfind('/'));
      off = pos_.value_offset(ptr);
    }
    return off ? pos_.pos(*off) : SourcePos{};
  }

  void error(const Path& p, std::string msg, bool at_key = false) {
    SourcePos sp = where(p, at_key);
    errors.push_back({file_, sp.line, sp.col, p.dotted, std::move(msg)});
  }
  void missing(Obj& o, const std::string& key, const std::string& expected) {
    // Points at the enclosing object: the field is not there to point at.
    SourcePos sp = where(o.path());
    errors.push_back({file_, sp.line, sp.col, o.at(key).dotted,
                      "missing required field " + qt(key) + " (" + expected + ")"});
  }
  void type_error(const Path& p, const json& v, const std::string& expected) {
    error(p, "expected " + expected + ", got " + describe(v));
  }

  // ---- typed field readers: nullopt when absent or invalid (the error is recorded) ----
  const json* field(Obj& o, const std::string& key, bool required, const std::string& expected) {
    const json* v = o.get(key);
    if (!v && required) missing(o, key, expected);
    return v;
  }

  std::optional<std::string> str(Obj& o, const std::string& key, bool required,
                                 const std::string& expected = "a string", bool allow_empty = false) {
    const json* v = field(o, key, required, expected);
    if (!v) return std::nullopt;
    if (!v->is_string()) { type_error(o.at(key), *v, expected); return std::nullopt; }
    std::string s = v->get<std::string>();
    if (s.empty() && !allow_empty) { error(o.at(key), "expected " + expected + ", got an empty string"); return std::nullopt; }
    return s;
  }

  std::optional<int64_t> integer(Obj& o, const std::string& key, bool required, int64_t min, int64_t max,
                                 const std::string& what = "an integer") {
    std::string expected = what + " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    const json* v = field(o, key, required, expected);
    if (!v) return std::nullopt;
    return integer_value(o.at(key), *v, min, max, what);
  }

  std::optional<int64_t> integer_value(const Path& p, const json& v, int64_t min, int64_t max,
                                       const std::string& what = "an integer") {
    std::string expected = what + " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>() &&
        std::fabs(v.get<double>()) < 9e15) {
      // 1500.0 is an integer written oddly; accept it.
      int64_t n = static_cast<int64_t>(v.get<double>());
      if (n < min || n > max) { error(p, "expected " + expected + ", got " + fmt_num(v.get<double>())); return std::nullopt; }
      return n;
    }
    if (!is_integer_value(v)) { type_error(p, v, expected); return std::nullopt; }
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      error(p, "expected " + expected + ", got " + v.dump());
      return std::nullopt;
    }
    int64_t n = v.get<int64_t>();
    if (n < min || n > max) { error(p, "expected " + expected + ", got " + std::to_string(n)); return std::nullopt; }
    return n;
  }

  std::optional<int64_t> duration(Obj& o, const std::string& key, bool required, int64_t min = 0,
                                  int64_t max = kMaxDurationMs) {
    return integer(o, key, required, min, max, "a duration in integer milliseconds");
  }

  std::optional<double> number(Obj& o, const std::string& key, bool required, double min, double max,
                               bool min_exclusive = false, const std::string& what = "a number") {
    std::string expected = what + " in " + std::string(min_exclusive ? "(" : "[") + fmt_num(min) + ", " + fmt_num(max) + "]";
    const json* v = field(o, key, required, expected);
    if (!v) return std::nullopt;
    return number_value(o.at(key), *v, min, max, min_exclusive, what);
  }

  std::optional<double> number_value(const Path& p, const json& v, double min, double max,
                                     bool min_exclusive = false, const std::string& what = "a number") {
    std::string expected = what + " in " + std::string(min_exclusive ? "(" : "[") + fmt_num(min) + ", " + fmt_num(max) + "]";
    if (!v.is_number()) { type_error(p, v, expected); return std::nullopt; }
    double d = v.get<double>();
    if (!std::isfinite(d) || d < min || d > max || (min_exclusive && d == min)) {
      error(p, "expected " + expected + ", got " + fmt_num(d));
      return std::nullopt;
    }
    return d;
  }

  std::optional<bool> boolean(Obj& o, const std::string& key, bool required) {
    const json* v = field(o, key, required, "true or false");
    if (!v) return std::nullopt;
    if (!v->is_boolean()) { type_error(o.at(key), *v, "true or false"); return std::nullopt; }
    return v->get<bool>();
  }

  // One of `choices`; case-insensitive when `fold` (the stored value is the canonical choice).
  std::optional<std::string> choice(Obj& o, const std::string& key, bool required,
                                    const std::vector<std::string>& choices, bool fold = false) {
    std::string expected = "one of " + join(choices);
    const json* v = field(o, key, required, expected);
    if (!v) return std::nullopt;
    return choice_value(o.at(key), *v, choices, fold, "");
  }

  std::optional<std::string> choice_value(const Path& p, const json& v, const std::vector<std::string>& choices,
                                          bool fold, const std::string& noun) {
    std::string expected = "one of " + join(choices);
    if (!v.is_string()) { type_error(p, v, expected); return std::nullopt; }
    std::string s = v.get<std::string>();
    for (const auto& c : choices) {
      if (c == s) return c;
      if (fold && c.size() == s.size() &&
          std::equal(c.begin(), c.end(), s.begin(), [](char a, char b) { return std::toupper(a) == std::toupper(b); }))
        return c;
    }
    std::string msg = "unknown " + (noun.empty() ? std::string("value") : noun) + " " + qt(s) + "; expected " + expected;
    std::string near = closest(s, choices);
    if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
    error(p, msg);
    return std::nullopt;
  }

  std::vector<std::string> str_array(Obj& o, const std::string& key, bool required, bool non_empty,
                                     const std::string& what = "an array of strings") {
    std::vector<std::string> out;
    const json* v = field(o, key, required, what);
    if (!v) return out;
    Path p = o.at(key);
    if (!v->is_array()) { type_error(p, *v, what); return out; }
    if (non_empty && v->empty()) { error(p, "expected " + what + " with at least one element, got []"); return out; }
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_string()) { type_error(p.idx(i), e, "a string"); continue; }
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  std::map<std::string, std::string> str_map(Obj& o, const std::string& key) {
    std::map<std::string, std::string> out;
    const json* v = o.get(key);
    if (!v) return out;
    Path p = o.at(key);
    if (!v->is_object()) { type_error(p, *v, "an object of string values"); return out; }
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string()) { type_error(p.key(it.key()), *it, "a string"); continue; }
      out[it.key()] = it->get<std::string>();
    }
    return out;
  }

  // An object-valued field; nullptr (error recorded) when present but not an object.
  const json* object(Obj& o, const std::string& key, bool required, const std::string& what) {
    const json* v = field(o, key, required, what);
    if (!v) return nullptr;
    if (!v->is_object()) { type_error(o.at(key), *v, what); return nullptr; }
    return v;
  }

  const json& root_;
  const JsonPositions& pos_;
  std::string file_;
};

void Obj::finish() {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
    std::string msg = "unknown field " + qt(k);
    std::string near = closest(k, known_);
    if (!near.empty()) msg += "; did you mean " + qt(near) + "?";
    msg += " (expected one of " + join(known_) + ")";
    v_.error(path_.key(k), msg, /*at_key=*/true);
  }
}

// ----------------------------------------------------------------------------------------------
class ScenarioReader {
 public:
  ScenarioReader(Validator& v, const json& root, std::string file) : v_(v), root_(root) { s_.file = std::move(file); }

  Scenario read() {
    Path rootp{"", ""};
    if (!root_.is_object()) {
      v_.type_error(rootp, root_, "a JSON object (the scenario)");
      return s_;
    }
    Obj o(v_, root_, rootp);
    if (auto n = v_.str(o, "name", true, "a scenario name matching [A-Za-z0-9._-]+")) {
      if (!matches_id(*n, true, true)) v_.error(o.at("name"), "expected a scenario name matching [A-Za-z0-9._-]+, got " + qt(*n));
      else s_.name = *n;
    }
    s_.description = v_.str(o, "description", false, "a string", true).value_or("");
    s_.tags = v_.str_array(o, "tags", false, false);
    if (const json* seed = o.get("seed")) {
      if (seed->is_number_unsigned() || (seed->is_number_integer() && seed->get<int64_t>() >= 0)) s_.seed = seed->get<uint64_t>();
      else v_.type_error(o.at("seed"), *seed, "a non-negative integer");
    }
    s_.timeout_ms = v_.integer(o, "timeout_ms", true, 1, kMaxScenarioTimeoutMs, "a duration in integer milliseconds").value_or(0);
    s_.tolerance_ms = v_.duration(o, "tolerance_ms", false);

    if (const json* sv = v_.object(o, "services", false, "an object of service id -> service")) read_services(*sv, o.at("services"));
    if (const json* sut = v_.object(o, "system_under_test", true, "an object describing the system under test")) read_sut(*sut, o.at("system_under_test"));
    workload_ok_ = false;
    if (const json* w = v_.object(o, "workload", true, "an object describing the request workload")) read_workload(*w, o.at("workload"));
    if (const json* f = o.get("faults")) read_faults(*f, o.at("faults"));
    if (const json* p = o.get("phases")) read_phases(*p, o.at("phases"));
    if (const json* ss = o.get("steady_state")) read_steady(*ss, o.at("steady_state"));
    if (const json* e = o.get("expect")) read_expect(*e, o.at("expect"));
    o.finish();

    check_templates(root_, rootp);
    check_time_budget(o);
    std::stable_sort(s_.faults.begin(), s_.faults.end(),
                     [](const FaultStep& a, const FaultStep& b) { return a.at_ms < b.at_ms; });
    return s_;
  }

 private:
  // ---------------- services ----------------
  Readiness read_ready(Obj& parent, bool line_only, bool required) {
    Readiness r;
    const json* v = v_.object(parent, "ready", required,
                              line_only ? "an object {\"timeout_ms\": n}"
                                        : "an object with one of \"line\": true, \"tcp\": \"<port>\", \"http\": \"<url>\"");
    if (!v) return r;
    Obj o(v_, *v, parent.at("ready"));
    r.timeout_ms = v_.duration(o, "timeout_ms", false, 1).value_or(kDefaultReadyTimeoutMs);
    if (line_only) {
      if (auto l = v_.boolean(o, "line", false); l && !*l)
        v_.error(o.at("line"), "this process always signals readiness with its ready line; expected true or no \"line\" field");
      o.finish();
      return r;
    }
    int kinds = 0;
    if (auto l = v_.boolean(o, "line", false)) {
      if (*l) { r.kind = Readiness::Kind::kLine; ++kinds; }
      else v_.error(o.at("line"), "expected true (or use \"tcp\" / \"http\" instead)");
    }
    if (const json* t = o.get("tcp")) {
      ++kinds;
      r.kind = Readiness::Kind::kTcp;
      if (t->is_string() && !t->get<std::string>().empty()) r.target = t->get<std::string>();
      else if (t->is_number_integer() && t->get<int64_t>() > 0 && t->get<int64_t>() <= 65535) r.target = std::to_string(t->get<int64_t>());
      else v_.type_error(o.at("tcp"), *t, "a port number in [1, 65535] or a template such as \"${services.redis.port}\"");
    }
    if (const json* h = o.get("http")) {
      ++kinds;
      r.kind = Readiness::Kind::kHttp;
      if (h->is_string() && h->get<std::string>().rfind("http://", 0) == 0) r.target = h->get<std::string>();
      else v_.type_error(o.at("http"), *h, "an http:// URL that answers 2xx when ready");
    }
    if (kinds != 1)
      v_.error(parent.at("ready"), "expected exactly one of \"line\": true, \"tcp\" or \"http\", got " + std::to_string(kinds));
    o.finish();
    return r;
  }

  void read_services(const json& sv, const Path& p) {
    for (auto it = sv.begin(); it != sv.end(); ++it) {
      const std::string& id = it.key();
      Path sp = p.key(id);
      if (!matches_id(id, false, false) || !(id[0] >= 'a' && id[0] <= 'z')) {
        v_.error(sp, "service id " + qt(id) + " must match [a-z][a-z0-9_-]*", true);
        continue;
      }
      if (id == "sut") { v_.error(sp, "service id \"sut\" is reserved for the system under test", true); continue; }
      if (!it->is_object()) { v_.type_error(sp, *it, "an object with \"mock\" or \"command\""); continue; }
      Obj o(v_, *it, sp);
      Service s;
      s.id = id;
      s.pos = v_.where(sp);
      const char* kinds[] = {"mock", "server", "proxy", "command"};
      std::vector<std::string> present;
      for (const char* k : kinds)
        if (o.has(k)) present.emplace_back(k);
      if (present.size() != 1) {
        v_.error(sp, present.empty()
                         ? "expected one of \"mock\" (mock-rpc, mock-db, mock-cache), \"server\" (redis, postgres), "
                           "\"proxy\" (the id of the service it fronts) or \"command\" (an argv array)"
                         : "expected exactly one of \"mock\", \"server\", \"proxy\" or \"command\", got " + join(present));
        for (const auto& k : present) o.get(k);  // reported once above, not again as unknown fields
      }
      const std::string kind = present.empty() ? "" : present.front();
      if (kind == "mock") {
        if (auto m = v_.choice(o, "mock", false, {"mock-rpc", "mock-db", "mock-cache"})) {
          s.mock = *m == "mock-rpc" ? MockKind::kRpc : *m == "mock-db" ? MockKind::kDb : MockKind::kCache;
        }
      } else if (kind == "server") {
        if (auto m = v_.choice(o, "server", false, {"redis", "postgres"}))
          s.server = *m == "redis" ? ServerKind::kRedis : ServerKind::kPostgres;
      } else if (kind == "proxy") {
        if (auto up = v_.str(o, "proxy", false, "the id of the service the proxy fronts")) {
          s.proxy = *up;
          proxy_paths_[id] = o.at("proxy");
        }
      }
      if (kind == "command" || kind.empty()) {
        s.command = v_.str_array(o, "command", false, kind == "command", "an argv array of strings");
        s.ready = read_ready(o, false, kind == "command");
      } else {
        s.args = v_.str_array(o, "args", false, false);
        if (kind != "server")
          s.control_port = static_cast<int>(v_.integer(o, "control_port", false, 0, 65535, "a port number").value_or(0));
        // Mocks and proxies print their ready line; servers are ready when their port accepts.
        s.ready = read_ready(o, true, false);
        if (kind == "server") s.ready.kind = Readiness::Kind::kTcp;
      }
      s.env = v_.str_map(o, "env");
      s.port = static_cast<int>(v_.integer(o, "port", false, 0, 65535, "a port number (0 = pick a free one)").value_or(0));
      o.finish();
      s_.services.push_back(std::move(s));
    }
    for (const auto& s : s_.services) {
      if (!s.is_proxy()) continue;
      const Path& pp = proxy_paths_.at(s.id);
      const Service* up = find_service(s.proxy);
      if (s.proxy == s.id) {
        v_.error(pp, "a proxy cannot front itself; expected the id of another service");
      } else if (!up) {
        std::string msg = "unknown service " + qt(s.proxy) + " as proxy upstream; expected one of " + service_list(false);
        std::string near = closest(s.proxy, service_ids());
        if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
        v_.error(pp, msg);
      } else if (up->is_proxy()) {
        v_.error(pp, "service " + qt(s.proxy) + " is itself a proxy; a proxy must front a mock, server or command service");
      }
    }
    // nlohmann's objects iterate in key order; users read services in file order.
    std::stable_sort(s_.services.begin(), s_.services.end(), [](const Service& a, const Service& b) {
      return std::tie(a.pos.line, a.pos.col) < std::tie(b.pos.line, b.pos.col);
    });
  }

  // ---------------- system under test ----------------
  void read_sut(const json& j, const Path& p) {
    Obj o(v_, j, p);
    SystemUnderTest& u = s_.sut;
    u.pos = v_.where(p);
    bool has_b = o.has("builtin"), has_c = o.has("command");
    if (has_b == has_c)
      v_.error(p, has_b ? "expected either \"builtin\" or \"command\", not both"
                        : "expected \"builtin\": \"gateway\" or \"command\" (an argv array)");
    if (has_b) {
      u.builtin = v_.choice(o, "builtin", false, {"gateway"}).value_or("");
      u.args = v_.str_array(o, "args", false, false);
      if (const json* c = o.get("config")) {
        if (c->is_object()) u.config = *c;
        else v_.type_error(o.at("config"), *c, "an object (the gateway's configuration)");
      }
      u.ready = read_ready(o, true, false);
    } else {
      u.command = v_.str_array(o, "command", false, true, "an argv array of strings");
      u.ready = read_ready(o, false, has_c);
    }
    u.env = v_.str_map(o, "env");
    u.port = static_cast<int>(v_.integer(o, "port", false, 0, 65535, "a port number (0 = pick a free one)").value_or(0));
    if (const json* e = v_.object(o, "events", false, "an object {\"source\": \"stdout\" | \"file\" | \"none\"}")) {
      Obj eo(v_, *e, o.at("events"));
      auto src = v_.choice(eo, "source", true, {"stdout", "file", "none"});
      auto path = v_.str(eo, "path", false, "a file path");
      if (src == "file") {
        u.events.kind = EventSource::Kind::kFile;
        if (!path && !eo.has("path")) v_.missing(eo, "path", "the file the system under test appends events to");
        u.events.path = path.value_or("");
      } else if (src) {
        u.events.kind = *src == "none" ? EventSource::Kind::kNone : EventSource::Kind::kStdout;
        if (eo.has("path")) v_.error(eo.at("path"), "\"path\" is only used with \"source\": \"file\"", true);
      }
      eo.finish();
    }
    if (const json* h = v_.object(o, "health", false, "an object {\"url\": ..., \"interval_ms\": n}")) {
      Obj ho(v_, *h, o.at("health"));
      HealthPolling hp;
      auto url = v_.str(ho, "url", true, "an http:// URL of the health endpoint");
      if (url && url->rfind("http://", 0) != 0) v_.error(ho.at("url"), "expected an http:// URL, got " + qt(*url));
      hp.url = url.value_or("");
      hp.interval_ms = v_.duration(ho, "interval_ms", false, 10).value_or(200);
      ho.finish();
      u.health = hp;
    }
    o.finish();
  }

  // ---------------- workload ----------------
  void read_workload(const json& j, const Path& p) {
    Obj o(v_, j, p);
    Workload& w = s_.workload;
    auto target = v_.str(o, "target", false, "a base URL such as \"http://127.0.0.1:${sut.port}\"");
    if (target) {
      if (target->rfind("http://", 0) != 0) v_.error(o.at("target"), "expected an http:// base URL, got " + qt(*target));
      w.target = *target;
    } else if (!o.has("target")) {
      if (s_.sut.is_builtin() || !root_.contains("system_under_test")) w.target = "http://127.0.0.1:${sut.port}";
      else v_.missing(o, "target", "the base URL requests go to, e.g. \"http://127.0.0.1:${sut.port}\"; required with a \"command\" system under test");
    }
    auto rate = v_.number(o, "rate_rps", true, 0, kMaxRateRps, true, "requests per second");
    w.rate_rps = rate.value_or(0);
    w.concurrency = static_cast<int>(v_.integer(o, "concurrency", false, 1, kMaxConcurrency).value_or(1));
    auto dur = v_.duration(o, "duration_ms", true, 1, kMaxScenarioTimeoutMs);
    w.duration_ms = dur.value_or(0);
    w.timeout_ms = v_.duration(o, "timeout_ms", false, 1, kMaxScenarioTimeoutMs).value_or(kDefaultRequestTimeoutMs);
    if (auto m = v_.integer(o, "max_requests", false, 1, kMaxRequests)) {
      w.max_requests = *m;
    } else if (rate && dur) {
      double n = std::ceil(*rate * static_cast<double>(*dur) / 1000.0);
      w.max_requests = static_cast<int64_t>(std::clamp(n, 1.0, static_cast<double>(kMaxRequests)));
    }
    if (const json* mix = o.get("mix")) {
      Path mp = o.at("mix");
      if (!mix->is_array() || mix->empty()) {
        v_.type_error(mp, *mix, "a non-empty array of requests {\"method\", \"path\", \"weight\"}");
      } else {
        for (size_t i = 0; i < mix->size(); ++i) {
          const json& r = (*mix)[i];
          if (!r.is_object()) { v_.type_error(mp.idx(i), r, "an object {\"method\", \"path\", \"weight\"}"); continue; }
          Obj ro(v_, r, mp.idx(i));
          RequestSpec rs;
          rs.method = v_.choice(ro, "method", false, {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"}, true).value_or("GET");
          auto path = v_.str(ro, "path", true, "a request path starting with \"/\"");
          if (path && (*path)[0] != '/') v_.error(ro.at("path"), "expected a request path starting with \"/\", got " + qt(*path));
          rs.path = path.value_or("/");
          rs.weight = static_cast<int>(v_.integer(ro, "weight", false, 1, 1000000).value_or(1));
          rs.body = v_.str(ro, "body", false, "a string", true).value_or("");
          rs.headers = v_.str_map(ro, "headers");
          ro.finish();
          w.mix.push_back(std::move(rs));
        }
      }
    }
    if (w.mix.empty()) w.mix.push_back(RequestSpec{"GET", "/", 1, "", {}});
    o.finish();
    workload_ok_ = rate && dur;
  }

  // ---------------- faults ----------------
  void read_faults(const json& j, const Path& p) {
    if (!j.is_array()) { v_.type_error(p, j, "an array of fault steps"); return; }
    std::map<std::string, Path> labels;
    for (size_t i = 0; i < j.size(); ++i) {
      Path fp = p.idx(i);
      const json& f = j[i];
      if (!f.is_object()) { v_.type_error(fp, f, "an object {\"label\", \"at_ms\", \"target\", \"fault\"}"); continue; }
      Obj o(v_, f, fp);
      size_t errors_before = v_.errors.size();
      FaultStep st;
      st.index = i;
      st.pos = v_.where(fp);
      bool ok = true;
      if (auto l = v_.str(o, "label", true, "a label matching [A-Za-z0-9][A-Za-z0-9_-]*")) {
        if (!matches_id(*l, true, false) || (*l)[0] == '-' || (*l)[0] == '_') {
          v_.error(o.at("label"), "expected a label matching [A-Za-z0-9][A-Za-z0-9_-]* (no dots: \"<label>.end\" is an anchor), got " + qt(*l));
          ok = false;
        } else if (*l == "start" || *l == "end" || *l == "all") {
          v_.error(o.at("label"), "label " + qt(*l) + " is reserved (it names an anchor or phase)");
          ok = false;
        } else if (labels.count(*l)) {
          SourcePos first = v_.where(labels.at(*l).key("label"));
          v_.error(o.at("label"), "duplicate label " + qt(*l) + " (first used at line " + std::to_string(first.line) + ":" + std::to_string(first.col) + ")");
          ok = false;
        } else {
          labels.emplace(*l, fp);
          st.label = *l;
        }
      } else {
        ok = false;
      }
      auto at = v_.duration(o, "at_ms", true);
      st.at_ms = at.value_or(0);
      auto action = v_.choice(o, "action", false, {"inject", "clear"});
      st.action = action == "clear" ? FaultStep::Action::kClear : FaultStep::Action::kInject;
      const Service* target = nullptr;
      bool target_sut = false;
      if (auto t = v_.str(o, "target", true, "a service id or \"sut\"")) {
        st.target = *t;
        if (*t == "sut") {
          target_sut = true;
        } else if (!(target = find_service(*t))) {
          std::string msg = "unknown service " + qt(*t) + " in fault target; expected one of " + service_list(true);
          std::string near = closest(*t, service_ids());
          if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
          v_.error(o.at("target"), msg);
          ok = false;
        }
      } else {
        ok = false;
      }
      st.duration_ms = v_.duration(o, "duration_ms", false, 1);
      if (st.action == FaultStep::Action::kClear) {
        if (o.has("fault")) { o.get("fault"); v_.error(o.at("fault"), "a \"clear\" step takes no \"fault\" object: it clears every fault on its target", true); }
        if (o.has("duration_ms")) v_.error(o.at("duration_ms"), "a \"clear\" step takes no \"duration_ms\"", true);
        st.duration_ms.reset();
      } else if (const json* fo = v_.object(o, "fault", true, "an object {\"type\": ..., kind fields}")) {
        if (!read_fault_object(*fo, o.at("fault"), target, target_sut, st.target, st)) ok = false;
      } else {
        ok = false;
      }
      o.finish();
      (void)ok;
      // A step with errors may have meant to end (e.g. a misspelt "duration_ms"): do not also call
      // its ".end" anchor unreachable.
      if (v_.errors.size() != errors_before && !st.label.empty()) unsure_end_labels_.insert(st.label);
      fault_paths_.push_back(fp);
      fault_at_ok_.push_back(at.has_value());
      s_.faults.push_back(std::move(st));
    }
  }

  bool read_fault_object(const json& j, const Path& p, const Service* target, bool target_sut,
                         const std::string& target_id, FaultStep& st) {
    Obj o(v_, j, p);
    const json* t = o.get("type");
    if (!t) { v_.missing(o, "type", "one of " + fault_kind_names()); return false; }
    std::vector<std::string> names;
    for (const auto& k : fault_kinds()) names.push_back(k.name);
    auto type = v_.choice_value(o.at("type"), *t, names, false, "fault type");
    if (!type) {
      // Still mark the other fields known so only the type is reported.
      for (auto it = j.begin(); it != j.end(); ++it) o.get(it.key());
      return false;
    }
    const FaultKind& kind = *find_fault_kind(*type);
    st.type = kind.name;
    bool ok = true;
    const std::string target_kind = target_sut ? "sut" : target ? target->target_kind() : "";
    auto kind_phrase = [&](const std::string& k) {
      return k == "sut" ? std::string("the system under test") : k == "command" ? std::string("a command service")
             : k == "server" ? "a real server (" + std::string(to_string(*target->server)) + ")"
                             : k;
    };
    if (kind.any_target) {
      if (target_kind == "server") {
        v_.error(p.key("type"), "fault type " + qt(kind.name) + " cannot target " + qt(target_id) + ", " + kind_phrase(target_kind) +
                                    " run under its own user; put a \"proxy\" service in front of it and fault the proxy");
        ok = false;
      }
    } else if (!target_kind.empty() &&
               std::find(kind.targets.begin(), kind.targets.end(), target_kind) == kind.targets.end()) {
      std::string msg = "fault type " + qt(kind.name) + " applies to " + join(kind.targets) + " targets; " + qt(target_id) +
                        " is " + kind_phrase(target_kind);
      if (target_kind == "fault-proxy") msg += " (the proxy takes " + kind_names_for(kFaultProxy) + ")";
      else if (target_kind == "sut" || target_kind == "command") msg += " (only \"fiu\" faults apply to any process)";
      else if (target_kind == "server") msg += " (put a \"proxy\" service in front of it and fault the proxy)";
      else msg += " (a mock takes " + kind_names_for(target_kind) + ")";
      v_.error(p.key("type"), msg);
      ok = false;
    }
    std::vector<const FaultField*> fields;
    for (const auto& f : common_fault_fields()) fields.push_back(&f);
    for (const auto& f : kind.fields) fields.push_back(&f);
    for (const FaultField* f : fields) {
      if (f->name == "type") continue;
      const json* v = o.get(f->name);
      if (!v) {
        if (f->required) { v_.missing(o, f->name, std::string(to_string(f->type)) + ", required for fault type " + qt(kind.name)); ok = false; }
        continue;
      }
      Path fp = p.key(f->name);
      if (!check_field(*f, *v, fp)) ok = false;
      if (!f->targets.empty() && target && target->has_control_api()) {
        if (std::find(f->targets.begin(), f->targets.end(), target_kind) == f->targets.end()) {
          v_.error(fp, "field " + qt(f->name) + " applies to " + join(f->targets) + " targets only; " + qt(target_id) + " is " + target_kind, true);
          ok = false;
        }
      }
    }
    for (const auto& rule : field_orders()) {
      if (rule.kind != kind.name || !j.contains(rule.smaller) || !j.contains(rule.larger)) continue;
      const json &a = j[rule.smaller], &b = j[rule.larger];
      if (a.is_number() && b.is_number() && a.get<double>() >= b.get<double>()) {
        v_.error(p.key(rule.smaller), "expected " + rule.smaller + " smaller than " + rule.larger + " (" + b.dump() + "), got " + a.dump());
        ok = false;
      }
    }
    for (const auto& group : kind.at_most_one_of) {
      std::vector<std::string> present;
      for (const auto& g : group)
        if (j.contains(g)) present.push_back(g);
      if (present.size() > 1) {
        v_.error(p.key(present[1]), "fault type " + qt(kind.name) + " takes at most one of " + join(group) + ", got " + join(present), true);
        ok = false;
      }
    }
    o.finish();
    if (ok) st.fault = j;
    return ok;
  }

  bool check_field(const FaultField& f, const json& v, const Path& p) {
    switch (f.type) {
      case FieldType::kDurationMs:
        return v_.integer_value(p, v, static_cast<int64_t>(f.min), static_cast<int64_t>(f.max), "a duration in integer milliseconds").has_value();
      case FieldType::kInteger:
        return v_.integer_value(p, v, static_cast<int64_t>(f.min), static_cast<int64_t>(f.max)).has_value();
      case FieldType::kNumber:
        return v_.number_value(p, v, f.min, f.max).has_value();
      case FieldType::kProbability:
        return v_.number_value(p, v, 0, 1, false, "a probability").has_value();
      case FieldType::kBool:
        if (!v.is_boolean()) { v_.type_error(p, v, "true or false"); return false; }
        return true;
      case FieldType::kString:
        if (!v.is_string() || v.get<std::string>().empty()) { v_.type_error(p, v, "a non-empty string"); return false; }
        if (f.name == "sqlstate" && !valid_sqlstate(v.get<std::string>())) {
          v_.error(p, "expected a SQLSTATE of 5 characters 0-9/A-Z such as \"57P01\", got " + qt(v.get<std::string>()));
          return false;
        }
        return true;
      case FieldType::kEnum:
        return v_.choice_value(p, v, f.choices, false, "").has_value();
    }
    return false;
  }

  // ---------------- anchors ----------------
  std::optional<Anchor> anchor_value(const json& v, const Path& p) {
    if (v.is_object()) {
      Obj o(v_, v, p);
      std::optional<Anchor> base;
      const json* ev = o.get("after_event");
      if (const json* a = o.get("after")) {
        if (ev) v_.error(p.key("after_event"), "expected either \"after\" or \"after_event\", not both", true);
        else if (a->is_string()) base = anchor_string(a->get<std::string>(), p.key("after"));
        else v_.type_error(p.key("after"), *a, "an anchor string (\"start\", \"end\", \"<label>\" or \"<label>.end\")");
      } else if (ev) {
        base = event_anchor(*ev, p.key("after_event"));
      } else {
        v_.missing(o, "after", "an anchor string, or \"after_event\": {\"type\": ..., \"where\": {...}}");
      }
      auto off = v_.integer(o, "offset_ms", false, -kMaxDurationMs, kMaxDurationMs, "integer milliseconds");
      o.finish();
      if (!base) return std::nullopt;
      base->offset_ms = off.value_or(0);
      return base;
    }
    if (!v.is_string()) {
      v_.type_error(p, v, "an anchor: \"start\", \"end\", \"<label>\", \"<label>.end\", {\"after\": <anchor>, \"offset_ms\": n} or {\"after_event\": {\"type\", \"where\"}, \"offset_ms\": n}");
      return std::nullopt;
    }
    return anchor_string(v.get<std::string>(), p);
  }

  // {"type": t, "where": {...}}: the first event of type t whose fields match (same "where" as the
  // never / events expectations).
  std::optional<Anchor> event_anchor(const json& j, const Path& p) {
    if (!j.is_object()) {
      v_.type_error(p, j, "an object {\"type\": event type, \"where\": {field: value}}");
      return std::nullopt;
    }
    Obj o(v_, j, p);
    size_t before = err_count();
    Anchor a{Anchor::Kind::kEvent};
    a.event_type = v_.str(o, "type", true, "an event type such as \"heal.attempt\"").value_or("");
    a.where = where_map(o);
    o.finish();
    if (err_count() != before) return std::nullopt;
    return a;
  }

  std::optional<Anchor> anchor_string(const std::string& s, const Path& p) {
    Anchor a;
    if (s == "start") { a.kind = Anchor::Kind::kStart; return a; }
    if (s == "end") { a.kind = Anchor::Kind::kEnd; return a; }
    std::string label = s;
    a.kind = Anchor::Kind::kFaultStart;
    if (s.size() > 4 && s.compare(s.size() - 4, 4, ".end") == 0) {
      label = s.substr(0, s.size() - 4);
      a.kind = Anchor::Kind::kFaultEnd;
    }
    const FaultStep* f = s_.find_fault(label);
    if (!f) {
      std::vector<std::string> known = {"start", "end"};
      for (const auto& fs : s_.faults)
        if (!fs.label.empty()) { known.push_back(fs.label); known.push_back(fs.label + ".end"); }
      std::string msg = "unknown fault label " + qt(label) + " in anchor " + qt(s) + "; expected one of " + join(known);
      std::string near = closest(s, known);
      if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
      v_.error(p, msg);
      return std::nullopt;
    }
    if (a.kind == Anchor::Kind::kFaultEnd && !fault_ends(*f)) {
      v_.error(p, "anchor " + qt(s) + " can never happen: fault " + qt(label) +
                      (f->action == FaultStep::Action::kClear ? " is a clear step, which has no end"
                                                              : " has no \"duration_ms\" and no later \"clear\" step on target " + qt(f->target)));
      return std::nullopt;
    }
    a.label = label;
    return a;
  }

  bool fault_ends(const FaultStep& f) const {
    if (f.action == FaultStep::Action::kClear) return false;
    if (f.duration_ms || unsure_end_labels_.count(f.label)) return true;
    for (const auto& g : s_.faults)
      if (g.action == FaultStep::Action::kClear && g.target == f.target && g.at_ms >= f.at_ms) return true;
    return false;
  }

  std::optional<Anchor> anchor_field(Obj& o, const std::string& key, bool required, std::optional<Anchor> dflt = std::nullopt) {
    const json* v = v_.field(o, key, required, "an anchor (\"start\", \"end\", \"<label>\", \"<label>.end\", {\"after\", \"offset_ms\"} or {\"after_event\", \"offset_ms\"})");
    if (!v) return dflt;
    return anchor_value(*v, o.at(key));
  }

  // ---------------- phases, steady state ----------------
  void read_phases(const json& j, const Path& p) {
    if (!j.is_array()) { v_.type_error(p, j, "an array of phases {\"name\", \"from\", \"to\"}"); return; }
    std::map<std::string, Path> names;
    for (size_t i = 0; i < j.size(); ++i) {
      Path pp = p.idx(i);
      if (!j[i].is_object()) { v_.type_error(pp, j[i], "an object {\"name\", \"from\", \"to\"}"); continue; }
      Obj o(v_, j[i], pp);
      Phase ph;
      ph.pos = v_.where(pp);
      auto name = v_.str(o, "name", true, "a phase name matching [A-Za-z0-9_-]+");
      auto from = anchor_field(o, "from", true);
      auto to = anchor_field(o, "to", true);
      o.finish();
      if (name) {
        if (!matches_id(*name, true, false)) { v_.error(o.at("name"), "expected a phase name matching [A-Za-z0-9_-]+, got " + qt(*name)); continue; }
        if (*name == "all") { v_.error(o.at("name"), "phase name \"all\" is reserved (it is the whole scenario, start to end)"); continue; }
        if (names.count(*name)) {
          SourcePos first = v_.where(names.at(*name).key("name"));
          v_.error(o.at("name"), "duplicate phase name " + qt(*name) + " (first used at line " + std::to_string(first.line) + ":" + std::to_string(first.col) + ")");
          continue;
        }
        names.emplace(*name, pp);
        declared_phases_.insert(*name);
      }
      if (!name || !from || !to) continue;
      ph.name = *name;
      ph.from = *from;
      ph.to = *to;
      s_.phases.push_back(std::move(ph));
    }
  }

  void read_steady(const json& j, const Path& p) {
    if (j.is_boolean()) { s_.steady_state.enabled = j.get<bool>(); return; }
    if (!j.is_object()) { v_.type_error(p, j, "an object or false"); return; }
    Obj o(v_, j, p);
    SteadyState& ss = s_.steady_state;
    ss.enabled = v_.boolean(o, "enabled", false).value_or(true);
    ss.min_success_rate = v_.number(o, "min_success_rate", false, 0, 1).value_or(ss.min_success_rate);
    ss.min_requests = v_.integer(o, "min_requests", false, 0, kMaxRequests).value_or(ss.min_requests);
    ss.breakers_closed = v_.boolean(o, "breakers_closed", false).value_or(true);
    std::vector<std::string> health_choices = kHealthStatuses;
    health_choices.push_back("ANY");
    if (auto h = v_.choice(o, "health", false, health_choices, true)) ss.health = *h == "ANY" ? "" : *h;
    o.finish();
  }

  // ---------------- expectations ----------------
  std::optional<int64_t> tolerance(Obj* inner, Obj& element, const Path& where, bool needed) {
    std::optional<int64_t> t;
    if (inner) t = v_.duration(*inner, "tolerance_ms", false);
    if (!t && (!inner || !inner->has("tolerance_ms"))) t = element_tol_;
    if (!t) t = s_.tolerance_ms;
    if (!t && needed && !(inner && inner->has("tolerance_ms")) && !element.has("tolerance_ms"))
      v_.error(where, "this time window has no tolerance: add \"tolerance_ms\" here or a scenario-wide \"tolerance_ms\"");
    return t;
  }

  Bound bound(Obj& o, const std::string& key, double max) {
    Bound b;
    const json* v = o.get(key);
    if (!v) return b;
    Path p = o.at(key);
    if (!v->is_object()) { v_.type_error(p, *v, "an object {\"min\": x, \"max\": y}"); return b; }
    Obj bo(v_, *v, p);
    b.min = v_.number(bo, "min", false, 0, max);
    b.max = v_.number(bo, "max", false, 0, max);
    bo.finish();
    if (b.empty() && !bo.has("min") && !bo.has("max")) v_.error(p, "expected at least one of \"min\" or \"max\"");
    if (b.min && b.max && *b.min > *b.max) v_.error(p, "\"min\" " + fmt_num(*b.min) + " is greater than \"max\" " + fmt_num(*b.max));
    return b;
  }

  // "from"/"to" anchors (default start/end), or "phase": a declared phase or "all", whose anchors
  // the window then takes.
  Window window(Obj& o) {
    Window w;
    if (auto ph = v_.str(o, "phase", false, "a phase name")) {
      if (o.has("from") || o.has("to")) {
        o.get("from");
        o.get("to");
        v_.error(o.at("phase"), "expected either \"phase\" or \"from\"/\"to\", not both", true);
      } else if (const Phase* p = s_.find_phase(*ph)) {
        w.from = p->from;
        w.to = p->to;
      } else if (*ph == "all") {
        w.from = Anchor{Anchor::Kind::kStart};
        w.to = Anchor{Anchor::Kind::kEnd};
      } else if (!declared_phases_.count(*ph)) {  // declared but invalid: already reported
        v_.error(o.at("phase"), unknown_phase_message(*ph));
      }
      w.phase = *ph;
      return w;
    }
    w.from = anchor_field(o, "from", false, Anchor{Anchor::Kind::kStart}).value_or(Anchor{});
    w.to = anchor_field(o, "to", false, Anchor{Anchor::Kind::kEnd}).value_or(Anchor{Anchor::Kind::kEnd});
    return w;
  }

  std::string unknown_phase_message(const std::string& name) const {
    std::vector<std::string> known = {"all"};
    for (const auto& p : s_.phases) known.push_back(p.name);
    std::string msg = "unknown phase " + qt(name) + "; expected one of " + join(known);
    std::string near = closest(name, known);
    if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
    return msg;
  }

  // With "events": {"source": "none"} the SUT reports nothing itself: an expectation that can only be
  // judged on its own events would fail at run time for a reason the file already shows, so reject it.
  void needs_sut_events(const Path& p, const std::string& what) {
    if (s_.sut.events.kind != EventSource::Kind::kNone) return;
    v_.error(p, "needs " + what + " from the system under test's event stream, but system_under_test.events.source is \"none\"" +
                    " (use \"stdout\" or \"file\", or judge it through health polling where that is possible)");
  }

  std::map<std::string, json> where_map(Obj& o) {
    std::map<std::string, json> out;
    const json* v = o.get("where");
    if (!v) return out;
    if (!v->is_object()) { v_.type_error(o.at("where"), *v, "an object of field -> value, {\"min\", \"max\"} or {\"in\": [...]}"); return out; }
    for (auto it = v->begin(); it != v->end(); ++it) {
      Path fp = o.at("where").key(it.key());
      const std::string& k = it.key();
      if (k.empty() || k.front() == '.' || k.back() == '.' || k.find("..") != std::string::npos) {
        v_.error(fp, "expected a field name or a dotted path to a nested field such as \"components.rpc.breaker_state\", got " + qt(k), true);
        continue;
      }
      if (it->is_array()) { v_.type_error(fp, *it, "a string, number, boolean, null, {\"min\", \"max\"} or {\"in\": [...]}"); continue; }
      if (it->is_object() && !valid_where_match(*it, fp)) continue;
      out[it.key()] = *it;
    }
    return out;
  }

  // {"min": n, "max": n} (numbers, either or both; min <= max) or {"in": [scalar, ...]} (non-empty).
  bool valid_where_match(const json& m, const Path& p) {
    const std::string expected = "{\"min\": number, \"max\": number} or {\"in\": [values]}";
    if (m.empty()) { v_.error(p, "expected " + expected + ", got an empty object"); return false; }
    bool ok = true;
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k == "min" || k == "max") {
        if (!it->is_number()) { v_.type_error(p.key(k), *it, "a number"); ok = false; }
      } else if (k == "in") {
        if (!it->is_array() || it->empty()) { v_.type_error(p.key(k), *it, "a non-empty array of strings, numbers, booleans or null"); ok = false; continue; }
        for (size_t i = 0; i < it->size(); ++i)
          if ((*it)[i].is_object() || (*it)[i].is_array()) { v_.type_error(p.key(k).idx(i), (*it)[i], "a string, number, boolean or null"); ok = false; }
      } else {
        v_.error(p.key(k), "unknown field " + qt(k) + " in a where match; expected " + expected);
        ok = false;
      }
    }
    if (m.contains("in") && (m.contains("min") || m.contains("max"))) { v_.error(p, "expected " + expected + ", not both"); ok = false; }
    if (ok && m.contains("min") && m.contains("max") && m["min"].get<double>() > m["max"].get<double>()) {
      v_.error(p.key("max"), "expected max >= min (" + m["min"].dump() + "), got " + m["max"].dump());
      ok = false;
    }
    return ok;
  }

  void read_expect(const json& j, const Path& p) {
    if (!j.is_array()) { v_.type_error(p, j, "an array of expectations"); return; }
    static const std::vector<std::string> kKinds = {"transitions", "heal", "recovery", "rates", "never",
                                                    "max_transitions", "events", "system_state"};
    for (size_t i = 0; i < j.size(); ++i) {
      Path ep = p.idx(i);
      const json& e = j[i];
      if (!e.is_object()) { v_.type_error(ep, e, "an object with one expectation kind (" + join(kKinds) + ")"); continue; }
      Obj o(v_, e, ep);
      std::vector<std::string> present;
      for (const auto& k : kKinds)
        if (e.contains(k)) present.push_back(k);
      Expectation x;
      x.id = "expect[" + std::to_string(i) + "]";
      x.pos = v_.where(ep);
      x.description = v_.str(o, "description", false).value_or("");
      element_tol_ = v_.duration(o, "tolerance_ms", false);
      if (present.size() != 1) {
        for (const auto& k : kKinds) o.get(k);
        o.get("breaker");
        if (present.empty()) v_.error(ep, "expected exactly one expectation kind: " + join(kKinds));
        else v_.error(ep, "expected exactly one expectation kind, got " + join(present) + " (write them as separate elements)");
        o.finish();
        continue;
      }
      const std::string& k = present[0];
      bool ok = true;
      if (k == "transitions") ok = read_transitions(o, x);
      else {
        o.get(k);
        const json& body = e[k];
        Path bp = o.at(k);
        if (!body.is_object()) { v_.type_error(bp, body, "an object"); ok = false; }
        else {
          Obj b(v_, body, bp);
          if (k == "heal") ok = read_heal(b, o, x);
          else if (k == "recovery") ok = read_recovery(b, o, x);
          else if (k == "rates") ok = read_rates(b, o, x);
          else if (k == "never") ok = read_never(b, o, x);
          else if (k == "max_transitions") ok = read_max_transitions(b, o, x);
          else if (k == "events") ok = read_events(b, o, x);
          else if (k == "system_state") ok = read_system_state(b, o, x);
          b.finish();
        }
      }
      o.finish();
      if (ok) s_.expectations.push_back(std::move(x));
    }
  }

  size_t err_count() const { return v_.errors.size(); }

  bool read_transitions(Obj& o, Expectation& x) {
    size_t before = err_count();
    BreakerTransitionsExpect t;
    t.breaker = v_.str(o, "breaker", true, "the breaker name (as in its breaker.state events)").value_or("");
    needs_sut_events(o.at("transitions"), "breaker.state events");
    const json* steps = o.get("transitions");
    Path sp = o.at("transitions");
    if (!steps->is_array() || steps->empty()) {
      v_.type_error(sp, *steps, "a non-empty array of transitions {\"to\": state, \"after\", \"within_ms\"}");
      return false;
    }
    for (size_t i = 0; i < steps->size(); ++i) {
      Path tp = sp.idx(i);
      const json& sj = (*steps)[i];
      if (!sj.is_object()) { v_.type_error(tp, sj, "an object {\"to\": state, ...}"); continue; }
      Obj so(v_, sj, tp);
      TransitionStep st;
      st.pos = v_.where(tp);
      st.to = v_.choice(so, "to", true, kBreakerStates, true).value_or("");
      st.after = anchor_field(so, "after", false);
      st.within_ms = v_.duration(so, "within_ms", false);
      st.not_before_ms = v_.duration(so, "not_before_ms", false);
      if (so.has("after") && !so.has("within_ms") && !so.has("not_before_ms"))
        v_.error(tp.key("after"), "\"after\" needs \"within_ms\" and/or \"not_before_ms\" to form a window", true);
      if (st.within_ms && st.not_before_ms && *st.not_before_ms > *st.within_ms)
        v_.error(tp.key("not_before_ms"), "\"not_before_ms\" " + std::to_string(*st.not_before_ms) + " is after \"within_ms\" " + std::to_string(*st.within_ms) + ": the window is empty");
      bool windowed = so.has("within_ms") || so.has("not_before_ms");
      st.tolerance_ms = tolerance(&so, o, tp, windowed).value_or(0);
      so.finish();
      t.steps.push_back(std::move(st));
    }
    x.kind = "breaker_transitions";
    if (x.description.empty()) {
      std::string seq;
      for (const auto& s : t.steps) seq += (seq.empty() ? "" : " -> ") + s.to;
      x.description = "breaker \"" + t.breaker + "\" goes " + seq;
    }
    x.body = std::move(t);
    return err_count() == before;
  }

  bool read_heal(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    HealExpect h;
    h.check = v_.str(b, "check", true, "the health check name").value_or("");
    needs_sut_events(b.path(), "heal.attempt events");
    h.after = anchor_field(b, "after", false, Anchor{}).value_or(Anchor{});
    h.within_ms = v_.duration(b, "within_ms", true).value_or(0);
    h.min = v_.integer(b, "min", false, 0, 1000000);
    h.max = v_.integer(b, "max", false, 0, 1000000);
    if (h.min && h.max && *h.min > *h.max) v_.error(b.path().key("min"), "\"min\" " + std::to_string(*h.min) + " is greater than \"max\" " + std::to_string(*h.max));
    h.outcome = v_.choice(b, "outcome", false, {"success", "failure"}).value_or("");
    if (!b.has("min") && !b.has("max") && !b.has("outcome") && err_count() == before) h.min = 1;
    h.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "heal_attempts";
    if (x.description.empty())
      x.description = "heal attempts on \"" + h.check + "\" within " + std::to_string(h.within_ms) + " ms after " + h.after.text();
    x.body = std::move(h);
    return err_count() == before;
  }

  bool read_recovery(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    RecoveryExpect r;
    r.after = anchor_field(b, "after", true).value_or(Anchor{});
    r.max_ms = v_.duration(b, "max_ms", true).value_or(0);
    if (const json* u = v_.object(b, "until", true, "a condition: {\"breaker\", \"state\"}, {\"health\", \"check\"} or {\"system_state\"}")) {
      Obj uo(v_, *u, b.at("until"));
      int kinds = (u->contains("breaker") ? 1 : 0) + (u->contains("health") ? 1 : 0) + (u->contains("system_state") ? 1 : 0);
      if (kinds != 1) {
        uo.get("breaker"); uo.get("state"); uo.get("health"); uo.get("check"); uo.get("system_state");
        v_.error(b.at("until"), "expected exactly one of {\"breaker\": name, \"state\": s}, {\"health\": status, \"check\": name} or {\"system_state\": s}");
      } else if (u->contains("breaker")) {
        r.until.kind = Condition::Kind::kBreakerState;
        r.until.name = v_.str(uo, "breaker", true).value_or("");
        r.until.state = v_.choice(uo, "state", false, kBreakerStates, true).value_or("CLOSED");
        if (!s_.sut.health) needs_sut_events(b.at("until"), "breaker.state events");
      } else if (u->contains("health")) {
        r.until.kind = Condition::Kind::kHealthStatus;
        r.until.state = v_.choice(uo, "health", true, kHealthStatuses, true).value_or("");
        // Without "check": the overall health, which only the harness's health polls report.
        r.until.name = v_.str(uo, "check", false, "the health check name").value_or("");
        if (!uo.has("check") && !s_.sut.health)
          v_.error(b.at("until"), "{\"health\": status} without \"check\" is the overall health (health.poll overall_status), "
                                  "which needs \"system_under_test\": {\"health\": {\"url\": ...}} polling; add it, or name a \"check\"");
        else if (!s_.sut.health)
          needs_sut_events(b.at("until"), "health.check events");
      } else {
        r.until.kind = Condition::Kind::kSystemState;
        r.until.state = v_.choice(uo, "system_state", true, kSystemStates, true).value_or("");
        if (!s_.sut.health) needs_sut_events(b.at("until"), "health.state events");
      }
      uo.finish();
    }
    r.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "recovery";
    if (x.description.empty())
      x.description = r.until.text() + " at most " + std::to_string(r.max_ms) + " ms after " + r.after.text();
    x.body = std::move(r);
    return err_count() == before;
  }

  bool read_rates(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    RatesExpect r;
    if (auto ph = v_.str(b, "phase", true, "a phase name")) {
      if (*ph != "all" && !declared_phases_.count(*ph)) v_.error(b.at("phase"), unknown_phase_message(*ph));
      r.phase = *ph;
    }
    r.success_rate = bound(b, "success_rate", 1);
    r.error_rate = bound(b, "error_rate", 1);
    r.fallback_rate = bound(b, "fallback_rate", 1);
    r.p50_ms = bound(b, "p50_ms", 1e9);
    r.p95_ms = bound(b, "p95_ms", 1e9);
    r.p99_ms = bound(b, "p99_ms", 1e9);
    r.throughput_rps = bound(b, "throughput_rps", 1e9);
    r.min_requests = v_.integer(b, "min_requests", false, 1, kMaxRequests).value_or(1);
    if (r.success_rate.empty() && r.error_rate.empty() && r.fallback_rate.empty() && r.p50_ms.empty() &&
        r.p95_ms.empty() && r.p99_ms.empty() && r.throughput_rps.empty() && err_count() == before)
      v_.error(b.path(), "expected at least one of success_rate, error_rate, fallback_rate, p50_ms, p95_ms, p99_ms, throughput_rps");
    r.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "rates";
    if (x.description.empty()) x.description = "request rates and latency in phase \"" + r.phase + "\"";
    x.body = std::move(r);
    return err_count() == before;
  }

  bool read_never(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    NeverExpect n;
    bool has_breaker = b.has("breaker"), has_event = b.has("event");
    if (has_breaker == has_event) {
      b.get("breaker"); b.get("state"); b.get("event"); b.get("name"); b.get("where");
      v_.error(b.path(), has_breaker ? "expected either \"breaker\" or \"event\", not both"
                                     : "expected {\"breaker\": name, \"state\": s} or {\"event\": type, \"name\", \"where\"}");
    } else if (has_breaker) {
      n.breaker = v_.str(b, "breaker", true).value_or("");
      n.state = v_.choice(b, "state", true, kBreakerStates, true).value_or("");
      needs_sut_events(b.at("breaker"), "breaker.state events");
      n.event_type = "breaker.state";
      n.where["name"] = n.breaker;
      n.where["to"] = n.state;
    } else {
      n.event_type = v_.str(b, "event", true, "an event type such as \"heal.attempt\"").value_or("");
      n.where = where_map(b);
      if (auto name = v_.str(b, "name", false)) n.where["name"] = *name;
    }
    n.window = window(b);
    n.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "never";
    if (x.description.empty())
      x.description = has_breaker ? "breaker \"" + n.breaker + "\" never enters " + n.state + " " + n.window.text()
                                  : "no \"" + n.event_type + "\" event " + n.window.text();
    x.body = std::move(n);
    return err_count() == before;
  }

  bool read_max_transitions(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    MaxTransitionsExpect m;
    m.breaker = v_.str(b, "breaker", true, "the breaker name").value_or("");
    needs_sut_events(b.at("breaker"), "breaker.state events");
    m.max = v_.integer(b, "max", true, 0, 1000000).value_or(0);
    m.window = window(b);
    m.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "max_transitions";
    if (x.description.empty())
      x.description = "breaker \"" + m.breaker + "\" changes state at most " + std::to_string(m.max) + " times";
    x.body = std::move(m);
    return err_count() == before;
  }

  bool read_events(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    EventCountExpect c;
    c.type = v_.str(b, "type", true, "an event type such as \"retry.attempt\"").value_or("");
    c.where = where_map(b);
    if (auto name = v_.str(b, "name", false)) c.where["name"] = *name;
    c.min = v_.integer(b, "min", false, 0, 100000000);
    c.max = v_.integer(b, "max", false, 0, 100000000);
    if (!b.has("min") && !b.has("max")) v_.error(b.path(), "expected at least one of \"min\" or \"max\"");
    if (c.min && c.max && *c.min > *c.max) v_.error(b.path().key("min"), "\"min\" " + std::to_string(*c.min) + " is greater than \"max\" " + std::to_string(*c.max));
    c.window = window(b);
    c.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "event_count";
    if (x.description.empty()) x.description = "count of \"" + c.type + "\" events";
    x.body = std::move(c);
    return err_count() == before;
  }

  bool read_system_state(Obj& b, Obj& o, Expectation& x) {
    size_t before = err_count();
    SystemStateExpect s;
    s.state = v_.choice(b, "state", true, kSystemStates, true).value_or("");
    if (!s_.sut.health) needs_sut_events(b.path(), "health.state events");
    s.at = anchor_field(b, "at", false, Anchor{Anchor::Kind::kEnd}).value_or(Anchor{Anchor::Kind::kEnd});
    s.tolerance_ms = tolerance(&b, o, b.path(), true).value_or(0);
    x.kind = "system_state";
    if (x.description.empty()) x.description = "system state is " + s.state + " at " + s.at.text();
    x.body = std::move(s);
    return err_count() == before;
  }

  // ---------------- cross-field checks ----------------
  static std::string kind_names_for(const std::string& target_kind) {
    std::vector<std::string> names;
    for (const auto& k : fault_kinds())
      if (k.any_target || std::find(k.targets.begin(), k.targets.end(), target_kind) != k.targets.end())
        names.push_back(k.name);
    return join(names);
  }
  std::vector<std::string> service_ids() const {
    std::vector<std::string> ids;
    for (const auto& s : s_.services) ids.push_back(s.id);
    return ids;
  }
  std::string service_list(bool with_sut) const {
    auto ids = service_ids();
    if (with_sut) ids.push_back("sut (fiu faults only)");
    return ids.empty() ? "(no services declared)" : join(ids);
  }
  const Service* find_service(const std::string& id) const { return s_.find_service(id); }

  void check_templates(const json& j, const Path& p) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (p.ptr.empty() && (it.key() == "description" || it.key() == "expect")) continue;
        check_templates(*it, p.key(it.key()));
      }
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) check_templates(j[i], p.idx(i));
    } else if (j.is_string()) {
      const std::string& s = j.get_ref<const std::string&>();
      if (s.find('$') == std::string::npos) return;
      TemplateScan scan = find_templates(s);
      if (!scan.error.empty()) v_.error(p, scan.error + " in " + qt(s));
      for (const auto& r : scan.refs) {
        std::string err = check_template_expr(r.expr);
        if (!err.empty()) { v_.error(p, err); continue; }
        if (r.expr.rfind("services.", 0) == 0) {
          std::string id = r.expr.substr(9, r.expr.rfind('.') - 9);
          std::string prop = r.expr.substr(r.expr.rfind('.') + 1);
          const Service* s = find_service(id);
          if (!s) {
            std::string msg = "unknown service " + qt(id) + " in template \"${" + r.expr + "}\"; expected one of " + service_list(false);
            std::string near = closest(id, service_ids());
            if (!near.empty()) msg += " (did you mean " + qt(near) + "?)";
            v_.error(p, msg);
          } else if (prop == "control_port" && !s->has_control_api()) {
            v_.error(p, "template \"${" + r.expr + "}\": service " + qt(id) + " is " + s->target_kind() + "; only built-in mocks and proxies have a control_port");
          }
        }
      }
    }
  }

  void check_time_budget(Obj& o) {
    if (s_.timeout_ms <= 0) return;
    const Workload& w = s_.workload;
    if (workload_ok_) {
      int64_t need = w.duration_ms + w.timeout_ms + kTimeoutMarginMs;
      if (s_.timeout_ms < need)
        v_.error(o.at("timeout_ms"), "timeout_ms " + std::to_string(s_.timeout_ms) + " is shorter than the scenario needs: workload.duration_ms " +
                                         std::to_string(w.duration_ms) + " + workload.timeout_ms " + std::to_string(w.timeout_ms) + " + " +
                                         std::to_string(kTimeoutMarginMs) + " ms margin = " + std::to_string(need) + " ms");
    }
    std::optional<int64_t> first_at;
    for (size_t k = 0; k < s_.faults.size(); ++k) {
      const FaultStep& f = s_.faults[k];
      const Path& fp = fault_paths_[k];
      if (!fault_at_ok_[k]) continue;
      if (workload_ok_ && f.at_ms > w.duration_ms)
        v_.error(fp.key("at_ms"), "fault starts at " + std::to_string(f.at_ms) + " ms, after the workload ends at " +
                                      std::to_string(w.duration_ms) + " ms: it would never be observed");
      else if (f.at_ms >= s_.timeout_ms)
        v_.error(fp.key("at_ms"), "fault starts at " + std::to_string(f.at_ms) + " ms, not before the scenario timeout " + std::to_string(s_.timeout_ms) + " ms");
      else if (f.duration_ms && f.at_ms + *f.duration_ms > s_.timeout_ms)
        v_.error(fp.key("duration_ms"), "fault ends at " + std::to_string(f.at_ms + *f.duration_ms) + " ms (at_ms + duration_ms), after the scenario timeout " +
                                            std::to_string(s_.timeout_ms) + " ms");
      if (f.action == FaultStep::Action::kInject && (!first_at || f.at_ms < *first_at)) first_at = f.at_ms;
    }
    if (s_.steady_state.enabled && first_at && *first_at == 0) {
      for (size_t k = 0; k < s_.faults.size(); ++k)
        if (fault_at_ok_[k] && s_.faults[k].action == FaultStep::Action::kInject && s_.faults[k].at_ms == 0) {
          v_.error(fault_paths_[k].key("at_ms"), "the steady state is checked before the first fault, so it needs at_ms > 0 "
                                                 "(or set \"steady_state\": false)");
          break;
        }
    }
  }

  Validator& v_;
  const json& root_;
  Scenario s_;
  std::optional<int64_t> element_tol_;
  std::vector<Path> fault_paths_;  // parallel to s_.faults before sorting
  std::set<std::string> unsure_end_labels_;
  std::map<std::string, Path> proxy_paths_;  // proxy service id -> where its "proxy" field is
  std::set<std::string> declared_phases_;  // including phases dropped for errors (no cascades)
  std::vector<bool> fault_at_ok_;  // parallel too: at_ms was valid (else time checks would mislead)
  bool workload_ok_ = false;
};

}  // namespace

ParseResult parse_scenario_text(std::string_view text, const std::string& file) {
  ParseResult out;
  auto fail = [&](size_t offset, const std::string& msg) {
    // Line/col of a raw offset: the position index is not built for text that does not parse.
    int line = 1, col = 1;
    for (size_t k = 0; k < offset && k < text.size(); ++k) {
      if (text[k] == '\n') { ++line; col = 1; }
      else if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) ++col;
    }
    out.errors.push_back({file, line, col, "", msg});
  };
  if (auto deep = find_excessive_nesting(text, JsonPositions::kMaxDepth)) {
    fail(*deep, "JSON nested deeper than " + std::to_string(JsonPositions::kMaxDepth) + " levels");
    return out;
  }
  json root;
  try {
    root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t off = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    auto p = what.find("parse error");
    auto colon = what.find(": ", p == std::string::npos ? 0 : p);
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    fail(off, "invalid JSON: " + sanitize_utf8(detail));
    return out;
  } catch (const std::exception& e) {
    fail(0, std::string("invalid JSON: ") + e.what());
    return out;
  }
  JsonPositions pos(text);
  Validator v(root, pos, file);
  for (const auto& d : pos.duplicates()) {
    SourcePos sp = pos.pos(d.offset), first = pos.pos(d.first_offset);
    // Dotted path for the pointer is rebuilt cheaply: pointers here are only for display.
    std::string dotted;
    size_t k = 1;
    while (k <= d.pointer.size() && !d.pointer.empty()) {
      size_t next = d.pointer.find('/', k);
      std::string tok = d.pointer.substr(k, next == std::string::npos ? std::string::npos : next - k);
      bool index = !tok.empty() && std::all_of(tok.begin(), tok.end(), ::isdigit);
      dotted += index ? "[" + tok + "]" : (dotted.empty() ? tok : "." + tok);
      if (next == std::string::npos) break;
      k = next + 1;
    }
    v.errors.push_back({file, sp.line, sp.col, dotted,
                        "duplicate key (first at line " + std::to_string(first.line) + ":" + std::to_string(first.col) +
                            "); JSON keeps only the last one, so remove one of them"});
  }
  Scenario s;
  try {
    ScenarioReader r(v, root, file);
    s = r.read();
  } catch (const std::exception& e) {
    // Defensive: a validator bug must surface as an error, not crash the CLI or a fuzzer.
    v.errors.push_back({file, 0, 0, "", std::string("internal validator error: ") + e.what()});
  }
  out.errors = std::move(v.errors);
  for (auto& e : out.errors) {
    e.message = sanitize_utf8(e.message);
    e.json_path = sanitize_utf8(e.json_path);
  }
  std::stable_sort(out.errors.begin(), out.errors.end(), [](const ScenarioError& a, const ScenarioError& b) {
    return std::tie(a.line, a.col) < std::tie(b.line, b.col);
  });
  if (out.errors.empty()) out.scenario = std::move(s);
  return out;
}

ParseResult parse_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParseResult r;
    r.errors.push_back({path, 0, 0, "", "cannot read the scenario file: " + std::string(std::strerror(errno))});
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_scenario_text(ss.str(), path);
}

}  // namespace chaos::scenario
