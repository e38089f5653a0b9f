// limit_data: once `bytes` bytes have passed in a faulted direction of a link (counted from when the
// fault met the link), the rest of that chunk is cut off and the connection is closed (FIN both ways):
// the client sees a truncated reply followed by a close.
#include "proxy/fault_registry.h"

#include <algorithm>

namespace chaos::proxy {
namespace {

class LimitDataState final : public LinkToxic {
 public:
  explicit LimitDataState(int64_t limit) : left_(static_cast<uint64_t>(limit)) {}
  void shape(Chunk& chunk, LinkEnv&) override {
    std::vector<Chunk::Piece> out;
    for (auto p : chunk.pieces) {
      if (left_ == 0) break;
      size_t n = static_cast<size_t>(std::min<uint64_t>(left_, p.size()));
      p.end = p.begin + n;
      left_ -= n;
      out.push_back(p);
    }
    chunk.pieces = std::move(out);
    if (left_ == 0) chunk.close_after = true;
  }

 private:
  uint64_t left_;
};

class LimitDataFault final : public FaultKind {
 public:
  explicit LimitDataFault(int64_t bytes) : bytes_(bytes) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv&) const override { return std::make_unique<LimitDataState>(bytes_); }
  nlohmann::json fields() const override { return {{"bytes", bytes_}}; }

 private:
  int64_t bytes_;
};

}  // namespace

std::unique_ptr<FaultKind> make_limit_data_fault(FieldReader& f, const FaultCommon&) {
  auto bytes = f.integer("bytes", 0, int64_t{1} << 50);
  if (!bytes) throw FaultSpecError("field 'bytes' is required for limit_data (bytes before the close)");
  return std::make_unique<LimitDataFault>(*bytes);
}

}  // namespace chaos::proxy
