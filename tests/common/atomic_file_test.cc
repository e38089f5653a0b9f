#include "common/atomic_file.h"

#include <fiu-control.h>
#include <fiu.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chaos-atomic-" + std::to_string(::getpid()));
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

TEST_F(AtomicFileTest, WritesNewFileWithExactContents) {
  auto target = dir_ / "report.json";
  auto r = chaos::write_file_atomically(target.string(), "{\"a\":1}\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(read_all(target), "{\"a\":1}\n");
}

TEST_F(AtomicFileTest, ReplacesExistingFileAndLeavesNoTemporaryFiles) {
  auto target = dir_ / "report.json";
  ASSERT_TRUE(chaos::write_file_atomically(target.string(), "old").ok);
  ASSERT_TRUE(chaos::write_file_atomically(target.string(), "new").ok);
  EXPECT_EQ(read_all(target), "new");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(AtomicFileTest, FullDiskKeepsThePreviousFileIntactAndNamesTheFailure) {
  auto target = dir_ / "report.json";
  ASSERT_TRUE(chaos::write_file_atomically(target.string(), "previous").ok);
  ASSERT_EQ(fiu_enable("chaos/atomic_file/write", 1, nullptr, 0), 0);
  auto r = chaos::write_file_atomically(target.string(), "replacement");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot write"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("No space left"), std::string::npos) << r.error;
  EXPECT_EQ(read_all(target), "previous");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "temporary file must be removed on failure";
}

TEST_F(AtomicFileTest, UnwritableFolderIsReportedWithItsPath) {
  auto r = chaos::write_file_atomically("/nonexistent-chaos-dir/x/report.json", "x");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("/nonexistent-chaos-dir/x"), std::string::npos) << r.error;
}

}  // namespace
