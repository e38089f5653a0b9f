// Template scanning and resolution; see templates.h for the grammar.
#include "scenario/templates.h"

namespace chaos::scenario {

TemplateScan find_templates(const std::string& s) {
  TemplateScan out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) continue;
    if (s[i + 1] == '$') { ++i; continue; }
    if (s[i + 1] != '{') continue;
    size_t close = s.find('}', i + 2);
    if (close == std::string::npos) {
      out.error = "unterminated \"${\": expected \"}\" (write \"$$\" for a literal \"$\")";
      out.error_offset = i;
      return out;
    }
    out.refs.push_back({s.substr(i + 2, close - i - 2), i, close - i + 1});
    i = close;
  }
  return out;
}

namespace {
std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}
}  // namespace

std::string check_template_expr(const std::string& expr) {
  static const char* kExpected =
      "expected services.<id>.port, services.<id>.control_port, services.<id>.pid, sut.port, sut.pid, "
      "scenario.dir, scenario.name, scenario.seed, report.dir or bin.dir";
  auto p = split_dots(expr);
  if (p.size() == 3 && p[0] == "services") {
    if (p[1].empty()) return std::string("empty service id; ") + kExpected;
    if (p[2] == "port" || p[2] == "control_port" || p[2] == "pid") return "";
    return "unknown service property \"" + p[2] + "\"; expected port, control_port or pid";
  }
  if (p.size() == 2) {
    if (p[0] == "sut" && (p[1] == "port" || p[1] == "pid")) return "";
    if (p[0] == "scenario" && (p[1] == "dir" || p[1] == "name" || p[1] == "seed")) return "";
    if (p[0] == "report" && p[1] == "dir") return "";
    if (p[0] == "bin" && p[1] == "dir") return "";
  }
  return "unknown template \"${" + expr + "}\"; " + kExpected;
}

std::optional<std::string> resolve_templates(
    const std::string& s, const std::function<std::optional<std::string>(const std::string&)>& lookup,
    std::string* error) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t close = s.find('}', i + 2);
      if (close == std::string::npos) {
        if (error) *error = "unterminated \"${\" in \"" + s + "\"";
        return std::nullopt;
      }
      std::string expr = s.substr(i + 2, close - i - 2);
      auto v = lookup(expr);
      if (!v) {
        if (error) *error = "no value for template \"${" + expr + "}\"";
        return std::nullopt;
      }
      out += *v;
      i = close;
      continue;
    }
    out += s[i];
  }
  return out;
}

}  // namespace chaos::scenario
