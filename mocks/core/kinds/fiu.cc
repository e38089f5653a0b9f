// fiu: enable a libfiu fault point inside this process (fiu_enable, or fiu_enable_random when
// probability < 1) while the fault is active; disabled on delete or expiry. The common "probability"
// field goes to libfiu here, not to the request wrapper.
#include "core/fault_registry.h"

#include <fiu-control.h>

namespace chaos::mocks {
namespace {

class FiuFault final : public FaultKind {
 public:
  FiuFault(std::string point, double probability, int64_t failinfo)
      : point_(std::move(point)), probability_(probability), failinfo_(failinfo) {}
  void on_activate(ServiceControl& svc, const std::function<bool()>&) override {
    void* info = reinterpret_cast<void*>(static_cast<intptr_t>(failinfo_));
    int rc = probability_ >= 1.0 ? fiu_enable(point_.c_str(), 1, info, 0)
                                 : fiu_enable_random(point_.c_str(), 1, info, 0, static_cast<float>(probability_));
    svc.log("fiu: enable " + point_ + (rc == 0 ? " ok" : " FAILED"));
  }
  void on_deactivate(ServiceControl& svc) override {
    fiu_disable(point_.c_str());
    svc.log("fiu: disable " + point_);
  }
  nlohmann::json fields() const override { return {{"point", point_}, {"failinfo", failinfo_}}; }

 private:
  std::string point_;
  double probability_;
  int64_t failinfo_;
};

}  // namespace

std::unique_ptr<FaultKind> make_fiu_fault(FieldReader& f, const FaultCommon& common) {
  auto point = f.string("point", 256);
  if (!point || point->empty()) {
    throw FaultSpecError("field 'point' is required for fiu (a libfiu point name, e.g. \"mock/cache/read\")");
  }
  int64_t failinfo = f.integer("failinfo", INT32_MIN, INT32_MAX).value_or(1);
  return std::make_unique<FiuFault>(*point, common.probability, failinfo);
}

}  // namespace chaos::mocks
