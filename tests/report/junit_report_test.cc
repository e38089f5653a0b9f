// JUnit XML: must be well-formed whatever the scenario values contain, and its counts must match
// the verdicts. Parsed by python3's xml.etree (an XML parser we did not write).
#include "report/junit_report.h"

#include "fixtures.h"
#include "subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace chaos::report {
namespace {

namespace fs = std::filesystem;

TEST(JunitClassname, ComesFromTheFirstTagThenTheFileFolder) {
  auto s = testing::passing_scenario();
  EXPECT_EQ(junit_classname(s), "chaos.breaker");
  s.tags.clear();
  EXPECT_EQ(junit_classname(s), "scenarios.breaker");
  s.file = "/abs/dir/x.json";
  EXPECT_EQ(junit_classname(s), "abs.dir");
  s.file = "x.json";
  EXPECT_EQ(junit_classname(s), "chaos");
}

TEST(JunitReport, MapsVerdictsToFailuresAndErrors) {
  std::string xml = render_junit(testing::fixture_run());
  EXPECT_NE(xml.find("<testsuites name=\"chaos-harness\" tests=\"4\" failures=\"1\" errors=\"2\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"chaos-harness\" tests=\"4\" failures=\"1\" errors=\"2\""), std::string::npos);
  EXPECT_NE(xml.find("<testcase name=\"rpc timeouts open the breaker #2\""), std::string::npos) << "repeat suffix";
  EXPECT_NE(xml.find("time=\"1.800\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"2 of 3 expectations failed: expect[0]: breaker rpc never left CLOSED"),
            std::string::npos);
  EXPECT_NE(xml.find("(and 1 more)\" type=\"failed\">"), std::string::npos);
  EXPECT_NE(xml.find("why: 20 of 40 requests failed"), std::string::npos);
  EXPECT_NE(xml.find("<error message=\"service cache never became ready"), std::string::npos);
  EXPECT_NE(xml.find("type=\"timed_out\""), std::string::npos);
  EXPECT_NE(xml.find("log cache: logs/cache.log (exited 1)"), std::string::npos);
}

TEST(JunitReport, FlakyIsAFailure) {
  expect::RunSummary run;
  run.scenarios.push_back(testing::passing_scenario());
  run.scenarios[0].verdict = expect::Verdict::kFlaky;
  std::string xml = render_junit(run);
  EXPECT_NE(xml.find("failures=\"1\" errors=\"0\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"flaky: the verdict differed across repeats\" type=\"flaky\">"),
            std::string::npos);
}

TEST(JunitReport, ControlCharactersAndInvalidUtf8NeverReachTheXml) {
  std::string xml = render_junit(testing::fixture_run());
  for (unsigned char c : xml) {
    EXPECT_TRUE(c >= 0x20 || c == '\n' || c == '\t') << "raw control character " << static_cast<int>(c);
    if (c < 0x20 && c != '\n' && c != '\t') break;
  }
  EXPECT_EQ(xml.find("\xff"), std::string::npos);
  EXPECT_NE(xml.find("\\x1b[31mred"), std::string::npos);
}

TEST(JunitReport, ParsesAsXmlAndCountsMatch) {
  const char* python = "/usr/bin/python3";
  if (!testing::is_executable(python)) GTEST_SKIP() << python << " is missing";
  auto path = fs::temp_directory_path() / ("chaos-report-junit-" + std::to_string(::getpid()) + ".xml");
  std::ofstream(path, std::ios::binary) << render_junit(testing::fixture_run());
  const std::string script = R"py(
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find('testsuite')
cases = suite.findall('testcase')
got = (root.tag, len(cases), int(suite.get('tests')), int(suite.get('failures')), int(suite.get('errors')),
       sum(1 for c in cases if c.find('failure') is not None), sum(1 for c in cases if c.find('error') is not None))
print(got)
names = [c.get('name') for c in cases]
assert got == ('testsuites', 4, 4, 1, 2, 1, 2), got
assert names[3] == '<script>alert(1)</script>', names
assert cases[3].get('file') == 'scenarios/<evil>/"quoted" & \'single\'.json', cases[3].get('file')
assert 'CDATA end ]]>' in cases[3].find('error').text
assert all(c.find('system-out') is not None for c in cases)
)py";
  auto r = testing::run_process({python, "-c", script, path.string()}, std::chrono::seconds(60));
  fs::remove(path);
  EXPECT_EQ(r.exit_code, 0) << r.describe() << r.out;
}

}  // namespace
}  // namespace chaos::report
