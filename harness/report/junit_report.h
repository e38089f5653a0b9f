// JUnit XML, the format CI systems (GitLab, Jenkins, GitHub test reporters) read to show which
// scenario failed and why without opening the HTML report.
//
// Mapping: one <testcase> per scenario result; failed and flaky -> <failure> whose message and body
// carry the failed expectations' explanations; error, timed_out and interrupted -> <error>; the process
// log paths and exit statuses go to <system-out>.
#pragma once

#include "expect/result.h"

#include <string>

namespace chaos::report {

// JUnit classname of a scenario: "chaos." + its first tag; else its file's folder with '/' -> '.';
// else "chaos". CI tools group test cases by it.
std::string junit_classname(const expect::ScenarioResult& s);

std::string render_junit(const expect::RunSummary& run);

}  // namespace chaos::report
