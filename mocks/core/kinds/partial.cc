// partial: send only part of the response, then close. Each protocol cuts where its client notices
// a truncated answer rather than a garbled one: mock-db sends RowDescription and some DataRows and
// drops the connection before CommandComplete/ReadyForQuery, mock-cache sends an array reply's header
// and some of its elements (or a bulk string's header and part of its payload), mock-rpc sends complete
// headers (Content-Length of the whole body) and part of the body. How much: "fraction" of those
// units (default 0.5) or "count" of them; "bytes" instead cuts the raw response at that byte, wherever
// it lands (mid-header included), to test a client's framing parser.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class PartialFault final : public FaultKind {
 public:
  explicit PartialFault(PartialCut cut) : cut_(cut) {}
  bool affects_requests() const override { return true; }
  void apply(RequestEffect& effect, Random&) const override {
    if (effect.terminal == RequestEffect::Terminal::kNone) {
      effect.terminal = RequestEffect::Terminal::kPartial;
      effect.partial = cut_;
    }
  }
  nlohmann::json fields() const override {
    switch (cut_.unit) {
      case PartialCut::Unit::kBytes: return {{"bytes", cut_.amount}};
      case PartialCut::Unit::kCount: return {{"count", cut_.amount}};
      case PartialCut::Unit::kFraction: break;
    }
    return {{"fraction", cut_.fraction}};
  }

 private:
  PartialCut cut_;
};

std::unique_ptr<FaultKind> make_partial_fault(FieldReader& f, const FaultCommon&) {
  int given = (f.has("fraction") ? 1 : 0) + (f.has("bytes") ? 1 : 0) + (f.has("count") ? 1 : 0);
  if (given > 1) throw FaultSpecError("partial takes either 'fraction', 'count' or 'bytes', not several");
  PartialCut cut;
  if (auto bytes = f.integer("bytes", 0, 1LL << 40)) {
    cut.unit = PartialCut::Unit::kBytes;
    cut.amount = *bytes;
  } else if (auto count = f.integer("count", 0, 1LL << 40)) {
    cut.unit = PartialCut::Unit::kCount;
    cut.amount = *count;
  } else {
    cut.fraction = f.number("fraction", 0, 1).value_or(0.5);
  }
  return std::make_unique<PartialFault>(cut);
}

}  // namespace

const FaultKindInfo& partial_fault_kind() {
  static constexpr FaultKindInfo kInfo{"partial", /*accepts_match=*/true, &make_partial_fault};
  return kInfo;
}

}  // namespace chaos::mocks
