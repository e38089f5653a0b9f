// Renders JUnit XML (see junit_report.h for the mapping).
#include "report/junit_report.h"

#include "report/text.h"

#include <algorithm>
#include <filesystem>

namespace chaos::report {
namespace {

using expect::ScenarioResult;
using expect::Verdict;

std::string text(std::string_view s) { return markup_escape(s, true); }
std::string attr(std::string_view s) { return markup_escape(s, false); }

std::string seconds(double ms) { return fixed(std::max(0.0, ms) / 1000.0, 3); }

std::string testcase_name(const ScenarioResult& s) {
  // Repeats of one scenario must stay distinct test cases.
  return s.repeat_index > 0 ? s.name + " #" + std::to_string(s.repeat_index + 1) : s.name;
}

std::string failure_details(const ScenarioResult& s, std::string& message) {
  std::vector<const expect::ExpectationResult*> failed;
  for (const auto& e : s.expectations) {
    if (!e.passed) failed.push_back(&e);
  }
  std::string body;
  if (s.verdict == Verdict::kFlaky) {
    message = "flaky: the verdict differed across repeats";
    body = message + "\n";
  }
  if (!failed.empty()) {
    std::string m = std::to_string(failed.size()) + " of " + std::to_string(s.expectations.size()) +
                    " expectations failed: " + failed[0]->id + ": " +
                    (failed[0]->explanation.empty() ? failed[0]->description : failed[0]->explanation);
    if (failed.size() > 1) m += " (and " + std::to_string(failed.size() - 1) + " more)";
    message = message.empty() ? m : message + "; " + m;
  } else if (message.empty()) {
    message = s.error.empty() ? "scenario failed" : s.error;
  }
  for (const auto* e : failed) {
    body += e->id + (e->kind.empty() ? "" : " [" + e->kind + "]") + ": " + e->description + "\n";
    body += "  expected: " + e->expected + "\n";
    body += "  observed: " + e->observed + "\n";
    body += "  why: " + e->explanation + "\n";
    body += "  window: " + fixed(e->window_from_ms, 0) + " - " + fixed(e->window_to_ms, 0) + " ms\n";
  }
  if (!s.error.empty()) body += "error: " + s.error + "\n";
  return body;
}

}  // namespace

std::string junit_classname(const ScenarioResult& s) {
  if (!s.tags.empty() && !s.tags[0].empty()) return "chaos." + s.tags[0];
  std::string folder = std::filesystem::path(s.file).parent_path().generic_string();
  while (!folder.empty() && (folder[0] == '/' || folder[0] == '.')) folder.erase(0, 1);
  std::replace(folder.begin(), folder.end(), '/', '.');
  return folder.empty() ? "chaos" : folder;
}

std::string render_junit(const expect::RunSummary& run) {
  size_t failures = 0, errors = 0;
  for (const auto& s : run.scenarios) {
    if (s.verdict == Verdict::kFailed || s.verdict == Verdict::kFlaky) ++failures;
    if (s.verdict == Verdict::kError || s.verdict == Verdict::kTimedOut || s.verdict == Verdict::kInterrupted) {
      ++errors;
    }
  }
  const std::string counts = " tests=\"" + std::to_string(run.scenarios.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                             "\" skipped=\"0\" time=\"" + seconds(run.duration_ms) + "\"";
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<testsuites name=\"chaos-harness\"" + counts + ">\n";
  o += "  <testsuite name=\"chaos-harness\"" + counts;
  std::string ts = iso8601_utc(run.started_unix_ms);
  if (!ts.empty()) o += " timestamp=\"" + ts.substr(0, 19) + "\"";  // JUnit wants no zone suffix
  o += ">\n    <properties>\n      <property name=\"harness_version\" value=\"" + attr(run.harness_version) +
       "\"/>\n      <property name=\"interrupted\" value=\"" + (run.interrupted ? "true" : "false") +
       "\"/>\n      <property name=\"cpu_group\" value=\"" + attr(run.cpu_group.value_or("")) +
       "\"/>\n    </properties>\n";
  for (const auto& s : run.scenarios) {
    o += "    <testcase name=\"" + attr(testcase_name(s)) + "\" classname=\"" + attr(junit_classname(s)) +
         "\" time=\"" + seconds(s.duration_ms) + "\" file=\"" + attr(s.file) + "\">\n";
    switch (s.verdict) {
      case Verdict::kPassed: break;
      case Verdict::kFailed:
      case Verdict::kFlaky: {
        std::string message;
        std::string body = failure_details(s, message);
        o += "      <failure message=\"" + attr(message) + "\" type=\"" + expect::to_string(s.verdict) + "\">" +
             text(body) + "</failure>\n";
        break;
      }
      case Verdict::kError:
      case Verdict::kTimedOut:
      case Verdict::kInterrupted: {
        std::string message = s.error.empty() ? std::string(expect::to_string(s.verdict)) : s.error;
        std::string unused;
        std::string body = failure_details(s, unused);
        o += "      <error message=\"" + attr(message) + "\" type=\"" + expect::to_string(s.verdict) + "\">" +
             text(body) + "</error>\n";
        break;
      }
    }
    std::string out = "scenario file: " + s.file + "\nseed: " + std::to_string(s.seed) + "\n";
    for (const auto& l : s.logs) {
      out += "log " + l.service + ": " + l.path + " (" + exit_status_text(l.exit_code, l.signal) + ")\n";
      if (abnormal_exit(l.exit_code, l.signal)) {
        for (const auto& line : l.tail) out += "  | " + line + "\n";
      }
    }
    o += "      <system-out>" + text(out) + "</system-out>\n";
    o += "    </testcase>\n";
  }
  o += "  </testsuite>\n</testsuites>\n";
  return o;
}

}  // namespace chaos::report
