// slow_close: when a side closes its connection, the close (FIN) reaches the other side delay_ms late;
// the direction says whose close is delayed ("downstream": the server's close reaching the client).
#include "proxy/fault_registry.h"

namespace chaos::proxy {
namespace {

class SlowCloseFault final : public FaultKind, public LinkToxic {
 public:
  explicit SlowCloseFault(int64_t delay_ms) : delay_ms_(delay_ms) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv&) const override { return std::make_unique<SlowCloseFault>(*this); }
  Duration close_delay() const override { return std::chrono::milliseconds(delay_ms_); }
  nlohmann::json fields() const override { return {{"delay_ms", delay_ms_}}; }

 private:
  int64_t delay_ms_;
};

}  // namespace

std::unique_ptr<FaultKind> make_slow_close_fault(FieldReader& f, const FaultCommon&) {
  auto delay = f.integer("delay_ms", 0, 86'400'000);
  if (!delay) throw FaultSpecError("field 'delay_ms' is required for slow_close (milliseconds)");
  return std::make_unique<SlowCloseFault>(*delay);
}

}  // namespace chaos::proxy
