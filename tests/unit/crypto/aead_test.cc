#include "sotto/crypto/aead.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FailingRandom;

constexpr uint64_t kSeed = 8439;

class AeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = Seed::Generate(random_);
    auto other = Seed::Generate(random_);
    ASSERT_TRUE(key.ok() && other.ok());
    key_ = std::make_unique<Seed>(std::move(key).value());
    other_key_ = std::make_unique<Seed>(std::move(other).value());
  }

  std::vector<uint8_t> Seal(const AeadContext& context, const std::vector<uint8_t>& plaintext) {
    auto sealed = AeadSeal(*key_, context, plaintext, random_);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : std::vector<uint8_t>();
  }

  SeededRandom random_{kSeed};
  std::unique_ptr<Seed> key_, other_key_;
  const AeadContext context_{.run_id = 2, .round_id = 41, .sender_id = 7, .recipient_id = 12};
  const std::vector<uint8_t> share_ = std::vector<uint8_t>(96, 0x5a);
};

TEST_F(AeadTest, RoundTrip) {
  std::vector<uint8_t> sealed = Seal(context_, share_);
  EXPECT_EQ(sealed.size(), share_.size() + kAeadOverheadBytes);
  auto opened = AeadOpen(*key_, context_, sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(std::vector<uint8_t>(opened->bytes().begin(), opened->bytes().end()), share_);
}

TEST_F(AeadTest, EmptyPlaintextRoundTrip) {
  std::vector<uint8_t> sealed = Seal(context_, {});
  EXPECT_EQ(sealed.size(), kAeadOverheadBytes);
  auto opened = AeadOpen(*key_, context_, sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
}

TEST_F(AeadTest, NoncesAreFresh) {
  std::vector<uint8_t> a = Seal(context_, share_);
  std::vector<uint8_t> b = Seal(context_, share_);
  EXPECT_NE(a, b);
}

// BAD_INPUTS row 17: a message replayed into another context fails like a forged one.
TEST_F(AeadTest, WrongContextIsUnauthenticated) {
  const std::vector<uint8_t> sealed = Seal(context_, share_);
  std::vector<AeadContext> wrong(5, context_);
  wrong[0].run_id += 1;
  wrong[1].round_id += 1;
  wrong[2].sender_id += 1;
  wrong[3].recipient_id += 1;
  std::swap(wrong[4].sender_id, wrong[4].recipient_id);
  for (size_t i = 0; i < wrong.size(); ++i) {
    EXPECT_EQ(AeadOpen(*key_, wrong[i], sealed).status().code(), StatusCode::kUnauthenticated)
        << "variant " << i;
  }
}

TEST_F(AeadTest, WrongKeyIsUnauthenticated) {
  const std::vector<uint8_t> sealed = Seal(context_, share_);
  EXPECT_EQ(AeadOpen(*other_key_, context_, sealed).status().code(), StatusCode::kUnauthenticated);
}

// Every single flipped bit (nonce, ciphertext, tag) is caught.
TEST_F(AeadTest, EveryBitFlipIsUnauthenticated) {
  const std::vector<uint8_t> short_share(8, 0x33);
  const std::vector<uint8_t> sealed = Seal(context_, short_share);
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::vector<uint8_t> tampered = sealed;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_EQ(AeadOpen(*key_, context_, tampered).status().code(), StatusCode::kUnauthenticated)
        << "bit " << bit;
  }
}

TEST_F(AeadTest, TruncatedMessages) {
  const std::vector<uint8_t> sealed = Seal(context_, share_);
  // Shorter than nonce + tag: malformed.
  for (size_t size : {size_t{0}, size_t{1}, kAeadNonceBytes, kAeadOverheadBytes - 1}) {
    std::vector<uint8_t> cut(sealed.begin(), sealed.begin() + static_cast<ptrdiff_t>(size));
    EXPECT_EQ(AeadOpen(*key_, context_, cut).status().code(), StatusCode::kInvalidArgument) << size;
  }
  // Long enough to parse but cut or extended: the tag fails.
  std::vector<uint8_t> cut(sealed.begin(), sealed.end() - 1);
  EXPECT_EQ(AeadOpen(*key_, context_, cut).status().code(), StatusCode::kUnauthenticated);
  std::vector<uint8_t> longer = sealed;
  longer.push_back(0);
  EXPECT_EQ(AeadOpen(*key_, context_, longer).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AeadTest, SealPropagatesSourceErrors) {
  FailingRandom failing;
  EXPECT_EQ(AeadSeal(*key_, context_, share_, failing).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sotto::crypto
