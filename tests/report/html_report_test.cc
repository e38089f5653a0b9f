// The HTML report: structure, escaping of hostile values, and self-containment. The hostile-value
// check parses the page with python3's html.parser (a real HTML tokenizer), so "escaped" means what a
// browser would see, not what a substring search guesses.
#include "report/html_report.h"

#include "expect/compact.h"
#include "fixtures.h"
#include "subprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace chaos::report {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(HtmlReport, HasASummaryRowAndASectionPerScenario) {
  std::string html = render_html(testing::fixture_run());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<section class=\"card scenario\""), 4u);
  EXPECT_EQ(count(html, "<svg class=\"timeline\""), 4u);
  for (const char* id : {"#s0", "#s1", "#s2", "#s3"}) EXPECT_NE(html.find(std::string("href=\"") + id), std::string::npos);
  EXPECT_NE(html.find("db outage opens the breaker and heals"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge passed\">PASSED</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge failed\">FAILED</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge error\">ERROR</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge timed_out\">TIMED OUT</span>"), std::string::npos);
  EXPECT_NE(html.find(">2 / 3</td>"), std::string::npos) << "failed expectations count of the failing scenario";
}

TEST(HtmlReport, HighlightsFailedExpectationsWithTheirExplanation) {
  std::string html = render_html(testing::fixture_run());
  EXPECT_NE(html.find("Expectations — 1 of 3 passed"), std::string::npos);
  size_t row = html.find("<tr class=\"fail\"><td class=\"mark\">✗</td><td><b>breaker rpc opens within 300 ms");
  ASSERT_NE(row, std::string::npos);
  size_t why = html.find("<div class=\"explanation\">breaker rpc never left CLOSED", row);
  EXPECT_NE(why, std::string::npos);
  EXPECT_NE(html.find("event #999 (not in the timeline)"), std::string::npos);
}

TEST(HtmlReport, ShowsPhaseMetricsLogsAndTheRawTimeline) {
  std::string html = render_html(testing::fixture_run());
  EXPECT_NE(html.find("<td>db-down</td>"), std::string::npos);
  EXPECT_NE(html.find("75.0%"), std::string::npos);
  EXPECT_NE(html.find("207.5 ms"), std::string::npos);  // p99 of db-down
  EXPECT_NE(html.find("<a href=\"logs/sut.log\">"), std::string::npos);
  EXPECT_NE(html.find("cache — exited 1"), std::string::npos);
  EXPECT_NE(html.find("Address already in use"), std::string::npos);
  EXPECT_NE(html.find("<details class=\"log crashed\" open>"), std::string::npos);
  EXPECT_NE(html.find("<details class=\"raw\"><summary>Raw timeline — 19 events, 240 request samples"),
            std::string::npos);
}

TEST(HtmlReport, ACompactedRepeatSaysHowManyEventsItKeptAndWhere) {
  expect::RunSummary run = testing::fixture_run();
  const size_t observed = run.scenarios[0].timeline.events.size();
  expect::compact_repeat(run.scenarios[0], "repeat 1 keeps the whole timeline");
  std::string html = render_html(run);
  EXPECT_NE(html.find(std::to_string(run.scenarios[0].timeline.events.size()) + " of " + std::to_string(observed) +
                      " observed events kept: repeat 1 keeps the whole timeline"),
            std::string::npos);
  const size_t from = html.find("id=\"s0\""), to = html.find("id=\"s1\"");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  const std::string section = html.substr(from, to - from);
  EXPECT_EQ(section.find("(not in the timeline)"), std::string::npos) << "evidence of the compacted run still resolves";
  EXPECT_NE(section.find("<ul class=\"evidence mono\">"), std::string::npos);
}

TEST(HtmlReport, RawTimelineIsCappedWithANote) {
  auto html = render_html(testing::fixture_run(), HtmlOptions{5});
  EXPECT_NE(html.find("Showing the first 5 of 19 events"), std::string::npos);
}

TEST(HtmlReport, IsSelfContainedAndForbidsScriptsAndFetches) {
  std::string html = lower(render_html(testing::fixture_run()));
  EXPECT_NE(html.find("content-security-policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // The only absolute URL is the SVG namespace, which is never fetched.
  EXPECT_EQ(count(html, "http://") + count(html, "https://"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST(HtmlReport, HostileValuesStayText) {
  std::string html = render_html(testing::fixture_run());
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("javascript:alert(12)\""), std::string::npos) << "a log path with a scheme must not be a link";
  EXPECT_NE(html.find("<code>javascript:alert(12)</code>"), std::string::npos);
  EXPECT_NE(html.find("\\x1b[31mred"), std::string::npos) << "control characters are shown, not passed through";
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find('\x07'), std::string::npos);
}

TEST(HtmlReport, AnHtmlParserFindsNoInjectedElementOrHandler) {
  const char* python = "/usr/bin/python3";
  if (!testing::is_executable(python)) GTEST_SKIP() << python << " is missing";
  auto path = fs::temp_directory_path() / ("chaos-report-html-" + std::to_string(::getpid()) + ".html");
  std::ofstream(path, std::ios::binary) << render_html(testing::fixture_run());
  // Every start tag must be one the writer emits, no attribute may be an event handler, and the
  // hostile name must come back as text.
  const std::string script = R"py(
import sys
from html.parser import HTMLParser
allowed = {'html','head','meta','title','style','body','main','header','h1','h2','h3','p','b','i','div','span',
           'section','table','thead','tbody','tr','th','td','a','code','pre','details','summary','ul','li','br',
           'footer','svg','g','rect','line','text','circle','path'}
bad, texts = [], []
class P(HTMLParser):
    def handle_starttag(self, tag, attrs):
        if tag not in allowed: bad.append('tag ' + tag)
        for k, v in attrs:
            if k.startswith('on'): bad.append('handler %s on %s' % (k, tag))
            if k == 'href' and v and not (v.startswith('#') or v.startswith('logs/')): bad.append('href ' + v)
    def handle_data(self, d): texts.append(d)
P().feed(open(sys.argv[1], encoding='utf-8').read())
text = ''.join(texts)
for want in ['<script>alert(1)</script>', '<svg onload=alert(4)>', '<img src=x onerror=alert(2)>']:
    if want not in text: bad.append('missing text ' + want)
print('\n'.join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
)py";
  auto r = testing::run_process({python, "-c", script, path.string()}, std::chrono::seconds(60));
  fs::remove(path);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST(HtmlReport, AnEmptyRunStillRenders) {
  expect::RunSummary run;
  run.interrupted = true;
  std::string html = render_html(run);
  EXPECT_NE(html.find("No scenario ran."), std::string::npos);
  EXPECT_NE(html.find("this report is partial"), std::string::npos);
}

}  // namespace
}  // namespace chaos::report
