// Templates such as "${services.db.port}" let a scenario refer to values known only at run time
// (ephemeral ports, pids, folders). The validator uses find_templates() to check every reference;
// the runner uses resolve_templates() with the values it learnt.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chaos::scenario {

struct TemplateRef {
  std::string expr;    // text between "${" and "}", e.g. "services.db.port"
  size_t offset = 0;   // byte offset of "$" in the string
  size_t length = 0;   // of the whole "${...}"
};

struct TemplateScan {
  std::vector<TemplateRef> refs;
  std::string error;         // non-empty: malformed (e.g. unterminated "${"); refs are those before it
  size_t error_offset = 0;
};

// "$$" is a literal "$" and is skipped.
TemplateScan find_templates(const std::string& s);

// Known template expressions:
//   services.<id>.port | services.<id>.control_port (mocks) | services.<id>.pid
//   sut.port | sut.pid | scenario.dir | scenario.name | scenario.seed | report.dir | bin.dir
// Returns "" when `expr` is well formed, else what was expected.
std::string check_template_expr(const std::string& expr);

// Replaces every "${expr}" using `lookup` (returns nullopt for an unknown value) and "$$" by "$".
// On failure returns nullopt and sets *error (if given) to a message naming the expression.
std::optional<std::string> resolve_templates(
    const std::string& s, const std::function<std::optional<std::string>(const std::string&)>& lookup,
    std::string* error = nullptr);

}  // namespace chaos::scenario
