// crash: the process exits with exit_code when the fault starts (after start_delay_ms), so the harness
// sees a dead dependency rather than a misbehaving one.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class CrashFault final : public FaultKind {
 public:
  explicit CrashFault(int code) : code_(code) {}
  void on_activate(ServiceControl& svc, const std::function<bool()>&) override { svc.crash(code_); }
  nlohmann::json fields() const override { return {{"exit_code", code_}}; }

 private:
  int code_;
};

std::unique_ptr<FaultKind> make_crash_fault(FieldReader& f, const FaultCommon& common) {
  if (common.duration) {
    throw FaultSpecError("field 'duration_ms' is not supported by crash (the process exits when it starts)");
  }
  return std::make_unique<CrashFault>(static_cast<int>(f.integer("exit_code", 0, 255).value_or(1)));
}

}  // namespace

const FaultKindInfo& crash_fault_kind() {
  static constexpr FaultKindInfo kInfo{"crash", /*accepts_match=*/false, &make_crash_fault};
  return kInfo;
}

}  // namespace chaos::mocks
