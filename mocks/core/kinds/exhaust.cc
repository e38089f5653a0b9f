// exhaust: a stateful fault. Connections open when it starts are marked broken (each with the fault's
// probability) and stay broken for their whole life, even after the fault ends: every request on them
// gets an error (or hangs, mode "hang"). New connections work. Only reconnecting cures it, which is what
// makes a client's reconnecting auto-heal observable.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class ExhaustFault final : public FaultKind {
 public:
  explicit ExhaustFault(BrokenMode mode) : mode_(mode) {}
  void on_activate(ServiceControl& svc, const std::function<bool()>& pick) override {
    svc.break_open_connections(mode_, pick);
  }
  nlohmann::json fields() const override { return {{"mode", mode_ == BrokenMode::kHang ? "hang" : "error"}}; }

 private:
  BrokenMode mode_;
};

}  // namespace

std::unique_ptr<FaultKind> make_exhaust_fault(FieldReader& f, const FaultCommon&) {
  bool hang = f.one_of("mode", {"error", "hang"}).value_or("error") == "hang";
  return std::make_unique<ExhaustFault>(hang ? BrokenMode::kHang : BrokenMode::kError);
}

}  // namespace chaos::mocks
