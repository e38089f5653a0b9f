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

}  // namespace

std::unique_ptr<FaultKind> make_crash_fault(FieldReader& f, const FaultCommon&) {
  return std::make_unique<CrashFault>(static_cast<int>(f.integer("exit_code", 0, 255).value_or(1)));
}

}  // namespace chaos::mocks
