// Checkpoints: atomic versions, checksum verification, corruption falls back to the previous good one.
#include "resilience/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_env.h"

namespace chaos::resilience {
namespace {

namespace fs = std::filesystem;
using testing::TestEnv;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "chaos-ckpt-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void overwrite(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Crc32Test, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
}

TEST(CheckpointTest, SavesNumberedVersionsAndRestoresTheNewest) {
  TempDir dir;
  TestEnv t;
  CheckpointManager m({(dir.path / "sub").string(), "state", 5}, t.env());
  EXPECT_FALSE(m.restore().has_value());
  ASSERT_EQ(m.save("one").value(), 1u);
  ASSERT_EQ(m.save("two").value(), 2u);
  auto r = m.restore();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->data, "two");
  auto saved = t.recorder->of_type("checkpoint.saved");
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[1].name, "state");
  EXPECT_EQ(saved[1].fields["version"], 2);
  EXPECT_EQ(saved[1].fields["bytes"], 3);
  EXPECT_EQ(t.recorder->of_type("checkpoint.restored").at(0).fields["version"], 2);
  // No temporary files are left beside the snapshots.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "sub")) {
    EXPECT_EQ(e.path().extension(), ".ckpt") << e.path();
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST(CheckpointTest, BinaryPayloadRoundTrips) {
  TempDir dir;
  CheckpointManager m({dir.path.string(), "bin", 2});
  std::string payload("a\0b\nc\xff", 6);
  ASSERT_TRUE(m.save(payload).ok());
  EXPECT_EQ(m.restore()->data, payload);
}

TEST(CheckpointTest, CorruptNewestFallsBackToThePreviousGoodOne) {
  TempDir dir;
  TestEnv t;
  CheckpointManager m({dir.path.string(), "state", 5}, t.env());
  ASSERT_TRUE(m.save("good").ok());
  ASSERT_TRUE(m.save("newest").ok());
  std::string bytes = read(m.path_of(2));
  bytes.back() = 'X';  // flip the payload, keep the size
  overwrite(m.path_of(2), bytes);
  auto r = m.restore();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->version, 1u);
  EXPECT_EQ(r->data, "good");
  auto bad = t.recorder->of_type("checkpoint.corrupt");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].fields["version"], 2);
  EXPECT_EQ(bad[0].fields["reason"].get<std::string>().rfind("checksum mismatch", 0), 0u);
}

TEST(CheckpointTest, TruncatedAndHeaderlessFilesAreCorruptWithAReason) {
  TempDir dir;
  CheckpointManager m({dir.path.string(), "state", 5});
  ASSERT_TRUE(m.save("hello world").ok());
  ASSERT_TRUE(m.save("second").ok());
  ASSERT_TRUE(m.save("third").ok());
  std::string b1 = read(m.path_of(3));
  overwrite(m.path_of(3), b1.substr(0, b1.size() - 2));
  overwrite(m.path_of(2), "garbage");
  auto l3 = m.load(3);
  ASSERT_FALSE(l3.ok());
  EXPECT_EQ(l3.error().message, "size mismatch: header says 5 bytes, file has 3");
  auto l2 = m.load(2);
  ASSERT_FALSE(l2.ok());
  EXPECT_EQ(l2.error().message, "bad header");
  EXPECT_EQ(m.restore()->data, "hello world");
}

TEST(CheckpointTest, AllCorruptRestoresNothing) {
  TempDir dir;
  CheckpointManager m({dir.path.string(), "state", 5});
  ASSERT_TRUE(m.save("x").ok());
  overwrite(m.path_of(1), "");
  EXPECT_FALSE(m.restore().has_value());
}

TEST(CheckpointTest, PrunesToTheNewestKeptVersions) {
  TempDir dir;
  CheckpointManager m({dir.path.string(), "state", 3});
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(m.save("v" + std::to_string(i)).ok());
  EXPECT_EQ(m.versions(), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(m.restore()->data, "v6");
}

// A disk that silently damages every save: `keep` corrupt versions in a row must not prune the last
// good one, and once a good version exists again the old one is released.
TEST(CheckpointTest, PruningNeverDeletesTheNewestVersionThatVerifies) {
  TestEnv t;
  TempDir dir;
  CheckpointManager m({dir.path.string(), "state", 2}, t.env());
  ASSERT_TRUE(m.save("good").ok());
  bool disk_corrupts = true;
  // checkpoint.saved is published after the write and before pruning: damage the file right there.
  t.publisher.subscribe([&](const Event& e) {
    if (disk_corrupts && e.type == "checkpoint.saved")
      overwrite(m.path_of(e.fields["version"].get<uint64_t>()), "CHAOS-CHECKPOINT v1 garbage\n");
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(m.save("lost").ok());
  EXPECT_EQ(m.versions(), (std::vector<uint64_t>{1, 3, 4}))
      << "version 1 (the only good one) must survive three corrupt saves with keep = 2";
  auto restored = m.restore();
  ASSERT_TRUE(restored.has_value()) << "the last good checkpoint was pruned";
  EXPECT_EQ(restored->version, 1u);
  EXPECT_EQ(restored->data, "good");
  EXPECT_EQ(t.recorder->count("checkpoint.corrupt"), 2u);  // versions 4 and 3, newest first

  disk_corrupts = false;
  ASSERT_TRUE(m.save("fresh").ok());
  EXPECT_EQ(m.versions(), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(m.restore()->data, "fresh");
}

TEST(CheckpointTest, InstancesWithDifferentNamesShareAFolderSafely) {
  TempDir dir;
  CheckpointManager a({dir.path.string(), "a", 1}), b({dir.path.string(), "ab", 1});
  ASSERT_TRUE(a.save("A").ok());
  ASSERT_TRUE(b.save("B").ok());
  ASSERT_TRUE(a.save("A2").ok());
  EXPECT_EQ(a.restore()->data, "A2");
  EXPECT_EQ(b.restore()->data, "B");
}

TEST(CheckpointTest, RejectsUnsafeNames) {
  EXPECT_THROW(CheckpointManager({"/tmp", "../evil", 1}), std::invalid_argument);
  EXPECT_THROW(CheckpointManager({"", "x", 1}), std::invalid_argument);
}

TEST(CheckpointTest, SaveIntoAnUnwritablePlaceReportsTheError) {
  TempDir dir;
  overwrite((dir.path / "file").string(), "not a folder");
  CheckpointManager m({(dir.path / "file").string(), "state", 1});
  auto r = m.save("x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("file"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace chaos::resilience
