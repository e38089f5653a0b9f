// hang: read the request and never answer; the client's own timeout has to fire. The connection stays
// open (and keeps being read, so a client close is noticed) until the client gives up.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class HangFault final : public FaultKind {
 public:
  bool affects_requests() const override { return true; }
  void apply(RequestEffect& effect, Random&) const override {
    if (effect.terminal == RequestEffect::Terminal::kNone) effect.terminal = RequestEffect::Terminal::kHang;
  }
  nlohmann::json fields() const override { return nlohmann::json::object(); }
};

std::unique_ptr<FaultKind> make_hang_fault(FieldReader&, const FaultCommon&) { return std::make_unique<HangFault>(); }

}  // namespace

const FaultKindInfo& hang_fault_kind() {
  static constexpr FaultKindInfo kInfo{"hang", /*accepts_match=*/true, &make_hang_fault};
  return kInfo;
}

}  // namespace chaos::mocks
