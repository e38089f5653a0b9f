// libFuzzer target: every mock's control API as the runtime serves it (ControlSession in
// mocks/core/server.cc): HttpRequestParser with the 64 KiB body limit, then ControlApi::handle on a
// real FaultTable (manual clock, fake service). Any request sequence must give JSON answers with a
// known status, never a crash, a leak or an exception escaping; faults it adds must start, tick and end.
#include <fiu.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/control_api.h"
#include "core/fault_table.h"
#include "core/http.h"

namespace {

using namespace chaos;
using namespace std::chrono_literals;

// Lifecycle hooks do nothing here: the point is that the table and the API survive any spec.
class NullService final : public mocks::ServiceControl {
 public:
  void drop_open_connections(bool, const std::function<bool()>& pick) override { (void)pick(); }
  void hold_listener_down() override { ++holds; }
  void release_listener_down() override {
    if (--holds < 0) fail("listener released more often than held");
  }
  void break_open_connections(mocks::BrokenMode, const std::function<bool()>& pick) override { (void)pick(); }
  void crash(int) override {}
  void log(const std::string&) override {}
  [[noreturn]] static void fail(const char* what) {
    std::fprintf(stderr, "control API contract broken: %s\n", what);
    std::abort();
  }
  int holds = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fiu_init(0);  // the fiu fault kind enables libfiu points in this process
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ManualClock clock;
  SeededRandom rng(7);
  NullService svc;
  {
    mocks::FaultTable table(clock, rng, svc);
    mocks::Stats stats;
    mocks::ControlApi api("mock-fuzz", table, stats);
    mocks::HttpRequestParser parser(mocks::ControlApi::kMaxBody);
    size_t pos = 0;
    while (pos < in.size()) {
      size_t used = 0;
      auto res = parser.feed(in.substr(pos), &used);
      if (used > in.size() - pos) NullService::fail("parser consumed more than it was given");
      pos += used;
      if (res == mocks::HttpRequestParser::Result::kNeedMore) break;
      if (res == mocks::HttpRequestParser::Result::kError) {
        int st = parser.error_status();
        if (st != 400 && st != 413 && st != 431 && st != 501) NullService::fail("unexpected parse error status");
        if (parser.error_message().empty()) NullService::fail("parse error without a message");
        break;
      }
      if (used == 0) NullService::fail("a request consumed no input");
      const mocks::HttpRequest& req = parser.request();
      mocks::ControlResponse resp = api.handle(req.method, req.target, req.body);
      if (resp.status < 200 || resp.status > 599) NullService::fail("status out of range");
      if (!nlohmann::json::accept(resp.body)) NullService::fail("response body is not JSON");
      if (resp.status >= 400 && !nlohmann::json::parse(resp.body).contains("error"))
        NullService::fail("error response without an \"error\" field");
      // What the runtime does after every control request, then some time passing: faults with start
      // delays and durations start and end, flapping ones tick.
      for (int i = 0; i < 4; ++i) {
        auto next = table.update();
        (void)table.evaluate(req.target);
        bool reset = false;
        (void)table.drop_new_connection(&reset);
        if (!next) break;
        Duration step = *next > clock.now() ? *next - clock.now() : Duration(0);
        clock.advance(std::min<Duration>(step + 1ms, std::chrono::hours(24)));
      }
    }
    table.clear();
    if (svc.holds != 0) NullService::fail("listener holds left after clear()");
  }
  return 0;
}
