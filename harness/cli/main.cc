// chaos-harness: the command line. Parses options, expands scenario files, validates all of them
// before any process starts, runs them (in parallel with --jobs, repeated with --repeat), writes the
// reports and turns the verdicts into an exit code:
//   0 all passed, 1 a scenario failed, was flaky or timed out (its report verdict still says "timed
//   out"), 2 invalid input or usage, 3 infrastructure error (binary missing, service never ready, ...),
//   130 interrupted by SIGINT/SIGTERM (the exit code itself must say "interrupted").
#include "expect/compact.h"
#include "expect/result.h"
#include "report/report.h"
#include "runner/process.h"
#include "runner/runner.h"
#include "runner/cpu_group.h"
#include "runner/watchdog.h"
#include "scenario/parser.h"

#include <fiu-control.h>
#include <fiu.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using chaos::expect::Verdict;

namespace {

constexpr int kExitPassed = 0, kExitFailed = 1, kExitUsage = 2, kExitInfra = 3, kExitInterrupted = 130;

const char* kUsage = R"(usage: chaos-harness <command> [options] <scenario files or folders>...

commands:
  run        validate, then run scenarios and write reports
  validate   check scenario files; print every error as file:line:col: json.path: message
  list       print the scenarios that match the filters (name, tags, file)

options:
  --filter TEXT      only scenarios whose name contains TEXT (or matches it as a regex)
  --tags a,b         only scenarios with at least one of these tags
  --shard K/N        only every N-th scenario of the sorted, filtered list, starting at the K-th
                     (1-based, round-robin: shard K gets positions K, K+N, K+2N, ...)
  --jobs N           run N scenarios in parallel (each on its own ephemeral ports; default 1)
  --repeat N         run each scenario N times; differing verdicts are reported as FLAKY
  --seed N           override every scenario's seed
  --report-dir DIR   where reports and process logs go (default: reports)
  --format LIST      json,html,junit (default: all three)
  --bin-dir DIR      where mock-*, fault-proxy and gateway live (default: this program's folder)
  --quiet            only the final summary
  --no-cpu-group     stay in the current cpu cgroup (by default, where autogroup scheduling would make
                     every process that starts a session, e.g. each PostgreSQL backend, a scheduling
                     group of its own, the run moves into a cpu cgroup of its own; see README.md, "Breaking the real thing")
  -h, --help         this text

exit codes: 0 all passed, 1 a scenario failed, was flaky or timed out (the report says TIMEOUT),
            2 invalid input or usage, 3 infrastructure error, 130 interrupted (SIGINT/SIGTERM)
)";

struct Options {
  std::string command;
  std::vector<std::string> paths;
  std::string filter;
  std::set<std::string> tags;
  int shard_k = 0, shard_n = 0;
  int jobs = 1;
  int repeat = 1;
  std::optional<uint64_t> seed;
  std::string report_dir = "reports";
  chaos::report::Formats formats = chaos::report::Formats::all();
  std::string bin_dir;
  bool quiet = false;
  bool cpu_group = true;
};

int usage_error(const std::string& msg) {
  std::cerr << "chaos-harness: " << msg << "\n(run chaos-harness --help for usage)\n";
  return kExitUsage;
}

bool parse_int(const std::string& s, long long lo, long long hi, long long* out) {
  try {
    size_t n = 0;
    long long v = std::stoll(s, &n);
    if (n != s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

std::optional<int> parse_options(int argc, char** argv, Options* o) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return args[++i];
    };
    long long n = 0;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitPassed;
    } else if (a == "--quiet" || a == "-q") {
      o->quiet = true;
    } else if (a == "--no-cpu-group") {
      o->cpu_group = false;
    } else if (a == "--filter") {
      auto v = value("--filter");
      if (!v) return usage_error("--filter needs a value");
      o->filter = *v;
    } else if (a == "--tags") {
      auto v = value("--tags");
      if (!v) return usage_error("--tags needs a comma-separated list");
      std::stringstream ss(*v);
      std::string t;
      while (std::getline(ss, t, ','))
        if (!t.empty()) o->tags.insert(t);
    } else if (a == "--shard") {
      auto v = value("--shard");
      std::smatch m;
      static const std::regex re(R"((\d+)/(\d+))");
      if (!v || !std::regex_match(*v, m, re)) return usage_error("--shard expects K/N, e.g. 2/4");
      o->shard_k = std::stoi(m[1]);
      o->shard_n = std::stoi(m[2]);
      if (o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n)
        return usage_error("--shard K/N needs 1 <= K <= N");
    } else if (a == "--jobs" || a == "-j") {
      auto v = value("--jobs");
      if (!v || !parse_int(*v, 1, 64, &n)) return usage_error("--jobs expects a number from 1 to 64");
      o->jobs = static_cast<int>(n);
    } else if (a == "--repeat") {
      auto v = value("--repeat");
      if (!v || !parse_int(*v, 1, 10000, &n)) return usage_error("--repeat expects a number from 1 to 10000");
      o->repeat = static_cast<int>(n);
    } else if (a == "--seed") {
      auto v = value("--seed");
      if (!v || !parse_int(*v, 0, (1LL << 53), &n)) return usage_error("--seed expects a non-negative integer");
      o->seed = static_cast<uint64_t>(n);
    } else if (a == "--report-dir") {
      auto v = value("--report-dir");
      if (!v) return usage_error("--report-dir needs a folder");
      o->report_dir = *v;
    } else if (a == "--format") {
      auto v = value("--format");
      if (!v) return usage_error("--format needs a list such as json,html,junit");
      auto f = chaos::report::parse_formats(*v);
      if (!f.ok) return usage_error("--format: " + f.error);
      o->formats = f.formats;
    } else if (a == "--bin-dir") {
      auto v = value("--bin-dir");
      if (!v) return usage_error("--bin-dir needs a folder");
      o->bin_dir = *v;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else if (o->command.empty()) {
      o->command = a;
    } else {
      o->paths.push_back(a);
    }
  }
  if (o->command != "run" && o->command != "validate" && o->command != "list")
    return usage_error(o->command.empty() ? "no command given" : "unknown command \"" + o->command + "\"");
  if (o->paths.empty()) return usage_error("no scenario files or folders given");
  return std::nullopt;
}

// Scenario files named on the command line, folders expanded recursively (*.json except schema.json),
// sorted within each folder so runs and shards are stable.
bool expand_paths(const std::vector<std::string>& in, std::vector<std::string>* out) {
  bool ok = true;
  for (const auto& p : in) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file() && it->path().extension() == ".json" && it->path().filename() != "schema.json")
          found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      out->insert(out->end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out->push_back(p);
    } else {
      std::cerr << p << ": no such file or folder\n";
      ok = false;
    }
  }
  return ok;
}

bool matches(const chaos::scenario::Scenario& s, const Options& o) {
  if (!o.filter.empty() && s.name.find(o.filter) == std::string::npos) {
    try {
      if (!std::regex_search(s.name, std::regex(o.filter))) return false;
    } catch (const std::regex_error&) {
      return false;
    }
  }
  if (!o.tags.empty()) {
    bool any = false;
    for (const auto& t : s.tags) any = any || o.tags.count(t);
    if (!any) return false;
  }
  return true;
}

std::atomic<bool> g_interrupted{false};

// Signals are blocked in every thread and taken here, so no handler runs inside library code.
void start_signal_thread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) {
        if (!g_interrupted.exchange(true))
          std::cerr << "\nchaos-harness: " << strsignal(sig) << ": stopping, cleaning up\n";
      }
    }
  }).detach();
}

std::string self_dir(const char* argv0) {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) p = fs::absolute(argv0);
  return p.parent_path().string();
}

std::string first_failure(const chaos::expect::ScenarioResult& r) {
  if (!r.error.empty()) return r.error;
  for (const auto& e : r.expectations)
    if (!e.passed) return e.id + " (" + e.kind + "): " + e.explanation;
  return "";
}

const char* label(Verdict v) {
  switch (v) {
    case Verdict::kPassed: return "PASS";
    case Verdict::kFailed: return "FAIL";
    case Verdict::kError: return "ERROR";
    case Verdict::kTimedOut: return "TIMEOUT";
    case Verdict::kInterrupted: return "INTERRUPTED";
    case Verdict::kFlaky: return "FLAKY";
  }
  return "?";
}

}  // namespace

// CHAOS_FIU_ENABLE=point[,point...] enables libfiu fault points inside the harness itself (e.g.
// chaos/atomic_file/write to simulate a full disk while reports are written), so its own failure
// paths are tested for real.
void enable_own_fault_points() {
  fiu_init(0);
  const char* spec = ::getenv("CHAOS_FIU_ENABLE");
  if (!spec) return;
  std::stringstream ss(spec);
  std::string point;
  while (std::getline(ss, point, ','))
    if (!point.empty()) fiu_enable(point.c_str(), 1, nullptr, 0);
}

int main(int argc, char** argv) {
  enable_own_fault_points();
  Options o;
  if (auto code = parse_options(argc, argv, &o)) return *code;
  if (o.bin_dir.empty()) o.bin_dir = self_dir(argv[0]);

  std::vector<std::string> files;
  bool inputs_ok = expand_paths(o.paths, &files);

  // Validate everything before anything starts.
  std::vector<chaos::scenario::Scenario> scenarios;
  std::map<std::string, std::string> seen_names;
  for (const auto& f : files) {
    auto r = chaos::scenario::parse_scenario_file(f);
    if (!r.ok()) {
      std::cerr << chaos::scenario::format_errors(r.errors);
      inputs_ok = false;
      continue;
    }
    auto dup = seen_names.find(r.scenario->name);
    if (dup != seen_names.end()) {
      std::cerr << f << ": name: scenario name \"" << r.scenario->name << "\" is already used by " << dup->second
                << "\n";
      inputs_ok = false;
      continue;
    }
    seen_names[r.scenario->name] = f;
    scenarios.push_back(std::move(*r.scenario));
  }
  if (o.command == "validate") {
    if (inputs_ok) std::cout << files.size() << " scenario file(s) valid\n";
    return inputs_ok ? kExitPassed : kExitUsage;
  }
  if (!inputs_ok) return kExitUsage;

  std::vector<const chaos::scenario::Scenario*> selected;
  for (const auto& s : scenarios)
    if (matches(s, o)) selected.push_back(&s);
  if (o.shard_n > 0) {
    // Round-robin, not contiguous slices: shards stay balanced when neighbouring files are alike.
    std::vector<const chaos::scenario::Scenario*> shard;
    for (size_t i = 0; i < selected.size(); ++i)
      if (static_cast<int>(i % static_cast<size_t>(o.shard_n)) == o.shard_k - 1) shard.push_back(selected[i]);
    selected = shard;
  }
  if (o.command == "list") {
    for (const auto* s : selected) {
      std::cout << s->name << "\t" << s->file;
      if (!s->tags.empty()) {
        std::cout << "\t[";
        for (size_t i = 0; i < s->tags.size(); ++i) std::cout << (i ? "," : "") << s->tags[i];
        std::cout << "]";
      }
      std::cout << "\n";
    }
    return kExitPassed;
  }
  if (selected.empty()) {
    std::cerr << "chaos-harness: no scenario matches the filters\n";
    return kExitUsage;
  }

  // run. The watchdog is forked first, while this process has no other threads.
  chaos::runner::start_watchdog();
  start_signal_thread();
  chaos::runner::become_subreaper();
  // Before the first child: every process started from here on inherits the group.
  chaos::runner::CpuGroup cpu_group;
  std::string cpu_group_note = "--no-cpu-group";
  if (o.cpu_group) {
    auto plan = chaos::runner::plan_cpu_group(chaos::runner::read_cpu_group_facts());
    if (cpu_group.join(plan, &cpu_group_note)) {
      cpu_group_note = "processes that start a session of their own (PostgreSQL's backends) are scheduled with "
                       "the rest of the run, not as separate autogroups";
      if (!o.quiet) std::cerr << "chaos-harness: running in the cpu cgroup " << cpu_group.dir() << "\n";
    } else if (plan.join) {
      // Not fatal: the run is still valid, only more exposed to the machine's other load.
      cpu_group_note = "cannot run in a cpu cgroup of its own (" + cpu_group_note +
                       "); processes that start a session of their own are scheduled as separate autogroups";
      std::cerr << "chaos-harness: note: " << cpu_group_note << "\n";
    }
  }
  std::error_code ec;
  fs::create_directories(o.report_dir, ec);
  if (ec) {
    std::cerr << "chaos-harness: cannot create report folder " << o.report_dir << ": " << ec.message() << "\n";
    return kExitInfra;
  }
  const bool tty = ::isatty(STDERR_FILENO) && !o.quiet;
  std::mutex out_mu;
  auto say = [&](const std::string& line) {
    if (o.quiet) return;
    std::lock_guard<std::mutex> lock(out_mu);
    std::cerr << line << "\n";
  };

  struct Job {
    const chaos::scenario::Scenario* s;
    int repeat;
  };
  std::vector<Job> jobs;
  for (const auto* s : selected)
    for (int r = 0; r < o.repeat; ++r) jobs.push_back({s, r});

  chaos::expect::RunSummary summary;
  if (cpu_group.joined()) summary.cpu_group = cpu_group.dir();
  summary.cpu_group_note = cpu_group_note;
  auto wall0 = std::chrono::system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  summary.started_unix_ms = std::chrono::duration<double, std::milli>(wall0.time_since_epoch()).count();
  std::vector<std::optional<chaos::expect::ScenarioResult>> results(jobs.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  // With --repeat, the repeat whose whole timeline each scenario's report keeps among its passing
  // runs (the first to finish); the other passing runs are compacted as soon as they end.
  std::mutex whole_mu;
  std::map<const chaos::scenario::Scenario*, int> whole_timeline_of;
  auto worker = [&] {
    while (!g_interrupted.load()) {
      size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      const auto& job = jobs[i];
      chaos::runner::RunOptions ro;
      ro.bin_dir = o.bin_dir;
      ro.report_dir = o.report_dir;
      std::string dir_name = job.s->name + (o.repeat > 1 ? "-r" + std::to_string(job.repeat + 1) : "");
      ro.log_dir = (fs::path(o.report_dir) / "logs" / dir_name).string();
      fs::remove_all(ro.log_dir, ec);
      ro.seed_override = o.seed;
      ro.repeat_index = job.repeat;
      ro.interrupted = &g_interrupted;
      if (tty) ro.progress = [&, name = job.s->name](const std::string& m) { say("  [" + name + "] " + m); };
      say("RUN   " + dir_name);
      auto r = chaos::runner::run_scenario(*job.s, ro);
      size_t d = done.fetch_add(1) + 1;
      std::ostringstream line;
      line << label(r.verdict) << "  " << dir_name << " (" << static_cast<long>(r.duration_ms) << " ms) [" << d << "/"
           << jobs.size() << "]";
      auto why = first_failure(r);
      if (r.verdict != Verdict::kPassed && !why.empty()) line << "\n      " << why;
      say(line.str());
      if (o.repeat > 1 && r.verdict == Verdict::kPassed) {
        std::lock_guard<std::mutex> lock(whole_mu);
        auto [kept, first] = whole_timeline_of.emplace(job.s, job.repeat);
        if (!first) {
          chaos::expect::compact_repeat(r, "a passing repeat: per-call and per-check events not cited by an expectation "
                                           "are left out; repeat " + std::to_string(kept->second + 1) +
                                           " keeps the whole timeline of a passing run");
        }
      }
      results[i] = std::move(r);
    }
  };
  std::vector<std::thread> pool;
  int nthreads = std::min<int>(o.jobs, static_cast<int>(jobs.size()));
  for (int i = 0; i < nthreads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  // Collect, and mark scenarios whose verdict differs across repeats as flaky.
  std::map<std::string, std::vector<size_t>> by_name;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) continue;
    by_name[results[i]->name].push_back(summary.scenarios.size());
    summary.scenarios.push_back(std::move(*results[i]));
  }
  for (auto& [name, idx] : by_name) {
    std::map<std::string, int> counts;
    for (size_t i : idx) counts[chaos::expect::to_string(summary.scenarios[i].verdict)]++;
    if (counts.size() > 1 && !counts.count("interrupted")) {
      std::string desc;
      for (auto& [v, c] : counts) desc += (desc.empty() ? "" : ", ") + v + " x" + std::to_string(c);
      for (size_t i : idx) {
        auto& r = summary.scenarios[i];
        const std::string flaky = "FLAKY: verdicts differ across " + std::to_string(idx.size()) + " repeats (" + desc +
                                  "); this run " + chaos::expect::to_string(r.verdict);
        r.error = r.error.empty() ? flaky : flaky + ": " + r.error;
        r.run_verdict = r.verdict;
        r.verdict = Verdict::kFlaky;
      }
    }
  }
  summary.interrupted = g_interrupted.load();
  summary.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  auto w = chaos::report::write_reports(summary, o.report_dir, o.formats);
  int exit_code = kExitPassed;
  std::map<Verdict, int> counts;
  for (const auto& r : summary.scenarios) counts[r.verdict]++;
  // A timed-out scenario did not pass: it is a failed scenario for the exit code, while its report
  // keeps the verdict "timed_out" and the explanation of what it was waiting for.
  if (counts[Verdict::kFailed] || counts[Verdict::kFlaky] || counts[Verdict::kTimedOut]) exit_code = kExitFailed;
  if (counts[Verdict::kError]) exit_code = kExitInfra;
  if (summary.interrupted) exit_code = kExitInterrupted;
  if (!w.ok) {
    std::cerr << "chaos-harness: writing reports failed: " << w.error << "\n";
    if (exit_code == kExitPassed || exit_code == kExitFailed) exit_code = kExitInfra;
  }
  std::ostringstream sum;
  sum << "\n" << summary.scenarios.size() << " run(s): " << counts[Verdict::kPassed] << " passed, "
      << counts[Verdict::kFailed] << " failed, " << counts[Verdict::kFlaky] << " flaky, " << counts[Verdict::kError]
      << " error, " << counts[Verdict::kTimedOut] << " timed out, " << counts[Verdict::kInterrupted]
      << " interrupted";
  if (summary.interrupted) sum << " (run interrupted; reports are partial)";
  std::cout << sum.str() << "\n";
  for (const auto& p : w.written) std::cout << "report: " << p << "\n";
  // The closing line CI systems read.
  std::cout << "scenarios: " << counts[Verdict::kPassed] << " passed, "
            << (summary.scenarios.size() - static_cast<size_t>(counts[Verdict::kPassed])) << " failed\n";
  std::cout.flush();
  chaos::runner::stop_watchdog();
  std::string left_why;
  if (!cpu_group.leave(&left_why)) std::cerr << "chaos-harness: note: " << left_why << "\n";
  return exit_code;
}
