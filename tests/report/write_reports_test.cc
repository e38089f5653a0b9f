// write_reports: the entry point the CLI calls. Files appear whole or not at all; failures name paths.
#include "report/report.h"

#include "fixtures.h"

#include <fiu-control.h>
#include <fiu.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace chaos::report {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class WriteReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chaos-report-write-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fiu_init(0);
  }
  void TearDown() override {
    fiu_disable("chaos/atomic_file/write");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(WriteReportsTest, CreatesTheFolderAndWritesAllThreeFiles) {
  auto out = dir_ / "nested" / "reports";
  auto r = write_reports(testing::fixture_run(), out.string(), Formats::all());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.written.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(read_all(out / "latest.json"))["schema_version"], 1);
  EXPECT_EQ(read_all(out / "latest.html"), render_html(testing::fixture_run()));
  EXPECT_EQ(read_all(out / "junit.xml"), render_junit(testing::fixture_run()));
}

TEST_F(WriteReportsTest, WritesOnlyTheSelectedFormats) {
  auto parsed = parse_formats("junit");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  auto r = write_reports(testing::fixture_run(), dir_.string(), parsed.formats);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(fs::exists(dir_ / "junit.xml"));
  EXPECT_FALSE(fs::exists(dir_ / "latest.json"));
  EXPECT_FALSE(fs::exists(dir_ / "latest.html"));
}

TEST(ParseFormats, AcceptsAnyOrderAndRejectsUnknownOrEmptyEntries) {
  auto all = parse_formats("html,json,junit,json");
  ASSERT_TRUE(all.ok);
  EXPECT_TRUE(all.formats.json && all.formats.html && all.formats.junit);
  auto bad = parse_formats("json,pdf");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("\"pdf\""), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("json, html, junit"), std::string::npos) << bad.error;
  EXPECT_FALSE(parse_formats("").ok);
  EXPECT_FALSE(parse_formats("json,").ok);
}

TEST_F(WriteReportsTest, AFolderThatCannotBeCreatedIsAClearError) {
  std::ofstream(dir_ / "file") << "x";
  auto target = (dir_ / "file" / "reports").string();
  auto r = write_reports(testing::fixture_run(), target, Formats::all());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot create report folder " + target), std::string::npos) << r.error;
  EXPECT_TRUE(r.written.empty());
}

TEST_F(WriteReportsTest, AFileInPlaceOfTheFolderIsAClearError) {
  auto target = dir_ / "reports";
  std::ofstream(target) << "x";
  auto r = write_reports(testing::fixture_run(), target.string(), Formats::all());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find(target.string()), std::string::npos) << r.error;
  EXPECT_EQ(read_all(target), "x");
}

TEST_F(WriteReportsTest, AFullDiskKeepsThePreviousReportsIntactAndNamesEachPath) {
  ASSERT_TRUE(write_reports(testing::fixture_run(), dir_.string(), Formats::all()).ok);
  const std::string json_before = read_all(dir_ / "latest.json");
  const std::string html_before = read_all(dir_ / "latest.html");

  auto changed = testing::fixture_run();
  changed.scenarios.pop_back();
  ASSERT_EQ(fiu_enable("chaos/atomic_file/write", 1, nullptr, 0), 0);
  auto r = write_reports(changed, dir_.string(), Formats::all());
  fiu_disable("chaos/atomic_file/write");

  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.written.empty());
  for (const char* name : {"latest.json", "latest.html", "junit.xml"}) {
    EXPECT_NE(r.error.find((dir_ / name).string()), std::string::npos) << name << " in: " << r.error;
  }
  EXPECT_NE(r.error.find("No space left on device"), std::string::npos) << r.error;
  EXPECT_EQ(read_all(dir_ / "latest.json"), json_before);
  EXPECT_EQ(read_all(dir_ / "latest.html"), html_before);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 3u) << "no temporary file may be left behind";
}

TEST_F(WriteReportsTest, AnEmptyFolderNameIsRejected) {
  auto r = write_reports(testing::fixture_run(), "", Formats::all());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("report folder is empty"), std::string::npos);
}

}  // namespace
}  // namespace chaos::report
