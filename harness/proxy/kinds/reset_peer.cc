// reset_peer: timeout_ms after the fault meets a link (0 = at once), the connection is torn down with a
// TCP RST (SO_LINGER 0) to the destination of each faulted direction: "downstream" resets the client,
// "upstream" the server, "both" both; the other side gets a FIN. Data flows normally until then. The
// sides come from the fault's direction, not from the pipe whose timer fires first, so "both" really
// resets both.
#include "proxy/fault_registry.h"

namespace chaos::proxy {
namespace {

class ResetPeerState final : public LinkToxic {
 public:
  ResetPeerState(LinkEnv& env, int64_t timeout_ms, bool reset_client, bool reset_upstream)
      : timer_(env.after(std::chrono::milliseconds(timeout_ms),
                         [&env, reset_client, reset_upstream] { env.close_connection(reset_client, reset_upstream); })) {}

 private:
  std::unique_ptr<TimerHandle> timer_;
};

class ResetPeerFault final : public FaultKind {
 public:
  ResetPeerFault(int64_t timeout_ms, bool reset_client, bool reset_upstream)
      : timeout_ms_(timeout_ms), reset_client_(reset_client), reset_upstream_(reset_upstream) {}
  std::unique_ptr<LinkToxic> attach(LinkEnv& env) const override {
    return std::make_unique<ResetPeerState>(env, timeout_ms_, reset_client_, reset_upstream_);
  }
  nlohmann::json fields() const override { return {{"timeout_ms", timeout_ms_}}; }

 private:
  int64_t timeout_ms_;
  bool reset_client_, reset_upstream_;
};

}  // namespace

std::unique_ptr<FaultKind> make_reset_peer_fault(FieldReader& f, const FaultCommon& common) {
  // Downstream bytes go to the client, upstream bytes to the server: each faulted direction's
  // destination is the side that gets the RST.
  return std::make_unique<ResetPeerFault>(f.integer("timeout_ms", 0, 86'400'000).value_or(0), common.downstream,
                                          common.upstream);
}

}  // namespace chaos::proxy
