// Renders the HTML report (see html_report.h; docs/REPORTS.md shows how to read it).
#include "report/html_report.h"

#include "report/text.h"
#include "report/timeline_svg.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace chaos::report {
namespace {

using expect::RunSummary;
using expect::ScenarioResult;
using expect::Verdict;

std::string esc(std::string_view s) { return markup_escape(s); }

const char kStyle[] = R"css(
:root{--fg:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#f8f9fa;--ok:#2f9e44;--bad:#e03131;--warn:#f08c00}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 6px;display:flex;align-items:center;gap:10px;word-break:break-word}
h3{font-size:14px;margin:22px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
a{color:#1c7ed6;text-decoration:none}a:hover{text-decoration:underline}
.meta{color:var(--muted);margin:0 0 10px}
.meta b{color:var(--fg);font-weight:600}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0 0}
.count{border:1px solid var(--line);border-radius:6px;padding:6px 12px;background:#fff;min-width:92px}
.count .n{font-size:20px;font-weight:700;display:block}
.count .l{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.count.passed .n{color:var(--ok)}.count.failed .n,.count.error .n,.count.timed_out .n{color:var(--bad)}
.count.flaky .n{color:#9c36b5}.count.interrupted .n{color:var(--warn)}
.badge{display:inline-block;border-radius:4px;padding:2px 8px;font-size:12px;font-weight:700;letter-spacing:.04em;color:#fff;white-space:nowrap}
.badge.passed{background:var(--ok)}.badge.failed{background:var(--bad)}.badge.error{background:#862e9c}
.badge.timed_out{background:#d9480f}.badge.interrupted{background:#868e96}.badge.flaky{background:#9c36b5}
.banner{border-radius:6px;padding:10px 14px;margin:10px 0;font-weight:600}
.banner.interrupted{background:#fff4e6;border:1px solid #ffc078}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#f1f3f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td{background:#fff5f5}
tr.fail td.mark{color:var(--bad);font-weight:700}
td.mark{width:22px;color:var(--ok);font-weight:700}
tr.explain td{background:#fff5f5;border-bottom:2px solid #ffc9c9;padding-top:0}
.explanation{color:#c92a2a;font-weight:600;margin:2px 0 4px}
.evidence{margin:4px 0 0;padding-left:18px;color:var(--muted);font-size:12px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px}
pre{background:#212529;color:#e9ecef;padding:10px 12px;border-radius:6px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all;margin:6px 0 0}
.error-box{background:#fff0f6;border:1px solid #fcc2d7;color:#a61e4d;border-radius:6px;padding:10px 14px;margin:10px 0;white-space:pre-wrap;word-break:break-word}
svg.timeline{width:100%;height:auto;display:block;background:#fff}
svg.timeline text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#495057}
svg.timeline text.state{fill:#fff;font-weight:600}
svg.timeline text.fault-label{fill:#c92a2a;font-weight:600}
svg.timeline text.lane{font-size:12px;fill:#343a40}
svg.timeline text.fail{fill:#c92a2a;font-weight:600}
svg.timeline text.tick{fill:#868e96}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin:6px 0 0}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600}
details.log{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
details.log.crashed{border-color:#ffa8a8;background:#fff5f5}
.tags code{background:#f1f3f5;border-radius:3px;padding:1px 5px;margin-right:4px}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;margin-top:28px}
)css";

std::string badge(Verdict v) {
  std::string name = expect::to_string(v);
  std::string label = name;
  std::transform(label.begin(), label.end(), label.begin(), [](unsigned char c) {
    return c == '_' ? ' ' : static_cast<char>(std::toupper(c));
  });
  return "<span class=\"badge " + name + "\">" + label + "</span>";
}

// Only relative paths become links (a log path is relative to the report folder); anything with a
// scheme or an absolute path is shown as text, so a crafted path cannot become a javascript: link.
std::string log_link(const std::string& path) {
  bool linkable = !path.empty() && path.find(':') == std::string::npos && path[0] != '/' &&
                  path.find('\\') == std::string::npos;
  if (!linkable) return "<code>" + esc(path) + "</code>";
  std::string href;
  for (char c : path) {
    switch (c) {
      case ' ': href += "%20"; break;
      case '#': href += "%23"; break;
      case '?': href += "%3F"; break;
      case '%': href += "%25"; break;
      default: href += c;
    }
  }
  return "<a href=\"" + esc(href) + "\"><code>" + esc(path) + "</code></a>";
}

bool crashed(const expect::ProcessLog& l) {
  return abnormal_exit(l.exit_code, l.signal);
}

size_t failed_count(const ScenarioResult& s) {
  return static_cast<size_t>(std::count_if(s.expectations.begin(), s.expectations.end(),
                                           [](const auto& e) { return !e.passed; }));
}

std::string event_line(const expect::TimelineEvent& e) {
  return fixed(e.t_ms, 1) + " ms  " + e.source + "  " + e.type + "  " +
         (e.data.is_null() ? std::string("{}")
                           : e.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void legend(std::string& o, const TimelinePicture& pic, const ScenarioResult& s) {
  o += "<div class=\"legend\">";
  auto sw = [&](const char* colour, const std::string& label) {
    o += "<span><i class=\"sw\" style=\"background:" + std::string(colour) + "\"></i>" + esc(label) + "</span>";
  };
  if (!pic.breakers.empty()) {
    for (const char* st : {"CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN"}) sw(state_colour(st), st);
  }
  if (!pic.health.empty()) {
    for (const char* st : {"RUNNING", "DEGRADED", "CRITICAL"}) sw(state_colour(st), "health " + std::string(st));
  }
  if (!s.faults.empty()) {
    o += "<span><i class=\"sw\" style=\"background:rgba(250,82,82,.15);border:1px dashed #fa5252\"></i>fault window</span>";
  }
  if (!pic.heals.empty()) {
    o += "<span><i class=\"sw\" style=\"background:#2f9e44;border-radius:50%\"></i>heal succeeded</span>";
    o += "<span style=\"color:#e03131;font-weight:700\">✗</span><span>heal failed</span>";
  }
  if (!pic.processes.empty()) {
    o += "<span><i class=\"sw\" style=\"background:#adb5bd;width:3px\"></i>process ready</span>";
    o += "<span style=\"color:#c92a2a\">▼</span><span>process exit (red: crash)</span>";
  }
  if (!s.timeline.requests.empty()) {
    sw("#8ce99a", "request ok");
    sw("#ffd43b", "fallback");
    sw("#ff8787", "error");
  }
  o += "</div>";
}

void expectations_table(std::string& o, const ScenarioResult& s) {
  size_t failed = failed_count(s);
  o += "<h3>Expectations — " + std::to_string(s.expectations.size() - failed) + " of " +
       std::to_string(s.expectations.size()) + " passed</h3>";
  if (s.expectations.empty()) {
    o += "<p class=\"empty\">No expectations were evaluated.</p>";
    return;
  }
  o += "<table class=\"expectations\"><thead><tr><th></th><th>Expectation</th><th>Expected</th>"
       "<th>Observed</th><th class=\"num\">Window</th></tr></thead><tbody>";
  for (const auto& e : s.expectations) {
    o += e.passed ? "<tr class=\"pass\"><td class=\"mark\">✓</td>" : "<tr class=\"fail\"><td class=\"mark\">✗</td>";
    o += "<td><b>" + esc(e.description.empty() ? e.id : e.description) + "</b><br><span class=\"meta mono\">" +
         esc(e.id) + (e.kind.empty() ? "" : " · " + esc(e.kind)) + "</span></td>";
    o += "<td>" + esc(e.expected) + "</td><td>" + esc(e.observed) + "</td>";
    o += "<td class=\"num\">" + fixed(e.window_from_ms, 0) + " – " + fixed(e.window_to_ms, 0) + " ms</td></tr>";
    if (!e.passed || !e.evidence.empty()) {
      o += std::string("<tr class=\"") + (e.passed ? "evidence-row" : "explain") + "\"><td></td><td colspan=\"4\">";
      if (!e.explanation.empty()) {
        o += std::string("<div class=\"") + (e.passed ? "meta" : "explanation") + "\">" + esc(e.explanation) + "</div>";
      }
      if (!e.evidence.empty()) {
        o += "<ul class=\"evidence mono\">";
        for (size_t idx : e.evidence) {
          if (const auto* ev = s.timeline.find(idx)) {
            o += "<li>" + esc(event_line(*ev)) + "</li>";
          } else {
            o += "<li>event #" + std::to_string(idx) + " (not in the timeline)</li>";
          }
        }
        o += "</ul>";
      }
      o += "</td></tr>";
    }
  }
  o += "</tbody></table>";
}

void phases_table(std::string& o, const ScenarioResult& s) {
  o += "<h3>Phase metrics</h3>";
  if (s.phases.empty()) {
    o += "<p class=\"empty\">No workload phases were measured.</p>";
    return;
  }
  o += "<table class=\"phases\"><thead><tr><th>Phase</th><th class=\"num\">From – to</th>"
       "<th class=\"num\">Requests</th><th class=\"num\">Throughput</th><th class=\"num\">p50</th>"
       "<th class=\"num\">p95</th><th class=\"num\">p99</th><th class=\"num\">max</th>"
       "<th class=\"num\">Success</th><th class=\"num\">Fallback</th><th class=\"num\">Error</th>"
       "</tr></thead><tbody>";
  for (const auto& p : s.phases) {
    o += "<tr><td>" + esc(p.name) + "</td><td class=\"num\">" + fixed(p.from_ms, 0) + " – " +
         fixed(p.to_ms, 0) + " ms</td><td class=\"num\">" + std::to_string(p.requests) +
         "</td><td class=\"num\">" + fixed(p.throughput_rps, 1) + " rps</td><td class=\"num\">" +
         fixed(p.p50_ms, 1) + " ms</td><td class=\"num\">" + fixed(p.p95_ms, 1) +
         " ms</td><td class=\"num\">" + fixed(p.p99_ms, 1) + " ms</td><td class=\"num\">" +
         fixed(p.max_ms, 1) + " ms</td><td class=\"num\">" + percent(p.success_rate) +
         "</td><td class=\"num\">" + percent(p.fallback_rate) + "</td><td class=\"num\">" +
         percent(p.error_rate) + "</td></tr>";
  }
  o += "</tbody></table>";
}

void faults_table(std::string& o, const ScenarioResult& s) {
  if (s.faults.empty()) return;
  o += "<h3>Faults injected</h3><table class=\"faults\"><thead><tr><th>Label</th><th>Target</th>"
       "<th>Fault</th><th class=\"num\">From</th><th class=\"num\">To</th></tr></thead><tbody>";
  for (const auto& f : s.faults) {
    o += "<tr><td>" + esc(f.label) + "</td><td>" + esc(f.target) + "</td><td>" + esc(f.type) +
         "</td><td class=\"num\">" + fixed(f.from_ms, 0) + " ms</td><td class=\"num\">" + fixed(f.to_ms, 0) +
         " ms</td></tr>";
  }
  o += "</tbody></table>";
}

void logs_section(std::string& o, const ScenarioResult& s) {
  o += "<h3>Process logs</h3>";
  if (s.logs.empty()) {
    o += "<p class=\"empty\">No process logs were recorded.</p>";
    return;
  }
  for (const auto& l : s.logs) {
    bool bad = crashed(l);
    // A crashed process's log starts open: its tail usually explains the verdict.
    o += std::string("<details class=\"log") + (bad ? " crashed\" open>" : "\">");
    o += "<summary>" + esc(l.service) + " — " + esc(exit_status_text(l.exit_code, l.signal)) + "</summary>";
    o += "<p class=\"meta\">log file " + log_link(l.path) + "</p>";
    if (l.tail.empty()) {
      o += "<p class=\"empty\">(empty log)</p>";
    } else {
      o += "<pre>";
      for (const auto& line : l.tail) o += esc(line) + "\n";
      o += "</pre>";
    }
    o += "</details>";
  }
}

void raw_timeline(std::string& o, const ScenarioResult& s, const HtmlOptions& options) {
  const auto& ev = s.timeline.events;
  size_t shown = std::min(ev.size(), options.max_raw_events);
  o += "<details class=\"raw\"><summary>Raw timeline — " + std::to_string(ev.size()) + " events, " +
       std::to_string(s.timeline.requests.size()) + " request samples</summary>";
  if (s.timeline.compacted()) {
    o += "<p class=\"meta\">" + std::to_string(ev.size()) + " of " + std::to_string(s.timeline.observed_events) +
         " observed events kept: " + esc(s.timeline.omitted_note) + "</p>";
  }
  if (shown < ev.size()) {
    o += "<p class=\"meta\">Showing the first " + std::to_string(shown) + " of " + std::to_string(ev.size()) +
         " events; latest.json holds them all.</p>";
  }
  o += "<table class=\"raw\"><thead><tr><th class=\"num\">t (ms)</th><th>Source</th><th>Type</th><th>Data</th>"
       "</tr></thead><tbody>";
  for (size_t i = 0; i < shown; ++i) {
    const auto& e = ev[i];
    o += "<tr><td class=\"num\">" + fixed(e.t_ms, 1) + "</td><td>" + esc(e.source) + "</td><td><code>" +
         esc(e.type) + "</code></td><td class=\"mono\">" +
         esc(e.data.is_null() ? std::string("{}")
                              : e.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
         "</td></tr>";
  }
  o += "</tbody></table></details>";
}

void scenario_section(std::string& o, const ScenarioResult& s, size_t index, const HtmlOptions& options) {
  const std::string anchor = "s" + std::to_string(index);
  o += "<section class=\"card scenario\" id=\"" + anchor + "\">";
  o += "<h2>" + badge(s.verdict) + "<span class=\"name\">" + esc(s.name) + "</span></h2>";
  o += "<p class=\"meta\"><b>" + esc(human_duration(s.duration_ms)) + "</b> · file <code>" + esc(s.file) +
       "</code> · seed <code>" + std::to_string(s.seed) + "</code>";
  if (s.repeat_index > 0) o += " · repeat " + std::to_string(s.repeat_index + 1);
  std::string started = iso8601_utc(s.started_unix_ms);
  if (!started.empty()) o += " · started " + started;
  if (!s.tags.empty()) {
    o += " · <span class=\"tags\">";
    for (const auto& t : s.tags) o += "<code>" + esc(t) + "</code>";
    o += "</span>";
  }
  o += "</p>";
  if (!s.description.empty()) o += "<p>" + esc(s.description) + "</p>";
  if (!s.error.empty()) o += "<div class=\"error-box\">" + esc(s.error) + "</div>";

  o += "<h3>Timeline</h3>";
  o += render_timeline_svg(s, anchor + "-tl");
  legend(o, build_picture(s), s);
  expectations_table(o, s);
  phases_table(o, s);
  faults_table(o, s);
  logs_section(o, s);
  raw_timeline(o, s, options);
  o += "</section>";
}

}  // namespace

std::string render_html(const RunSummary& run, const HtmlOptions& options) {
  size_t counts[6] = {0, 0, 0, 0, 0, 0};
  for (const auto& s : run.scenarios) ++counts[static_cast<size_t>(s.verdict)];
  const size_t not_passed = run.scenarios.size() - counts[static_cast<size_t>(Verdict::kPassed)];

  std::string o;
  o.reserve(65536);
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       // No script may run and nothing may be fetched, whatever ends up in the page.
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:\">";
  o += "<title>chaos-harness report — " + std::to_string(run.scenarios.size()) + " scenarios, " +
       std::to_string(not_passed) + " not passed</title>";
  o += "<style>";
  o += kStyle;
  o += "</style></head><body><main>";
  o += "<header><h1>chaos-harness report</h1><p class=\"meta\">";
  std::string started = iso8601_utc(run.started_unix_ms);
  if (!started.empty()) o += "started <b>" + started + "</b> · ";
  o += "took <b>" + esc(human_duration(run.duration_ms)) + "</b> · harness " + esc(run.harness_version);
  if (run.cpu_group) o += " · cpu cgroup " + esc(*run.cpu_group);
  o += "</p>";
  if (run.interrupted) {
    o += "<div class=\"banner interrupted\">The run was interrupted: this report is partial.</div>";
  }
  o += "<div class=\"counts\">";
  o += "<div class=\"count total\"><span class=\"n\">" + std::to_string(run.scenarios.size()) +
       "</span><span class=\"l\">scenarios</span></div>";
  for (Verdict v : {Verdict::kPassed, Verdict::kFailed, Verdict::kError, Verdict::kTimedOut,
                    Verdict::kInterrupted, Verdict::kFlaky}) {
    size_t n = counts[static_cast<size_t>(v)];
    if (n == 0 && v != Verdict::kPassed && v != Verdict::kFailed) continue;
    std::string name = expect::to_string(v);
    std::string label = name == "timed_out" ? "timed out" : name;
    o += "<div class=\"count " + name + "\"><span class=\"n\">" + std::to_string(n) + "</span><span class=\"l\">" +
         label + "</span></div>";
  }
  o += "</div></header>";

  o += "<section class=\"card\"><table class=\"summary\"><thead><tr><th>Scenario</th><th>Verdict</th>"
       "<th class=\"num\">Duration</th><th class=\"num\">Failed expectations</th><th>Tags</th></tr></thead><tbody>";
  if (run.scenarios.empty()) o += "<tr><td colspan=\"5\" class=\"empty\">No scenario ran.</td></tr>";
  for (size_t i = 0; i < run.scenarios.size(); ++i) {
    const auto& s = run.scenarios[i];
    size_t failed = failed_count(s);
    o += "<tr" + std::string(s.verdict == Verdict::kPassed ? "" : " class=\"fail\"") + "><td><a href=\"#s" +
         std::to_string(i) + "\">" + esc(s.name) + "</a>" +
         (s.repeat_index > 0 ? " <span class=\"meta\">(repeat " + std::to_string(s.repeat_index + 1) + ")</span>" : "") +
         "</td><td>" + badge(s.verdict) + "</td><td class=\"num\">" + esc(human_duration(s.duration_ms)) +
         "</td><td class=\"num\">" + std::to_string(failed) + " / " + std::to_string(s.expectations.size()) +
         "</td><td class=\"tags\">";
    for (const auto& t : s.tags) o += "<code>" + esc(t) + "</code>";
    o += "</td></tr>";
  }
  o += "</tbody></table></section>";

  for (size_t i = 0; i < run.scenarios.size(); ++i) scenario_section(o, run.scenarios[i], i, options);
  o += "<footer>Generated by chaos-harness " + esc(run.harness_version) +
       ". Times are milliseconds since each scenario started. The full data is in the JSON report.</footer>";
  o += "</main></body></html>\n";
  return o;
}

}  // namespace chaos::report
