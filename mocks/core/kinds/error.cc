// error: answer with a protocol-correct error instead of the real response: an HTTP status (mock-rpc),
// a RESP -ERR (mock-cache) or an ErrorResponse with a SQLSTATE (mock-db).
#include "core/fault_registry.h"

#include <cctype>

namespace chaos::mocks {
namespace {

class ErrorFault final : public FaultKind {
 public:
  explicit ErrorFault(ErrorSpec spec) : spec_(std::move(spec)) {}
  bool affects_requests() const override { return true; }
  void apply(RequestEffect& effect, Random&) const override {
    if (effect.terminal == RequestEffect::Terminal::kNone) {
      effect.terminal = RequestEffect::Terminal::kError;
      effect.error = spec_;
    }
  }
  nlohmann::json fields() const override {
    return {{"status", spec_.status}, {"message", spec_.message}, {"sqlstate", spec_.sqlstate}};
  }

 private:
  ErrorSpec spec_;
};

std::unique_ptr<FaultKind> make_error_fault(FieldReader& f, const FaultCommon&) {
  ErrorSpec spec;
  spec.status = static_cast<int>(f.integer("status", 400, 599).value_or(503));
  spec.message = f.string("message", 1024).value_or("injected fault");
  for (char c : spec.message) {
    if (c == '\r' || c == '\n' || c == '\0') {
      throw FaultSpecError("field 'message' must not contain CR, LF or NUL (it is sent inside a protocol line)");
    }
  }
  if (auto s = f.string("sqlstate", 5)) {
    bool ok = s->size() == 5;
    for (char c : *s) ok = ok && (std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)));
    if (!ok) throw FaultSpecError("field 'sqlstate' must be 5 characters of 0-9/A-Z (e.g. \"57P01\"), got \"" + *s + "\"");
    spec.sqlstate = *s;
  }
  return std::make_unique<ErrorFault>(std::move(spec));
}

}  // namespace

const FaultKindInfo& error_fault_kind() {
  static constexpr FaultKindInfo kInfo{"error", /*accepts_match=*/true, &make_error_fault};
  return kInfo;
}

}  // namespace chaos::mocks
