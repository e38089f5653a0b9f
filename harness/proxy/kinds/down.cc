// down: the proxy refuses new connections (its listener is closed, so clients get ECONNREFUSED) and
// drops every open connection when the fault starts; when the fault ends the listener reopens on the
// same port. Unlike the mocks' `down`, open links are dropped too: a proxy in front of a dead server
// would not keep them usable either.
#include "proxy/fault_registry.h"

namespace chaos::proxy {
namespace {

class DownFault final : public FaultKind {
 public:
  void on_activate(ProxyControl& proxy) override {
    proxy.hold_listener_down();
    proxy.drop_open_connections();
  }
  void on_deactivate(ProxyControl& proxy) override { proxy.release_listener_down(); }
  nlohmann::json fields() const override { return nlohmann::json::object(); }
};

}  // namespace

std::unique_ptr<FaultKind> make_down_fault(FieldReader&, const FaultCommon&) { return std::make_unique<DownFault>(); }

}  // namespace chaos::proxy
