// The human report: one self-contained HTML file (inline CSS and SVG, no script, no external asset)
// that opens offline from a CI artifact. A Content-Security-Policy meta tag forbids scripts and every
// network fetch, on top of escaping every value that came from a scenario or a process log.
#pragma once

#include "expect/result.h"

#include <cstddef>
#include <string>

namespace chaos::report {

struct HtmlOptions {
  // Raw timeline rows shown per scenario; the rest is counted and left to the JSON report.
  size_t max_raw_events = 2000;
};

std::string render_html(const expect::RunSummary& run, const HtmlOptions& options = {});

}  // namespace chaos::report
