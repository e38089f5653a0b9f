// latency: delay the response by latency_ms plus jitter (uniform in [-jitter, +jitter], or normal with
// standard deviation jitter_ms), never below zero.
#include "core/fault_registry.h"

#include <cmath>

namespace chaos::mocks {
namespace {

class LatencyFault final : public FaultKind {
 public:
  LatencyFault(double latency_ms, double jitter_ms, bool normal)
      : latency_ms_(latency_ms), jitter_ms_(jitter_ms), normal_(normal) {}

  bool affects_requests() const override { return true; }
  void apply(RequestEffect& effect, Random& rng) const override {
    double ms = latency_ms_;
    if (jitter_ms_ > 0) {
      if (normal_) {
        // Box-Muller from the injected uniform source, so the seed replays the same delays.
        double u1 = std::max(rng.uniform(), 1e-12), u2 = rng.uniform();
        ms += jitter_ms_ * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      } else {
        ms += jitter_ms_ * (2.0 * rng.uniform() - 1.0);
      }
    }
    if (ms < 0) ms = 0;
    effect.delay += std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
  }
  nlohmann::json fields() const override {
    return {{"latency_ms", latency_ms_}, {"jitter_ms", jitter_ms_}, {"distribution", normal_ ? "normal" : "uniform"}};
  }

 private:
  double latency_ms_, jitter_ms_;
  bool normal_;
};

std::unique_ptr<FaultKind> make_latency_fault(FieldReader& f, const FaultCommon&) {
  auto latency = f.number("latency_ms", 0, 3'600'000);
  if (!latency) throw FaultSpecError("field 'latency_ms' is required for latency (a number of milliseconds)");
  double jitter = f.number("jitter_ms", 0, 3'600'000).value_or(0);
  bool normal = f.one_of("distribution", {"uniform", "normal"}).value_or("uniform") == "normal";
  return std::make_unique<LatencyFault>(*latency, jitter, normal);
}

}  // namespace

const FaultKindInfo& latency_fault_kind() {
  static constexpr FaultKindInfo kInfo{"latency", /*accepts_match=*/true, &make_latency_fault};
  return kInfo;
}

}  // namespace chaos::mocks
