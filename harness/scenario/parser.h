// Entry points that turn scenario JSON text into a validated Scenario or into a list of errors that
// point at the offending value (file:line:col plus JSON path). Never aborts or throws on bad input:
// everything a user (or a fuzzer) can type comes back as ScenarioError values.
#pragma once

#include "scenario/model.h"

#include <string>
#include <string_view>
#include <vector>

namespace chaos::scenario {

struct ScenarioError {
  std::string file;
  int line = 0;          // 1-based; 0 when the file could not be read at all
  int col = 0;           // 1-based, in characters (UTF-8 code points)
  std::string json_path; // e.g. "faults[2].fault.type"; "" for the whole document
  std::string message;   // what is wrong and what was expected
  // "file:line:col: json_path: message" (parts omitted when unknown).
  std::string to_string() const;
};

struct ParseResult {
  std::optional<Scenario> scenario;    // set iff errors is empty
  std::vector<ScenarioError> errors;   // sorted by line, col
  bool ok() const { return scenario.has_value(); }
};

// Reads and validates a file. An unreadable file gives one error with line 0.
ParseResult parse_scenario_file(const std::string& path);
// Validates text; `file` is only used in errors and Scenario::file (template ${scenario.dir}).
ParseResult parse_scenario_text(std::string_view text, const std::string& file = "<input>");

// Formats all errors, one per line, for the CLI.
std::string format_errors(const std::vector<ScenarioError>& errors);

}  // namespace chaos::scenario
