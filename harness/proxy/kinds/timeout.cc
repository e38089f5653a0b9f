// timeout: the link stops forwarding in the fault's direction(s). Data is held back, not dropped: the
// proxy stops reading, so TCP backpressure builds, and held data flows again when the fault ends. With
// timeout_ms > 0 the connection is closed (FIN both ways) that long after the fault met it.
#include "proxy/fault_registry.h"

namespace chaos::proxy {
namespace {

class TimeoutState final : public LinkToxic {
 public:
  TimeoutState(LinkEnv& env, int64_t timeout_ms) {
    if (timeout_ms > 0) {
      timer_ = env.after(std::chrono::milliseconds(timeout_ms), [&env] { env.close_connection(false, false); });
    }
  }
  bool holds_data() const override { return true; }

 private:
  std::unique_ptr<TimerHandle> timer_;
};

class TimeoutFault final : public FaultKind {
 public:
  explicit TimeoutFault(int64_t timeout_ms) : timeout_ms_(timeout_ms) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv& env) const override {
    return std::make_unique<TimeoutState>(env, timeout_ms_);
  }
  nlohmann::json fields() const override { return {{"timeout_ms", timeout_ms_}}; }

 private:
  int64_t timeout_ms_;
};

}  // namespace

std::unique_ptr<FaultKind> make_timeout_fault(FieldReader& f, const FaultCommon&) {
  return std::make_unique<TimeoutFault>(f.integer("timeout_ms", 0, 86'400'000).value_or(0));
}

}  // namespace chaos::proxy
