// partial: send only part of the response (a fraction of its bytes, or a fixed byte count), then close:
// a truncated HTTP body, half a RESP reply, rows without CommandComplete.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class PartialFault final : public FaultKind {
 public:
  PartialFault(double fraction, int64_t bytes) : fraction_(fraction), bytes_(bytes) {}
  bool affects_requests() const override { return true; }
  void apply(RequestEffect& effect, Random&) const override {
    if (effect.terminal == RequestEffect::Terminal::kNone) {
      effect.terminal = RequestEffect::Terminal::kPartial;
      effect.partial_fraction = fraction_;
      effect.partial_bytes = bytes_;
    }
  }
  nlohmann::json fields() const override {
    if (bytes_ >= 0) return {{"bytes", bytes_}};
    return {{"fraction", fraction_}};
  }

 private:
  double fraction_;
  int64_t bytes_;
};

}  // namespace

std::unique_ptr<FaultKind> make_partial_fault(FieldReader& f, const FaultCommon&) {
  if (f.has("fraction") && f.has("bytes")) throw FaultSpecError("partial takes either 'fraction' or 'bytes', not both");
  auto bytes = f.integer("bytes", 0, 1LL << 40);
  double fraction = f.number("fraction", 0, 1).value_or(0.5);
  return std::make_unique<PartialFault>(fraction, bytes.value_or(-1));
}

}  // namespace chaos::mocks
