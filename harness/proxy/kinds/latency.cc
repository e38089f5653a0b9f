// latency: every chunk leaves latency_ms (+ jitter) after it was read; order is kept, so a chunk never
// overtakes the one before it. Jitter is uniform in [-jitter, +jitter] or normal (sigma = jitter),
// never below zero, drawn from the proxy's seeded RNG.
#include "proxy/fault_registry.h"

#include <cmath>

namespace chaos::proxy {
namespace {

class LatencyFault final : public FaultKind, public LinkToxic {
 public:
  LatencyFault(double latency_ms, double jitter_ms, bool normal)
      : latency_ms_(latency_ms), jitter_ms_(jitter_ms), normal_(normal) {}

  std::unique_ptr<LinkToxic> attach(LinkEnv&) const override { return std::make_unique<LatencyFault>(*this); }

  void shape(Chunk& chunk, LinkEnv& env) override {
    double ms = latency_ms_;
    if (jitter_ms_ > 0) {
      if (normal_) {
        // Box-Muller from the injected uniform source, so the seed replays the same delays.
        double u1 = std::max(env.rng().uniform(), 1e-12), u2 = env.rng().uniform();
        ms += jitter_ms_ * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      } else {
        ms += jitter_ms_ * (2.0 * env.rng().uniform() - 1.0);
      }
    }
    if (ms < 0) ms = 0;
    auto d = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
    for (auto& p : chunk.pieces) p.at += d;
  }

  nlohmann::json fields() const override {
    return {{"latency_ms", latency_ms_}, {"jitter_ms", jitter_ms_}, {"distribution", normal_ ? "normal" : "uniform"}};
  }

 private:
  double latency_ms_, jitter_ms_;
  bool normal_;
};

}  // namespace

std::unique_ptr<FaultKind> make_latency_fault(FieldReader& f, const FaultCommon&) {
  auto latency = f.number("latency_ms", 0, 3'600'000);
  if (!latency) throw FaultSpecError("field 'latency_ms' is required for latency (a number of milliseconds)");
  double jitter = f.number("jitter_ms", 0, 3'600'000).value_or(0);
  bool normal = f.one_of("distribution", {"uniform", "normal"}).value_or("uniform") == "normal";
  return std::make_unique<LatencyFault>(*latency, jitter, normal);
}

}  // namespace chaos::proxy
