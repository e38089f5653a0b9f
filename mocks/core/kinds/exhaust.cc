// exhaust: a stateful fault. Connections open when it starts are marked broken (each with the fault's
// probability) and stay broken for their whole life, even after the fault ends: every request on them
// gets an error (or hangs, mode "hang"). New connections work. Only reconnecting cures it, which is what
// makes a client's reconnecting auto-heal observable.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class ExhaustFault final : public FaultKind {
 public:
  ExhaustFault(bool hang, int kind_index) : hang_(hang) {
    if (kind_index >= 0) answer_.kinds = 1u << kind_index;
    if (hang) {
      answer_.terminal = RequestEffect::Terminal::kHang;
    } else {
      answer_.terminal = RequestEffect::Terminal::kError;
      answer_.error.status = 503;
      answer_.error.sqlstate = "53300";  // too_many_connections: what an exhausted PostgreSQL says
      answer_.error.message = "connection exhausted by fault: reconnect to recover";
    }
  }
  void on_activate(ServiceControl& svc, const std::function<bool()>& pick) override {
    svc.break_open_connections_with(answer_, pick);
  }
  nlohmann::json fields() const override { return {{"mode", hang_ ? "hang" : "error"}}; }

 private:
  bool hang_;
  RequestEffect answer_;  // what every later request on a broken connection gets
};

std::unique_ptr<FaultKind> make_exhaust_fault(FieldReader& f, const FaultCommon& common) {
  bool hang = f.one_of("mode", {"error", "hang"}).value_or("error") == "hang";
  return std::make_unique<ExhaustFault>(hang, common.kind_index);
}

}  // namespace

const FaultKindInfo& exhaust_fault_kind() {
  static constexpr FaultKindInfo kInfo{"exhaust", /*accepts_match=*/false, &make_exhaust_fault};
  return kInfo;
}

}  // namespace chaos::mocks
