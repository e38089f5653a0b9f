// disconnect: without "match", drop every open connection when the fault starts and, while it is
// active, every new one right after accept. With "match", drop the connection of each matching request
// instead of answering it. reset=true closes with RST (SO_LINGER 0) rather than FIN.
#include "core/fault_registry.h"

namespace chaos::mocks {
namespace {

class DisconnectFault final : public FaultKind {
 public:
  DisconnectFault(bool reset, bool scoped) : reset_(reset), scoped_(scoped) {}
  bool affects_requests() const override { return scoped_; }
  void apply(RequestEffect& effect, Random&) const override {
    if (effect.terminal == RequestEffect::Terminal::kNone) {
      effect.terminal = RequestEffect::Terminal::kDrop;
      effect.reset = reset_;
    }
  }
  bool drops_new_connections(bool* reset) const override {
    if (scoped_) return false;
    *reset = reset_;
    return true;
  }
  void on_activate(ServiceControl& svc, const std::function<bool()>& pick) override {
    if (!scoped_) svc.drop_open_connections(reset_, pick);
  }
  nlohmann::json fields() const override { return {{"reset", reset_}}; }

 private:
  bool reset_, scoped_;
};

std::unique_ptr<FaultKind> make_disconnect_fault(FieldReader& f, const FaultCommon& common) {
  bool reset = f.boolean("reset").value_or(false);
  return std::make_unique<DisconnectFault>(reset, common.match.has_value());
}

}  // namespace

const FaultKindInfo& disconnect_fault_kind() {
  static constexpr FaultKindInfo kInfo{"disconnect", /*accepts_match=*/true, &make_disconnect_fault};
  return kInfo;
}

}  // namespace chaos::mocks
