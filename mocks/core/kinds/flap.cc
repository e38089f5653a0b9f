// flap: alternate down and up every period_ms (starting down) while active; ends up.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class FlapFault final : public FaultKind {
 public:
  explicit FlapFault(int64_t period_ms) : period_ms_(period_ms) {}
  void on_activate(ServiceControl& svc, const std::function<bool()>&) override {
    svc.hold_listener_down();
    down_ = true;
  }
  std::optional<Duration> tick_interval() const override { return std::chrono::milliseconds(period_ms_); }
  void on_tick(ServiceControl& svc) override {
    if (down_) svc.release_listener_down(); else svc.hold_listener_down();
    down_ = !down_;
  }
  void on_deactivate(ServiceControl& svc) override {
    if (down_) svc.release_listener_down();
    down_ = false;
  }
  nlohmann::json fields() const override { return {{"period_ms", period_ms_}, {"currently_down", down_}}; }

 private:
  int64_t period_ms_;
  bool down_ = false;
};

std::unique_ptr<FaultKind> make_flap_fault(FieldReader& f, const FaultCommon&) {
  auto period = f.integer("period_ms", 1, 3'600'000);
  if (!period) throw FaultSpecError("field 'period_ms' is required for flap (an integer in [1, 3600000])");
  return std::make_unique<FlapFault>(*period);
}

}  // namespace

const FaultKindInfo& flap_fault_kind() {
  static constexpr FaultKindInfo kInfo{"flap", /*accepts_match=*/false, &make_flap_fault};
  return kInfo;
}

}  // namespace chaos::mocks
