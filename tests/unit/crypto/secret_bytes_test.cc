#include "sotto/crypto/secret_bytes.h"

#include <gtest/gtest.h>

#include <concepts>
#include <ostream>
#include <type_traits>
#include <utility>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FailingRandom;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 20240611;

template <typename T>
concept Streamable = requires(std::ostream& os, const T& value) {
  os << value;
};

// Secrets cannot be copied by accident nor streamed into a log.
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(!Streamable<SecretBytes>);
static_assert(!std::is_copy_constructible_v<Seed>);
static_assert(!Streamable<Seed>);

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.bytes().empty());
}

TEST(SecretBytesTest, SizedConstructorZeroFills) {
  SecretBytes s(37);
  ASSERT_EQ(s.size(), 37u);
  for (uint8_t b : s.bytes()) EXPECT_EQ(b, 0);
}

TEST(SecretBytesTest, CopyFromKeepsBytes) {
  const std::vector<uint8_t> raw = {1, 2, 3, 250};
  SecretBytes s = SecretBytes::CopyFrom(raw);
  EXPECT_EQ(std::vector<uint8_t>(s.bytes().begin(), s.bytes().end()), raw);
}

TEST(SecretBytesTest, EqualityComparesContentAndSize) {
  const std::vector<uint8_t> a = {1, 2, 3}, b = {1, 2, 4}, c = {1, 2};
  EXPECT_TRUE(SecretBytes::CopyFrom(a) == SecretBytes::CopyFrom(a));
  EXPECT_FALSE(SecretBytes::CopyFrom(a) == SecretBytes::CopyFrom(b));
  EXPECT_FALSE(SecretBytes::CopyFrom(a) == SecretBytes::CopyFrom(c));
  EXPECT_TRUE(SecretBytes() == SecretBytes(0));
}

TEST(SecretBytesTest, MoveConstructionEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyFrom(std::vector<uint8_t>{9, 8, 7});
  const uint8_t* buffer = a.bytes().data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.bytes().data(), buffer);  // moved, not copied
  EXPECT_TRUE(a.empty());               // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a.bytes().data(), nullptr);
}

TEST(SecretBytesTest, MoveAssignmentReplacesAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyFrom(std::vector<uint8_t>{1, 1});
  SecretBytes b = SecretBytes::CopyFrom(std::vector<uint8_t>{2, 2, 2});
  a = std::move(b);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.bytes()[0], 2);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  SecretBytes& self = a;
  a = std::move(self);  // self-move keeps the value
  EXPECT_EQ(a.size(), 3u);
}

TEST(SecretBytesTest, CloneIsAnIndependentCopy) {
  SecretBytes a = SecretBytes::CopyFrom(std::vector<uint8_t>{5, 6});
  SecretBytes b = a.Clone();
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.bytes().data(), b.bytes().data());
  b.mutable_bytes()[0] = 0;
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a.bytes()[0], 5);
}

TEST(SecretBytesTest, GenerateIsReproducibleWithASeededSource) {
  SeededRandom r1(kSeed), r2(kSeed), r3(kSeed + 1);
  auto a = SecretBytes::Generate(32, r1);
  auto b = SecretBytes::Generate(32, r2);
  auto c = SecretBytes::Generate(32, r3);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(*a == *b) << "seed " << kSeed;
  EXPECT_FALSE(*a == *c) << "seed " << kSeed;
}

TEST(SecretBytesTest, GeneratePropagatesSourceErrors) {
  FailingRandom failing;
  EXPECT_EQ(SecretBytes::Generate(16, failing).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Seed::Generate(failing).status().code(), StatusCode::kUnavailable);
}

TEST(SecretBytesTest, PrintingRedactsTheContents) {
  std::vector<uint8_t> raw(16, 0xab);
  SecretBytes s = SecretBytes::CopyFrom(raw);
  const std::string printed = ::testing::PrintToString(s);
  EXPECT_EQ(printed.find(ToHex(raw).substr(0, 4)), std::string::npos) << printed;
  EXPECT_EQ(printed.find("171"), std::string::npos) << printed;  // 0xab in decimal
  EXPECT_NE(printed.find("redacted"), std::string::npos) << printed;
}

TEST(SizedSecretTest, FromBytesChecksTheLength) {
  EXPECT_TRUE(Seed::FromBytes(std::vector<uint8_t>(kSeedBytes, 1)).ok());
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{64}}) {
    EXPECT_EQ(Seed::FromBytes(std::vector<uint8_t>(size, 1)).status().code(),
              StatusCode::kInvalidArgument)
        << size;
  }
}

TEST(SizedSecretTest, GenerateCloneCompareAndMove) {
  SeededRandom random(kSeed);
  auto seed = Seed::Generate(random);
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(seed->bytes().size(), kSeedBytes);
  Seed copy = seed->Clone();
  EXPECT_TRUE(copy == *seed);
  Seed moved = std::move(copy);
  EXPECT_TRUE(moved == *seed);
  EXPECT_TRUE(copy.bytes().empty());  // NOLINT(bugprone-use-after-move)
  auto other = Seed::Generate(random);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other == *seed);
  const std::string printed = ::testing::PrintToString(*seed);
  EXPECT_NE(printed.find("redacted"), std::string::npos) << printed;
}

}  // namespace
}  // namespace sotto::crypto
