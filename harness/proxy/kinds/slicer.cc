// slicer: each chunk is cut into small pieces of average_size +- size_variation bytes (uniform, at
// least 1), sent delay_us apart, so the receiver sees many short reads (a reply split mid-frame).
#include "proxy/fault_registry.h"

#include <algorithm>

namespace chaos::proxy {
namespace {

class SlicerFault final : public FaultKind, public LinkToxic {
 public:
  SlicerFault(int64_t average, int64_t variation, int64_t delay_us)
      : average_(average), variation_(variation), delay_us_(delay_us) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv&) const override { return std::make_unique<SlicerFault>(*this); }

  void shape(Chunk& chunk, LinkEnv& env) override {
    std::vector<Chunk::Piece> out;
    for (const auto& p : chunk.pieces) {
      TimePoint at = p.at;
      for (size_t b = p.begin; b < p.end;) {
        int64_t size = average_;
        if (variation_ > 0) {
          size += static_cast<int64_t>(static_cast<double>(2 * variation_ + 1) * env.rng().uniform()) - variation_;
        }
        size_t n = static_cast<size_t>(std::max<int64_t>(1, size));
        size_t e = std::min(p.end, b + n);
        out.push_back({b, e, at});
        at += std::chrono::microseconds(delay_us_);
        b = e;
      }
    }
    chunk.pieces = std::move(out);
  }
  nlohmann::json fields() const override {
    return {{"average_size", average_}, {"size_variation", variation_}, {"delay_us", delay_us_}};
  }

 private:
  int64_t average_, variation_, delay_us_;
};

}  // namespace

std::unique_ptr<FaultKind> make_slicer_fault(FieldReader& f, const FaultCommon&) {
  auto average = f.integer("average_size", 1, 1 << 20);
  if (!average) throw FaultSpecError("field 'average_size' is required for slicer (bytes per piece, >= 1)");
  int64_t variation = f.integer("size_variation", 0, 1 << 20).value_or(0);
  if (variation >= *average) {
    throw FaultSpecError("field 'size_variation' must be smaller than 'average_size' (" + std::to_string(*average) +
                         "), got " + std::to_string(variation));
  }
  int64_t delay_us = f.integer("delay_us", 0, 60'000'000).value_or(0);
  return std::make_unique<SlicerFault>(*average, variation, delay_us);
}

}  // namespace chaos::proxy
