// down: close the listener (clients get ECONNREFUSED) for the fault's duration, then reopen it on the
// same port. Open connections are left alone: add a disconnect fault to drop them too.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class DownFault final : public FaultKind {
 public:
  void on_activate(ServiceControl& svc, const std::function<bool()>&) override { svc.hold_listener_down(); }
  void on_deactivate(ServiceControl& svc) override { svc.release_listener_down(); }
  nlohmann::json fields() const override { return nlohmann::json::object(); }
};

std::unique_ptr<FaultKind> make_down_fault(FieldReader&, const FaultCommon&) { return std::make_unique<DownFault>(); }

}  // namespace

const FaultKindInfo& down_fault_kind() {
  static constexpr FaultKindInfo kInfo{"down", /*accepts_match=*/false, &make_down_fault};
  return kInfo;
}

}  // namespace chaos::mocks
