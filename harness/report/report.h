// The one call the CLI makes: write every requested report format for a run into a folder. Each file
// is replaced atomically, so a reader (or a crash mid-write) never sees half a report and a failed
// write leaves the previous report intact.
#pragma once

#include "expect/result.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"

#include <string>
#include <string_view>
#include <vector>

namespace chaos::report {

inline constexpr const char* kJsonFileName = "latest.json";
inline constexpr const char* kHtmlFileName = "latest.html";
inline constexpr const char* kJunitFileName = "junit.xml";

struct Formats {
  bool json = true;
  bool html = true;
  bool junit = true;
  static Formats all() { return {}; }
  static Formats none() { return {false, false, false}; }
};

struct FormatsParse {
  bool ok = false;
  Formats formats = Formats::none();
  std::string error;  // names the bad entry and the accepted ones
};

// Parses "--format" values such as "json,html,junit" (order and repeats do not matter; empty entries
// are rejected).
FormatsParse parse_formats(std::string_view list);

struct WriteResult {
  bool ok = false;
  std::string error;                // every failure, each naming its path; empty when ok
  std::vector<std::string> written; // paths written successfully
};

// Writes one file atomically (see common/atomic_file.h).
WriteResult write_json_report(const expect::RunSummary& run, const std::string& path,
                              const JsonOptions& options = {});
WriteResult write_html_report(const expect::RunSummary& run, const std::string& path,
                              const HtmlOptions& options = {});
WriteResult write_junit_report(const expect::RunSummary& run, const std::string& path);

// Creates `dir` (and parents) if needed, then writes latest.json, latest.html and junit.xml as
// selected. A format that fails does not stop the others; `error` lists every failure.
WriteResult write_reports(const expect::RunSummary& run, const std::string& dir, const Formats& formats);

}  // namespace chaos::report
