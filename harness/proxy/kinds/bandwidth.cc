// bandwidth: at most rate_kbps kilobytes (1000 bytes, as Toxiproxy's `rate`) per second per link and
// direction. Chunks are cut into pieces of 50 ms worth of bytes, so the rate holds smoothly instead of
// in bursts of a whole read.
#include "proxy/fault_registry.h"

#include <algorithm>

namespace chaos::proxy {
namespace {

class BandwidthState final : public LinkToxic {
 public:
  explicit BandwidthState(int64_t rate_kbps) : bytes_per_s_(static_cast<double>(rate_kbps) * 1000.0) {
    quantum_ = std::max<size_t>(1, static_cast<size_t>(bytes_per_s_ / 20));
  }
  void shape(Chunk& chunk, LinkEnv&) override {
    std::vector<Chunk::Piece> out;
    for (const auto& p : chunk.pieces) {
      for (size_t b = p.begin; b < p.end; b += quantum_) {
        Chunk::Piece q{b, std::min(p.end, b + quantum_), std::max(p.at, next_free_)};
        next_free_ = q.at + std::chrono::duration_cast<Duration>(
                                std::chrono::duration<double>(static_cast<double>(q.size()) / bytes_per_s_));
        out.push_back(q);
      }
    }
    chunk.pieces = std::move(out);
  }

 private:
  double bytes_per_s_;
  size_t quantum_;
  TimePoint next_free_{};
};

class BandwidthFault final : public FaultKind {
 public:
  explicit BandwidthFault(int64_t rate_kbps) : rate_kbps_(rate_kbps) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv&) const override { return std::make_unique<BandwidthState>(rate_kbps_); }
  nlohmann::json fields() const override { return {{"rate_kbps", rate_kbps_}}; }

 private:
  int64_t rate_kbps_;
};

}  // namespace

std::unique_ptr<FaultKind> make_bandwidth_fault(FieldReader& f, const FaultCommon&) {
  auto rate = f.integer("rate_kbps", 1, 10'000'000);
  if (!rate) throw FaultSpecError("field 'rate_kbps' is required for bandwidth (kilobytes per second, >= 1)");
  return std::make_unique<BandwidthFault>(*rate);
}

}  // namespace chaos::proxy
