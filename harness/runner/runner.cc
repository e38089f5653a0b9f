#include "runner/runner.h"

#include "common/atomic_file.h"
#include "common/clock.h"
#include "expect/evaluate.h"
#include "runner/event_stream.h"
#include "runner/fault_injector.h"
#include "runner/fiu_remote.h"
#include "runner/http_client.h"
#include "runner/port_reservation.h"
#include "runner/process.h"
#include "runner/real_servers.h"
#include "runner/workload.h"
#include "scenario/templates.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace chaos::runner {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using expect::Verdict;

// A loopback port for a program that cannot pick its own (mocks and the gateway do, with 0), held
// until that program is about to bind it (see PortReservation). Ports handed out by this process are
// never handed out twice, so parallel scenarios do not collide even after a reservation is released.
std::optional<PortReservation> reserve_free_port(std::string* error) {
  static std::mutex mu;
  static std::set<int> given;
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto r = PortReservation::take(error);
    if (!r) return std::nullopt;
    if (given.insert(r->port()).second) return r;
  }
  if (error) *error = "cannot reserve a loopback port: 50 ports in a row had been given out before";
  return std::nullopt;
}

bool tcp_accepting(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string join_tail(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n    | " + l;
  return out;
}

// Everything one scenario run needs; lives for the duration of run_scenario.
class ScenarioRun {
 public:
  ScenarioRun(const scenario::Scenario& s, const RunOptions& o) : s_(s), o_(o) {
    seed_ = o.seed_override.value_or(s.seed);
  }
  ~ScenarioRun() {
    stop_tailing_ = true;
    if (tailer_thread_.joinable()) tailer_thread_.join();
  }

  expect::ScenarioResult run();

 private:
  struct RawEvent {
    TimePoint received;
    std::string source;
    std::string line;
  };
  struct Launched {
    std::string id;
    Process* process = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    std::optional<nlohmann::json> ready_line;
    std::atomic<bool> got_ready{false};  // read without the lock by the stdout reader
    bool exit_recorded = false;
    bool crash_expected = false;
  };
  struct ActiveFault {
    std::string label, target, fault_id, type;
    std::optional<TimePoint> ends;
    double from_ms = 0;
  };

  void progress(const std::string& msg) {
    if (o_.progress) o_.progress(msg);
  }
  bool interrupted() const { return o_.interrupted && o_.interrupted->load(); }
  void harness_event(nlohmann::json e) {
    auto now = SteadyClock::instance().now();
    e["ts_us"] = to_us(now);
    std::lock_guard<std::mutex> lock(events_mu_);
    raw_.push_back({now, "harness", e.dump()});
  }
  std::optional<std::string> lookup(const std::string& expr) const {
    auto it = values_.find(expr);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> resolve(const std::string& text, std::string* error) const {
    return scenario::resolve_templates(
        text, [this](const std::string& e) { return lookup(e); }, error);
  }
  std::optional<std::vector<std::string>> resolve_all(const std::vector<std::string>& in, std::string* error) {
    std::vector<std::string> out;
    for (const auto& a : in) {
      auto r = resolve(a, error);
      if (!r) return std::nullopt;
      out.push_back(*r);
    }
    return out;
  }

  // `base` carries launch settings beyond argv and env (user, working folder, stop signal); `probe`
  // is an extra readiness check after the TCP port accepts (e.g. PostgreSQL past its start-up).
  bool launch(const std::string& id, std::vector<std::string> argv, const std::map<std::string, std::string>& env,
              const scenario::Readiness& ready, bool is_sut, const LaunchSpec& base = {},
              const std::function<bool(int)>& probe = {});
  bool wait_ready(Launched& l, const scenario::Readiness& ready, const std::function<bool(int)>& probe,
                  std::string* error);
  bool launch_controlled(const scenario::Service& svc, std::vector<std::string> argv, FaultInjector& injector);
  void record_exits();
  expect::Timeline build_timeline(TimePoint until);
  bool start_event_file(const std::pair<uint64_t, ino_t>& skip, const std::string& skip_path);
  void stop_event_file(TimePoint stopped_at);
  void add_file_lines(std::vector<std::string> lines, TimePoint received) {
    std::lock_guard<std::mutex> lock(events_mu_);
    for (auto& l : lines)
      if (!l.empty() && l.front() == '{') raw_.push_back({received, "sut", std::move(l)});
  }
  void fail(Verdict v, const std::string& error) {
    if (result_.verdict == Verdict::kPassed) {
      result_.verdict = v;
      result_.error = error;
    }
  }

  const scenario::Scenario& s_;
  const RunOptions& o_;
  uint64_t seed_ = 1;
  expect::ScenarioResult result_;
  ProcessGroup group_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::unique_ptr<Launched>> launched_;
  // Ports assigned to programs that cannot pick their own, by template key ("services.db.port",
  // "sut.port"), held until the program is about to bind (or, for a real server, serves).
  std::map<std::string, PortReservation> held_ports_;
  void release_port(const std::string& key) {
    auto it = held_ports_.find(key);
    if (it != held_ports_.end()) held_ports_.erase(it);
  }
  // Declared before group_ so it is destroyed after it: server folders go once their processes have.
  RealServers servers_;
  std::set<std::string> fiu_targets_;  // command services / "sut" with libfiu faults: run under the preload
  std::mutex events_mu_;
  std::vector<RawEvent> raw_;
  // system_under_test.events "file": followed by its own thread from SUT start to scenario end.
  std::unique_ptr<EventFileTailer> tailer_;
  std::thread tailer_thread_;
  std::atomic<bool> stop_tailing_{false};
  std::string events_file_missing_;  // its path, when the SUT never created its events file
  TimePoint origin_{};
  TimePoint deadline_{};
};

bool ScenarioRun::launch(const std::string& id, std::vector<std::string> argv,
                         const std::map<std::string, std::string>& env, const scenario::Readiness& ready,
                         bool is_sut, const LaunchSpec& base, const std::function<bool(int)>& probe) {
  std::string error;
  std::map<std::string, std::string> resolved_env;
  for (const auto& [k, v] : env) {
    auto r = resolve(v, &error);
    if (!r) {
      fail(Verdict::kError, (is_sut ? "system under test" : "service \"" + id + "\"") + ": " + error);
      return false;
    }
    resolved_env[k] = *r;
  }
  if (fiu_targets_.count(is_sut ? "sut" : id)) {
    auto pre = fiu_preload_env((fs::path(o_.log_dir) / ("fiu-" + id)).string());
    if (!pre.available) {
      fail(Verdict::kError, pre.error);
      return false;
    }
    for (const auto& [k, v] : pre.env) resolved_env[k] = v;
  }
  auto l = std::make_unique<Launched>();
  l->id = id;
  Launched* lp = l.get();
  launched_[id] = std::move(l);
  LaunchSpec spec = base;
  spec.name = id;
  spec.argv = std::move(argv);
  spec.env = resolved_env;
  spec.log_path = (fs::path(o_.log_dir) / (id + ".log")).string();
  const std::string source = is_sut ? "sut" : id;
  // The SUT's stdout carries its events only with "source": "stdout"; with "file" or "none" its JSON
  // lines are log output (kept in its log file), so nothing is counted twice or against the scenario.
  const bool stdout_events = !is_sut || s_.sut.events.kind == scenario::EventSource::Kind::kStdout;
  auto handler = [this, lp, source, stdout_events](std::string_view line, TimePoint received) {
    if (!lp->got_ready.load()) {
      if (auto r = parse_ready_line(line)) {
        std::lock_guard<std::mutex> lock(lp->mu);
        lp->ready_line = std::move(r);
        lp->got_ready = true;
        lp->cv.notify_all();
        return;
      }
    }
    if (!stdout_events || line.empty() || line.front() != '{') return;  // log output, already in the log file
    std::lock_guard<std::mutex> lock(events_mu_);
    raw_.push_back({received, source, std::string(line)});
  };
  progress("starting " + id + ": " + spec.argv[0]);
  Process* p = group_.launch(spec, handler, &error);
  if (!p) {
    fail(Verdict::kError, (is_sut ? "system under test" : "service \"" + id + "\"") + ": " + error);
    return false;
  }
  lp->process = p;
  values_[(is_sut ? std::string("sut") : "services." + id) + ".pid"] = std::to_string(p->pid());
  if (!wait_ready(*lp, ready, probe, &error)) {
    const std::string who = is_sut ? "system under test" : "service \"" + id + "\"";
    if (SteadyClock::instance().now() >= deadline_) {
      fail(Verdict::kTimedOut, "scenario timeout of " + std::to_string(s_.timeout_ms) + " ms reached while waiting for " +
                                   who + " to become ready: " + error);
    } else {
      fail(Verdict::kError, who + " never became ready: " + error);
    }
    return false;
  }
  nlohmann::json ev = {{"type", "process.ready"}, {"name", id}, {"pid", p->pid()}};
  if (lp->ready_line && lp->ready_line->contains("port")) ev["port"] = (*lp->ready_line)["port"];
  harness_event(ev);
  return true;
}

bool ScenarioRun::wait_ready(Launched& l, const scenario::Readiness& ready, const std::function<bool(int)>& probe,
                             std::string* error) {
  auto start = SteadyClock::instance().now();
  auto limit = start + milliseconds(ready.timeout_ms);
  std::string target;
  if (ready.kind != scenario::Readiness::Kind::kLine) {
    auto r = resolve(ready.target, error);
    if (!r) return false;
    target = *r;
  }
  while (true) {
    auto now = SteadyClock::instance().now();
    if (ready.kind == scenario::Readiness::Kind::kLine) {
      std::unique_lock<std::mutex> lock(l.mu);
      if (l.cv.wait_for(lock, milliseconds(10), [&] { return l.ready_line.has_value(); })) return true;
    } else if (ready.kind == scenario::Readiness::Kind::kTcp) {
      int port = std::atoi(target.c_str());
      if (port > 0 && tcp_accepting(port) && (!probe || probe(port))) return true;
      std::this_thread::sleep_for(milliseconds(10));
    } else {
      auto r = http_request("GET", target, "", milliseconds(500));
      if (r.status >= 200 && r.status < 300) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (auto st = l.process->poll()) {
      *error = "it exited first (" + st->describe() + "); last log lines:" + join_tail(l.process->log_tail(10));
      return false;
    }
    if (interrupted()) {
      *error = "interrupted";
      return false;
    }
    if (now >= limit || now >= deadline_) {
      std::string what = ready.kind == scenario::Readiness::Kind::kLine
                             ? "the {\"event\":\"ready\"} line on stdout"
                             : ready.kind == scenario::Readiness::Kind::kTcp ? "TCP port " + target + (probe ? " serving clients" : " accepting")
                                                                             : "HTTP 2xx from " + target;
      *error = "waited " + std::to_string(ready.timeout_ms) + " ms for " + what + "; last log lines:" +
               join_tail(l.process->log_tail(10));
      return false;
    }
  }
}

// Mocks and proxies: the same flags, ready line (with the ports they chose) and control API.
bool ScenarioRun::launch_controlled(const scenario::Service& svc, std::vector<std::string> argv,
                                    FaultInjector& injector) {
  for (const std::string& a : {std::string("--port"), std::to_string(svc.port), std::string("--control-port"),
                               std::to_string(svc.control_port), std::string("--seed"), std::to_string(seed_),
                               std::string("--name"), svc.id})
    argv.push_back(a);
  std::string error;
  auto extra = resolve_all(svc.args, &error);
  if (!extra) {
    fail(Verdict::kError, "service \"" + svc.id + "\": " + error);
    return false;
  }
  argv.insert(argv.end(), extra->begin(), extra->end());
  if (!launch(svc.id, argv, svc.env, svc.ready, false)) return false;
  auto& rl = *launched_[svc.id]->ready_line;
  int port = rl.value("port", 0), control = rl.value("control_port", 0);
  values_["services." + svc.id + ".port"] = std::to_string(port);
  values_["services." + svc.id + ".control_port"] = std::to_string(control);
  injector.add_target(svc.id, control);
  return true;
}

void ScenarioRun::record_exits() {
  for (auto& [id, l] : launched_) {
    if (!l->process || l->exit_recorded) continue;
    if (auto st = l->process->poll()) {
      l->exit_recorded = true;
      nlohmann::json ev = {{"type", "process.exit"}, {"name", id}, {"pid", l->process->pid()},
                           {"expected", l->crash_expected}};
      if (st->exit_code) ev["exit_code"] = *st->exit_code;
      if (st->signal) ev["signal"] = *st->signal;
      harness_event(ev);
    }
  }
}

// Starts following the SUT's events file. `skip` is the file's size and inode just before the SUT
// started (if its path could be resolved then), so lines an earlier run left in it do not count.
bool ScenarioRun::start_event_file(const std::pair<uint64_t, ino_t>& skip, const std::string& skip_path) {
  std::string error;
  auto path = resolve(s_.sut.events.path, &error);
  if (!path) {
    fail(Verdict::kError, "system_under_test.events.path: " + error);
    return false;
  }
  bool same = *path == skip_path;
  tailer_ = std::make_unique<EventFileTailer>(*path, same ? skip.first : 0, same ? skip.second : 0);
  progress("reading events from " + *path);
  tailer_thread_ = std::thread([this] {
    // Polled: a file that does not exist yet, or is replaced, needs no special wake-up, and the loop
    // ends within one interval of the stop flag.
    while (!stop_tailing_.load()) {
      auto lines = tailer_->read_new_lines();
      if (!lines.empty()) add_file_lines(std::move(lines), SteadyClock::instance().now());
      for (int waited = 0; waited < 10 && !stop_tailing_.load(); waited += 5)
        std::this_thread::sleep_for(milliseconds(5));
    }
  });
  return true;
}

// Stops the follower and drains what the SUT wrote up to now, including a last line without its
// newline. Drained lines are stamped no later than `stopped_at`, so those without ts_us stay inside
// the observation (the SUT wrote them before it, the harness just had not read them yet).
void ScenarioRun::stop_event_file(TimePoint stopped_at) {
  if (!tailer_) return;
  stop_tailing_ = true;
  if (tailer_thread_.joinable()) tailer_thread_.join();
  auto lines = tailer_->read_new_lines();
  std::string last = tailer_->take_partial_line();
  if (!last.empty()) lines.push_back(std::move(last));
  add_file_lines(std::move(lines), std::min(SteadyClock::instance().now(), stopped_at));
  // A note on the timeline (at the end of observation, so it is kept) of what was read.
  nlohmann::json note = {{"type", "events.file"}, {"path", tailer_->path()}, {"found", tailer_->seen_file()},
                         {"ts_us", to_us(stopped_at)}};
  if (tailer_->dropped_lines()) note["dropped_long_lines"] = tailer_->dropped_lines();
  if (!tailer_->seen_file()) events_file_missing_ = tailer_->path();
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    raw_.push_back({stopped_at, "harness", note.dump()});
  }
  tailer_.reset();
}

expect::Timeline ScenarioRun::build_timeline(TimePoint until) {
  expect::Timeline tl;
  std::lock_guard<std::mutex> lock(events_mu_);
  for (const auto& r : raw_) {
    if (r.received > until) continue;
    if (auto e = parse_event_line(r.line, r.source, origin_, r.received)) tl.add(std::move(*e));
  }
  tl.duration_ms = to_ms(until - origin_);
  return tl;
}

expect::ScenarioResult ScenarioRun::run() {
  auto wall_start = std::chrono::system_clock::now();
  auto launch_start = SteadyClock::instance().now();
  deadline_ = launch_start + milliseconds(s_.timeout_ms);
  result_.name = s_.name;
  result_.file = s_.file;
  result_.description = s_.description;
  result_.tags = s_.tags;
  result_.seed = seed_;
  result_.repeat_index = o_.repeat_index;
  result_.started_unix_ms =
      std::chrono::duration<double, std::milli>(wall_start.time_since_epoch()).count();
  result_.verdict = Verdict::kPassed;

  std::error_code ec;
  fs::create_directories(o_.log_dir, ec);
  if (ec) {
    result_.verdict = Verdict::kError;
    result_.error = "cannot create log folder " + o_.log_dir + ": " + ec.message();
    return result_;
  }
  values_["scenario.dir"] = fs::path(s_.file).has_parent_path() ? fs::path(s_.file).parent_path().string() : ".";
  values_["scenario.name"] = s_.name;
  values_["scenario.seed"] = std::to_string(seed_);
  values_["report.dir"] = o_.report_dir;
  values_["bin.dir"] = o_.bin_dir;

  FaultInjector injector;
  for (const auto& step : s_.faults) {
    if (step.type != "fiu") continue;
    const auto* svc = s_.find_service(step.target);
    if (step.target == "sut" || (svc && !svc->is_mock())) fiu_targets_.insert(step.target);
  }
  origin_ = launch_start;  // until the SUT is ready; reset below

  // Ports first: programs that cannot choose their own get one now, so templates can refer to them.
  // Each is held (held_ports_) until its program is about to bind it.
  bool ok = true;
  auto assign_port = [&](const std::string& key, int fixed, const std::string& who) {
    if (fixed) {
      values_[key] = std::to_string(fixed);
      return;
    }
    std::string error;
    auto r = reserve_free_port(&error);
    if (!r) {
      fail(Verdict::kError, who + ": " + error);
      ok = false;
      return;
    }
    values_[key] = std::to_string(r->port());
    held_ports_.emplace(key, std::move(*r));
  };
  for (const auto& svc : s_.services) {
    if (!ok || svc.has_control_api()) continue;
    assign_port("services." + svc.id + ".port", svc.port, "service \"" + svc.id + "\"");
  }
  if (ok && !s_.sut.is_builtin()) assign_port("sut.port", s_.sut.port, "system under test");

  // Start order: mocks (they pick their ports), real servers, command services, then the proxies,
  // whose upstreams must be listening by then.
  for (const auto& svc : s_.services) {
    if (!ok || !svc.is_mock()) continue;
    ok = launch_controlled(svc, {(fs::path(o_.bin_dir) / scenario::to_string(*svc.mock)).string()}, injector);
  }
  for (const auto& svc : s_.services) {
    if (!ok || !svc.is_server()) continue;
    std::string error;
    auto extra = resolve_all(svc.args, &error);
    int port = std::atoi(values_["services." + svc.id + ".port"].c_str());
    std::optional<ServerLaunch> plan;
    if (extra) {
      progress("preparing " + svc.id + ": " + scenario::to_string(*svc.server));
      plan = servers_.prepare(*svc.server, svc.id, port, *extra, group_, o_.log_dir, deadline_, o_.interrupted, &error);
    }
    if (!plan) {
      fail(SteadyClock::instance().now() >= deadline_ ? Verdict::kTimedOut : Verdict::kError,
           "service \"" + svc.id + "\": " + error);
      ok = false;
      break;
    }
    scenario::Readiness ready = svc.ready;
    ready.kind = scenario::Readiness::Kind::kTcp;
    ready.target = std::to_string(port);
    // redis-server and PostgreSQL bind with SO_REUSEADDR, so the port stays held until they serve.
    ok = launch(svc.id, plan->spec.argv, svc.env, ready, false, plan->spec, plan->ready);
    release_port("services." + svc.id + ".port");
  }
  for (const auto& svc : s_.services) {
    if (!ok || !svc.is_command()) continue;
    std::string error;
    auto argv = resolve_all(svc.command, &error);
    if (!argv) {
      fail(Verdict::kError, "service \"" + svc.id + "\": " + error);
      ok = false;
      break;
    }
    release_port("services." + svc.id + ".port");  // a user's program may bind without SO_REUSEADDR
    ok = launch(svc.id, *argv, svc.env, svc.ready, false);
  }
  for (const auto& svc : s_.services) {
    if (!ok || !svc.is_proxy()) continue;
    ok = launch_controlled(svc, {(fs::path(o_.bin_dir) / "fault-proxy").string(), "--upstream",
                                 "127.0.0.1:" + values_["services." + svc.proxy + ".port"]},
                           injector);
  }

  // The system under test.
  if (ok) {
    std::vector<std::string> argv;
    std::string error;
    if (s_.sut.is_builtin()) {
      argv = {(fs::path(o_.bin_dir) / s_.sut.builtin).string(), "--port", std::to_string(s_.sut.port),
              "--seed", std::to_string(seed_)};
      // Each dependency by its role; a service behind a proxy is reached through the proxy only.
      std::set<std::string> fronted;
      for (const auto& svc : s_.services)
        if (svc.is_proxy()) fronted.insert(svc.proxy);
      for (const auto& svc : s_.services) {
        std::string role = s_.dependency_role(svc);
        if (role.empty() || fronted.count(svc.id)) continue;
        argv.push_back("--" + role);
        argv.push_back("127.0.0.1:" + values_["services." + svc.id + ".port"]);
      }
      if (!s_.sut.config.is_null()) {
        std::string cfg = (fs::path(o_.log_dir) / "sut-config.json").string();
        auto w = write_file_atomically(cfg, s_.sut.config.dump(2));
        if (!w.ok) {
          fail(Verdict::kError, "system under test: " + w.error);
          ok = false;
        }
        argv.push_back("--config");
        argv.push_back(cfg);
      }
      auto extra = resolve_all(s_.sut.args, &error);
      if (!extra) {
        fail(Verdict::kError, "system under test: " + error);
        ok = false;
      } else {
        argv.insert(argv.end(), extra->begin(), extra->end());
      }
    } else {
      auto r = resolve_all(s_.sut.command, &error);
      if (!r) {
        fail(Verdict::kError, "system under test: " + error);
        ok = false;
      } else {
        argv = *r;
      }
    }
    // Where the events file stands before the SUT starts (if its path needs no ${sut.*} yet).
    std::pair<uint64_t, ino_t> events_skip{0, 0};
    std::string events_skip_path;
    if (ok && s_.sut.events.kind == scenario::EventSource::Kind::kFile) {
      std::string ignored;
      if (auto p = resolve(s_.sut.events.path, &ignored)) {
        events_skip_path = *p;
        events_skip = EventFileTailer::current_end(*p);
      }
    }
    release_port("sut.port");  // a user's program may bind without SO_REUSEADDR
    if (ok) ok = launch("sut", argv, s_.sut.env, s_.sut.ready, true);
    if (ok && s_.sut.is_builtin()) {
      auto& rl = *launched_["sut"]->ready_line;
      values_["sut.port"] = std::to_string(rl.value("port", 0));
    }
    if (ok && s_.sut.events.kind == scenario::EventSource::Kind::kFile)
      ok = start_event_file(events_skip, events_skip_path);
  }

  // Scenario t=0: everything is up.
  origin_ = SteadyClock::instance().now();
  std::unique_ptr<WorkloadDriver> workload;
  std::map<std::string, ActiveFault> active;
  std::optional<expect::ExpectationResult> steady;
  TimePoint end_at = origin_;
  if (ok) {
    harness_event({{"type", "scenario.start"}, {"name", s_.name}});
    std::string error;
    auto target = resolve(s_.workload.target, &error);
    auto url = target ? parse_url(*target) : std::nullopt;
    if (!url) {
      fail(Verdict::kError, "workload.target: " + (target ? "not an http://host:port URL: " + *target : error));
      ok = false;
    } else {
      WorkloadConfig wc;
      wc.host = url->host;
      wc.port = url->port;
      wc.rate_rps = s_.workload.rate_rps;
      wc.concurrency = s_.workload.concurrency;
      wc.duration = milliseconds(s_.workload.duration_ms);
      wc.max_requests = static_cast<size_t>(s_.workload.max_requests);
      wc.timeout = milliseconds(s_.workload.timeout_ms);
      wc.seed = seed_;
      std::string prefix = url->path == "/" ? "" : url->path;
      for (const auto& r : s_.workload.mix) {
        auto path = resolve(r.path, &error);
        if (!path) {
          fail(Verdict::kError, "workload.mix: " + error);
          ok = false;
          break;
        }
        wc.mix.push_back({r.method, prefix + *path, r.body, r.weight});
      }
      if (ok) {
        workload = std::make_unique<WorkloadDriver>(wc, origin_);
        workload->start();
      }
    }
    end_at = origin_ + milliseconds(s_.workload.duration_ms);
  }

  // Health polling, if the scenario asks for it: adds health.poll events.
  std::atomic<bool> stop_polling{false};
  std::thread poller;
  if (ok && s_.sut.health) {
    std::string error;
    auto url = resolve(s_.sut.health->url, &error);
    if (url) {
      int64_t interval = std::max<int64_t>(s_.sut.health->interval_ms, 10);
      poller = std::thread([this, u = *url, interval, &stop_polling] {
        while (!stop_polling.load()) {
          auto r = http_request("GET", u, "", milliseconds(std::max<int64_t>(interval, 200)));
          nlohmann::json ev = {{"type", "health.poll"}, {"http_status", r.status}};
          auto body = nlohmann::json::parse(r.body, nullptr, false);
          if (body.is_object()) {
            for (const char* k : {"overall_status", "status", "health_score", "system_state", "components",
                                  "degraded", "unhealthy"})
              if (body.contains(k)) ev[k] = body[k];
          }
          if (r.status == 0) ev["error"] = r.error;
          harness_event(ev);
          for (int64_t waited = 0; waited < interval && !stop_polling.load(); waited += 10)
            std::this_thread::sleep_for(milliseconds(10));
        }
      });
    }
  }

  // The fault timeline.
  size_t next_fault = 0;
  auto first_fault = s_.first_fault_ms();
  bool steady_checked = !s_.steady_state.enabled || !first_fault;
  TimePoint stopped_at = origin_;
  while (ok) {
    auto now = SteadyClock::instance().now();
    record_exits();
    if (interrupted()) {
      fail(Verdict::kInterrupted, "interrupted by a signal");
      break;
    }
    if (now >= deadline_) {
      fail(Verdict::kTimedOut, "scenario timeout of " + std::to_string(s_.timeout_ms) + " ms reached");
      break;
    }
    auto& sut = *launched_["sut"];
    if (auto st = sut.process->poll()) {
      result_.verdict = Verdict::kFailed;
      result_.error = "system under test exited during the scenario (" + st->describe() + "); last log lines:" +
                      join_tail(sut.process->log_tail(15));
      break;
    }
    // Faults due now, in timeline order.
    while (next_fault < s_.faults.size() && now >= origin_ + milliseconds(s_.faults[next_fault].at_ms)) {
      const auto& step = s_.faults[next_fault];
      if (!steady_checked) {
        steady_checked = true;
        auto tl = build_timeline(now);
        tl.requests = workload ? workload->samples() : std::vector<expect::RequestSample>{};
        steady = expect::evaluate_steady_state(s_, tl, static_cast<double>(step.at_ms));
        if (!steady->passed) {
          result_.verdict = Verdict::kFailed;
          result_.error = "steady state not reached before the first fault: " + steady->explanation;
          ok = false;
          break;
        }
      }
      ++next_fault;
      double t_ms = to_ms(SteadyClock::instance().now() - origin_);
      if (step.action == scenario::FaultStep::Action::kClear) {
        harness_event({{"type", "fault.start"}, {"label", step.label}, {"target", step.target}, {"action", "clear"}});
        InjectResult r{true, "", ""};
        if (!fiu_targets_.count(step.target)) r = injector.clear_all(step.target);
        for (auto it = active.begin(); it != active.end();) {
          if (it->second.target == step.target) {
            if (it->second.fault_id.rfind("fiu:", 0) == 0) {
              std::string err = fiu_send((fs::path(o_.log_dir) / ("fiu-" + step.target)).string(),
                                         launched_[step.target]->process->pid(),
                                         "disable name=" + it->second.fault_id.substr(4));
              if (!err.empty()) r = {false, "", err};
            }
            harness_event({{"type", "fault.end"}, {"label", it->first}, {"target", step.target}});
            result_.faults.push_back({it->first, step.target, it->second.type, it->second.from_ms, t_ms});
            it = active.erase(it);
          } else {
            ++it;
          }
        }
        harness_event({{"type", "fault.end"}, {"label", step.label}, {"target", step.target}});
        if (!r.ok && !launched_[step.target]->process->poll()) {
          fail(Verdict::kError, "faults[" + std::to_string(step.index) + "] (" + step.label + "): " + r.error);
          ok = false;
        }
        continue;
      }
      if (fiu_targets_.count(step.target)) {
        const auto& f = step.fault;
        std::string point = f.value("point", "");
        double probability = f.contains("probability") ? f["probability"].get<double>() : 1.0;
        std::string cmd = (probability < 1.0 ? "enable_random name=" : "enable name=") + point;
        if (probability < 1.0) cmd += ",probability=" + std::to_string(probability);
        if (f.contains("failinfo")) cmd += ",failinfo=" + std::to_string(f["failinfo"].get<int64_t>());
        harness_event({{"type", "fault.start"}, {"label", step.label}, {"target", step.target}, {"fault", step.fault}});
        auto* proc = launched_[step.target]->process;
        std::string err = fiu_send((fs::path(o_.log_dir) / ("fiu-" + step.target)).string(), proc->pid(), cmd);
        if (!err.empty()) {
          fail(Verdict::kError, "faults[" + std::to_string(step.index) + "] (" + step.label + "): " + err);
          ok = false;
          break;
        }
        ActiveFault af{step.label, step.target, "fiu:" + point, step.type, std::nullopt, t_ms};
        if (step.duration_ms) af.ends = origin_ + milliseconds(step.at_ms + *step.duration_ms);
        active[step.label] = af;
        progress("fault " + step.label + " (fiu " + point + ") on " + step.target);
        continue;
      }
      if (!injector.has_target(step.target)) {
        fail(Verdict::kError, "faults[" + std::to_string(step.index) + "] (" + step.label +
                                  "): target \"" + step.target + "\" has no fault control API in this version");
        ok = false;
        break;
      }
      if (step.type == "crash") launched_[step.target]->crash_expected = true;
      harness_event({{"type", "fault.start"}, {"label", step.label}, {"target", step.target}, {"fault", step.fault}});
      auto r = injector.inject(step.target, step.fault);
      if (!r.ok) {
        // A crash fault may kill the mock before it answers: that is the fault working.
        if (step.type == "crash") {
          r.ok = true;
        } else {
          fail(Verdict::kError, "faults[" + std::to_string(step.index) + "] (" + step.label + "): " + r.error);
          ok = false;
          break;
        }
      }
      ActiveFault af{step.label, step.target, r.fault_id, step.type, std::nullopt, t_ms};
      if (step.duration_ms) af.ends = origin_ + milliseconds(step.at_ms + *step.duration_ms);
      active[step.label] = af;
      progress("fault " + step.label + " (" + step.type + ") on " + step.target);
    }
    if (!ok) break;
    // Faults whose duration is over.
    for (auto it = active.begin(); it != active.end();) {
      if (it->second.ends && now >= *it->second.ends) {
        double t_ms = to_ms(SteadyClock::instance().now() - origin_);
        harness_event({{"type", "fault.end"}, {"label", it->first}, {"target", it->second.target}});
        InjectResult r{true, "", ""};
        if (it->second.fault_id.rfind("fiu:", 0) == 0) {
          std::string err = fiu_send((fs::path(o_.log_dir) / ("fiu-" + it->second.target)).string(),
                                     launched_[it->second.target]->process->pid(),
                                     "disable name=" + it->second.fault_id.substr(4));
          if (!err.empty()) r = {false, "", err};
        } else if (!it->second.fault_id.empty()) {
          r = injector.clear(it->second.target, it->second.fault_id);
        }
        if (!r.ok && !launched_[it->second.target]->process->poll()) {
          fail(Verdict::kError, "clearing " + it->first + ": " + r.error);
          ok = false;
        }
        result_.faults.push_back({it->first, it->second.target, it->second.type, it->second.from_ms, t_ms});
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    if (!ok) break;
    if (now >= end_at && (!workload || workload->finished())) break;
    // Wake for the next due fault or fault end, at most 5 ms from now.
    auto wake = now + milliseconds(5);
    if (next_fault < s_.faults.size()) wake = std::min(wake, origin_ + milliseconds(s_.faults[next_fault].at_ms));
    for (const auto& [label, af] : active)
      if (af.ends) wake = std::min(wake, *af.ends);
    std::this_thread::sleep_until(wake);
  }
  stopped_at = SteadyClock::instance().now();

  if (workload) {
    workload->stop();
    workload->join();
  }
  stop_polling = true;
  if (poller.joinable()) poller.join();
  stop_event_file(stopped_at);
  double end_ms = to_ms(stopped_at - origin_);
  for (auto& [label, af] : active) {
    harness_event({{"type", "fault.end"}, {"label", label}, {"target", af.target}, {"at_scenario_end", true}});
    result_.faults.push_back({label, af.target, af.type, af.from_ms, end_ms});
  }
  record_exits();
  harness_event({{"type", "scenario.end"}, {"name", s_.name}});
  // Processes get SIGTERM (then SIGKILL); their last lines are still read before the timeline closes.
  group_.terminate_all(milliseconds(1000));

  auto tl = build_timeline(stopped_at + milliseconds(1));
  tl.duration_ms = end_ms;
  if (workload) tl.requests = workload->samples();
  result_.duration_ms = to_ms(SteadyClock::instance().now() - launch_start);

  for (auto& [id, l] : launched_) {
    if (!l->process) continue;
    expect::ProcessLog log;
    log.service = id;
    std::error_code rel_ec;
    auto rel = fs::relative(l->process->log_path(), o_.report_dir, rel_ec);
    log.path = rel_ec || rel.empty() ? l->process->log_path() : rel.string();
    if (auto st = l->process->poll()) {
      log.exit_code = st->exit_code;
      log.signal = st->signal;
    }
    log.tail = l->process->log_tail(20);
    result_.logs.push_back(std::move(log));
  }

  bool ran = result_.verdict == Verdict::kPassed || (result_.verdict == Verdict::kFailed && origin_ != launch_start);
  if (ran && launched_.count("sut")) {
    if (steady) result_.expectations.push_back(*steady);
    auto results = expect::evaluate(s_, tl);
    for (auto& r : results) {
      if (!r.passed && !events_file_missing_.empty())
        r.explanation += "; note: the system under test never created its events file " + events_file_missing_ +
                         " (system_under_test.events.path), so none of its events were seen";
      if (!r.passed && result_.verdict == Verdict::kPassed) result_.verdict = Verdict::kFailed;
      result_.expectations.push_back(std::move(r));
    }
    result_.phases = expect::compute_phases(s_, tl);
  }
  result_.timeline = std::move(tl);
  return result_;
}

}  // namespace

expect::ScenarioResult run_scenario(const scenario::Scenario& s, const RunOptions& options) {
  ScenarioRun run(s, options);
  return run.run();
}

}  // namespace chaos::runner
