// The machine-readable report: everything the run observed and decided, versioned so that tools
// reading it can tell when its shape changes. Its shape is docs/report.schema.json; docs/REPORTS.md
// explains each field.
#pragma once

#include "expect/result.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace chaos::report {

// Bump when a field is removed or changes meaning; adding a field keeps the version.
inline constexpr int kJsonSchemaVersion = 1;

struct JsonOptions {
  // Request samples kept per scenario. Above the cap, samples are thinned evenly over the run (every
  // k-th), and `timeline.requests` says how many there were and how many are kept. Counts by outcome
  // and route always cover every sample.
  size_t max_request_samples = 2000;
};

nlohmann::json to_json(const expect::RunSummary& run, const JsonOptions& options = {});

// Pretty-printed JSON text ending in a newline. Never throws on invalid UTF-8 in the input: invalid
// bytes become U+FFFD.
std::string render_json(const expect::RunSummary& run, const JsonOptions& options = {});

}  // namespace chaos::report
