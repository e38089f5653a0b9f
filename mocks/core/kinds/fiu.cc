// fiu: enable a libfiu fault point inside this process (fiu_enable, or fiu_enable_random when
// probability < 1) while the fault is active; disabled on delete or expiry. The common "probability"
// field goes to libfiu here, not to the request wrapper.
//
// libfiu keeps one setting per point name, so fiu faults on the same point that overlap in time
// share it: the point stays enabled until the last of them ends, with the settings of the most recent
// one still active. (Found by control_api_fuzz: two faults on one point, and the first to end
// disabled the point under the second; libfiu 1.1 also leaks its copy of the name when a point that
// is already enabled is enabled again, so a point is always disabled before it is re-enabled.)
#include "core/fault_registry.h"

#include <fiu-control.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

namespace chaos::mocks {
namespace {

class FiuFault;

// Active fiu faults per point name, oldest first; process-wide, like libfiu's own table.
std::mutex& points_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::vector<const FiuFault*>>& active_points() {
  static auto* points = new std::map<std::string, std::vector<const FiuFault*>>();  // outlives every fault
  return *points;
}

class FiuFault final : public FaultKind {
 public:
  FiuFault(std::string point, double probability, int64_t failinfo)
      : point_(std::move(point)), probability_(probability), failinfo_(failinfo) {}
  ~FiuFault() override { release(); }

  void on_activate(ServiceControl& svc, const std::function<bool()>&) override {
    std::lock_guard lock(points_mutex());
    auto& holders = active_points()[point_];
    // Enabling an enabled point leaks in libfiu (ours, or one fiu-ctrl enabled): disable it first.
    fiu_disable(point_.c_str());
    holders.push_back(this);
    svc.log("fiu: enable " + point_ + (enable() ? " ok" : " FAILED") +
            (holders.size() > 1 ? " (" + std::to_string(holders.size()) + " faults on this point)" : ""));
  }
  void on_deactivate(ServiceControl& svc) override {
    std::lock_guard lock(points_mutex());
    size_t left = release_locked();
    if (left == 0) {
      svc.log("fiu: disable " + point_);
    } else {
      svc.log("fiu: " + point_ + " stays enabled for " + std::to_string(left) + " other fault(s)");
    }
  }
  nlohmann::json fields() const override { return {{"point", point_}, {"failinfo", failinfo_}}; }

 private:
  bool enable() const {
    void* info = reinterpret_cast<void*>(static_cast<intptr_t>(failinfo_));
    int rc = probability_ >= 1.0 ? fiu_enable(point_.c_str(), 1, info, 0)
                                 : fiu_enable_random(point_.c_str(), 1, info, 0, static_cast<float>(probability_));
    return rc == 0;
  }
  void release() {
    std::lock_guard lock(points_mutex());
    release_locked();
  }
  // Drops this fault from its point (if it holds it) and leaves the point as the remaining faults
  // want it; returns how many still hold it.
  size_t release_locked() {
    auto it = active_points().find(point_);
    if (it == active_points().end()) return 0;
    auto& holders = it->second;
    auto me = std::find(holders.begin(), holders.end(), this);
    if (me == holders.end()) return holders.size();
    holders.erase(me);
    fiu_disable(point_.c_str());
    if (holders.empty()) {
      active_points().erase(it);
      return 0;
    }
    holders.back()->enable();
    return holders.size();
  }

  std::string point_;
  double probability_;
  int64_t failinfo_;
};

std::unique_ptr<FaultKind> make_fiu_fault(FieldReader& f, const FaultCommon& common) {
  auto point = f.string("point", 256);
  if (!point || point->empty()) {
    throw FaultSpecError("field 'point' is required for fiu (a libfiu point name, e.g. \"mock/cache/read\")");
  }
  int64_t failinfo = f.integer("failinfo", INT32_MIN, INT32_MAX).value_or(1);
  return std::make_unique<FiuFault>(*point, common.probability, failinfo);
}

}  // namespace

const FaultKindInfo& fiu_fault_kind() {
  static constexpr FaultKindInfo kInfo{"fiu", /*accepts_match=*/false, &make_fiu_fault};
  return kInfo;
}

}  // namespace chaos::mocks
