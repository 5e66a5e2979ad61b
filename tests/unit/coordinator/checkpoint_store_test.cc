// Tests of the coordinator's durable checkpoints (sotto/coordinator/checkpoint_store.h): round
// trips, retention, and every damaged file of BAD_INPUTS row 22 falling back to the previous
// checkpoint (bad checksum, truncation, unknown version, a header claiming more than the file,
// a round that differs from the name), plus the leftovers of a crash mid-save.

#include "sotto/coordinator/checkpoint_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sotto::coordinator {
namespace {

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/ckpt-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<uint8_t> Payload(uint64_t round) {
    std::vector<uint8_t> p(100 + round);
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(round * 31 + i);
    return p;
  }
  static std::vector<uint8_t> ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  std::string Path(uint64_t round) const {
    return dir_ + "/ckpt-" + std::to_string(round) + ".sotto";
  }

  std::string dir_;
};

TEST_F(CheckpointStoreTest, FreshDirectoryHasNothing) {
  auto store = CheckpointStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto latest = store->LoadLatest();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_FALSE(latest->has_value());
}

TEST_F(CheckpointStoreTest, SavesLoadsAndKeepsTheNewest) {
  auto store = CheckpointStore::Open(dir_, /*keep=*/2);
  ASSERT_TRUE(store.ok());
  for (uint64_t round : {1, 2, 5}) ASSERT_TRUE(store->Save(round, Payload(round)).ok());
  auto latest = store->LoadLatest();
  ASSERT_TRUE(latest.ok() && latest->has_value()) << latest.status();
  EXPECT_EQ((*latest)->round, 5u);
  EXPECT_EQ((*latest)->payload, Payload(5));
  EXPECT_TRUE((*latest)->skipped.empty());
  EXPECT_FALSE(std::filesystem::exists(Path(1)));  // retention: keep 2
  EXPECT_TRUE(std::filesystem::exists(Path(2)));
  // Checkpoints only move forward.
  EXPECT_EQ(store->Save(5, Payload(5)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Save(3, Payload(3)).code(), StatusCode::kFailedPrecondition);
  // An empty payload is fine.
  ASSERT_TRUE(store->Save(6, {}).ok());
  auto empty = CheckpointStore::ReadFile(Path(6));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->payload.empty());
}

TEST_F(CheckpointStoreTest, DamagedNewestFallsBackToThePrevious) {
  struct Damage {
    const char* name;
    StatusCode code;
    void (*apply)(std::vector<uint8_t>&);
  };
  const Damage damages[] = {
      {"flipped payload bit", StatusCode::kDataLoss, [](std::vector<uint8_t>& b) { b[40] ^= 1; }},
      {"flipped checksum bit", StatusCode::kDataLoss,
       [](std::vector<uint8_t>& b) { b.back() ^= 0x80; }},
      {"truncated", StatusCode::kDataLoss, [](std::vector<uint8_t>& b) { b.resize(b.size() - 7); }},
      {"shorter than a header", StatusCode::kDataLoss,
       [](std::vector<uint8_t>& b) { b.resize(5); }},
      {"bad magic", StatusCode::kDataLoss, [](std::vector<uint8_t>& b) { b[0] = 'X'; }},
      {"unknown version", StatusCode::kFailedPrecondition,
       [](std::vector<uint8_t>& b) { b[8] = 99; }},
      {"length claims 2^63 bytes", StatusCode::kDataLoss,
       [](std::vector<uint8_t>& b) { b[27] = 0x80; }},
      // A valid, sealed checkpoint of round 3 under the name of round 4 (copied below).
      {"round differs from the name", StatusCode::kDataLoss, nullptr},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.name);
    std::filesystem::remove_all(dir_);
    auto store = CheckpointStore::Open(dir_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->Save(3, Payload(3)).ok());
    ASSERT_TRUE(store->Save(4, Payload(4)).ok());
    if (damage.apply != nullptr) {
      std::vector<uint8_t> bytes = ReadBytes(Path(4));
      damage.apply(bytes);
      WriteBytes(Path(4), bytes);
    } else {
      // A valid checkpoint of round 3 renamed to round 4.
      std::filesystem::copy_file(Path(3), Path(4),
                                 std::filesystem::copy_options::overwrite_existing);
    }
    auto latest = store->LoadLatest();
    ASSERT_TRUE(latest.ok() && latest->has_value()) << latest.status();
    EXPECT_EQ((*latest)->round, 3u);
    EXPECT_EQ((*latest)->payload, Payload(3));
    ASSERT_EQ((*latest)->skipped.size(), 1u);
    EXPECT_EQ((*latest)->skipped[0].path, Path(4));
    EXPECT_EQ((*latest)->skipped[0].status.code(), damage.code) << (*latest)->skipped[0].status;
  }
}

TEST_F(CheckpointStoreTest, EveryFileDamagedIsDataLossNamingThem) {
  auto store = CheckpointStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->Save(7, Payload(7)).ok());
  WriteBytes(Path(7), {1, 2, 3});
  auto latest = store->LoadLatest();
  EXPECT_EQ(latest.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(latest.status().message().find("ckpt-7.sotto"), std::string::npos) << latest.status();
}

TEST_F(CheckpointStoreTest, CrashLeftoversAreIgnoredAndCleanedUp) {
  auto store = CheckpointStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->Save(1, Payload(1)).ok());
  // A crash between write and rename leaves a temporary file; other names are not ours.
  WriteBytes(dir_ + "/.ckpt-2.tmp", {9, 9, 9});
  WriteBytes(dir_ + "/ckpt-x.sotto", {9});
  WriteBytes(dir_ + "/notes.txt", {9});
  auto latest = store->LoadLatest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->round, 1u);
  ASSERT_TRUE(store->Save(2, Payload(2)).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/.ckpt-2.tmp"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/notes.txt"));
}

TEST_F(CheckpointStoreTest, RefusesBadArguments) {
  EXPECT_EQ(CheckpointStore::Open("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckpointStore::Open(dir_, 0).status().code(), StatusCode::kInvalidArgument);
  WriteBytes(dir_ + "-file", {1});
  EXPECT_EQ(CheckpointStore::Open(dir_ + "-file/sub").status().code(), StatusCode::kUnavailable);
  std::filesystem::remove(dir_ + "-file");
}

}  // namespace
}  // namespace sotto::coordinator
