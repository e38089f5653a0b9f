// Renders the HTML report in headless Chromium, as a person would open it: the DOM must hold every
// scenario and its SVG timeline, no injected script may exist, and the screenshot must show the
// timeline's state colours (so the SVG really drew, the page is not blank). The screenshot and page
// are kept in build*/test-artifacts/report_render/ for a person to look at.
#include "report/report.h"

#include "fixtures.h"
#include "png.h"
#include "subprocess.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chaos::report {
namespace {

namespace fs = std::filesystem;

const char kChromium[] = "/usr/bin/chromium";
constexpr auto kTimeout = std::chrono::seconds(90);

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class HtmlRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_executable(kChromium)) {
      GTEST_SKIP() << kChromium << " is missing: install the Debian package chromium to run the render test";
    }
    out_dir_ = fs::path(CHAOS_BIN_DIR).parent_path() / "test-artifacts" / "report_render";
    auto r = write_reports(testing::fixture_run(), out_dir_.string(), Formats::all());
    ASSERT_TRUE(r.ok) << r.error;
    profile_ = fs::temp_directory_path() / ("chaos-chromium-" + std::to_string(::getpid()));
    fs::remove_all(profile_);
    fs::create_directories(profile_);
  }
  void TearDown() override {
    if (!profile_.empty()) fs::remove_all(profile_);
  }

  testing::ProcessOutcome chromium(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{kChromium,
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-quic",
                                  "--no-first-run",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--hide-scrollbars",
                                  "--user-data-dir=" + profile_.string(),
                                  "--window-size=1280,2000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("file://" + (out_dir_ / kHtmlFileName).string());
    return testing::run_process(argv, kTimeout);
  }

  fs::path out_dir_, profile_;
};

TEST_F(HtmlRenderTest, DomHoldsEveryScenarioAndTimelineAndNoScript) {
  auto r = chromium({"--dump-dom"});
  ASSERT_FALSE(r.timed_out) << r.describe();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string& dom = r.out;
  for (const auto& s : testing::fixture_run().scenarios) {
    if (s.name == testing::kNastyName) {
      EXPECT_NE(dom.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << "nasty name as text";
    } else {
      EXPECT_NE(dom.find(s.name), std::string::npos) << s.name;
    }
  }
  size_t svgs = 0;
  for (size_t p = dom.find("<svg class=\"timeline\""); p != std::string::npos;
       p = dom.find("<svg class=\"timeline\"", p + 1)) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 4u);
  EXPECT_EQ(dom.find("<script"), std::string::npos) << "the browser built a script element";
}

TEST_F(HtmlRenderTest, ScreenshotShowsTheTimelineStateColours) {
  auto png_path = out_dir_ / "latest.png";
  fs::remove(png_path);
  auto r = chromium({"--screenshot=" + png_path.string()});
  ASSERT_FALSE(r.timed_out) << r.describe();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  testing::Image img;
  std::string error;
  ASSERT_TRUE(testing::decode_png(read_all(png_path), img, error)) << png_path << ": " << error;
  EXPECT_EQ(img.width, 1280u);
  EXPECT_EQ(img.height, 2000u);

  // A blank page is one colour. Count pixels away from the page background, and look for the exact
  // CLOSED green, OPEN red and HALF_OPEN amber of the breaker lanes.
  auto near = [](const uint8_t* px, uint32_t rgb) {
    auto d = [](int a, int b) { return std::abs(a - b) <= 6; };
    return d(px[0], int(rgb >> 16)) && d(px[1], int((rgb >> 8) & 0xFF)) && d(px[2], int(rgb & 0xFF));
  };
  size_t non_background = 0, closed = 0, open = 0, half_open = 0;
  const size_t pixels = size_t(img.width) * img.height;
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* px = &img.rgb[i * 3];
    if (!near(px, 0xf8f9fa) && !near(px, 0xffffff)) ++non_background;
    if (near(px, 0x2f9e44)) ++closed;
    if (near(px, 0xe03131)) ++open;
    if (near(px, 0xf08c00)) ++half_open;
  }
  EXPECT_GT(non_background, pixels / 50) << "the page looks blank";
  EXPECT_GT(closed, 2000u) << "no CLOSED band visible";
  EXPECT_GT(open, 1000u) << "no OPEN band visible";
  EXPECT_GT(half_open, 100u) << "no HALF_OPEN band visible";
}

}  // namespace
}  // namespace chaos::report
