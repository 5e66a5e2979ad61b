// Tests of the private eight-lane ChaCha20 core (crypto/src/chacha20_gather.h), every ISA
// variant this CPU can run, against RFC 8439 and against libsodium (through the libsodium
// variant of MaskPrg's dense path, crypto_stream_chacha20_ietf_xor_ic).

#include "chacha20_gather.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.h"
#include "mask_prg_internal.h"
#include "sotto/crypto/mask_prg.h"

namespace sotto::crypto::internal {
namespace {

using ::sotto::crypto::testing::FromHex;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 8439;

std::string IsaName(GatherIsa isa) {
  switch (isa) {
    case GatherIsa::kBaseline:
      return "Baseline";
    case GatherIsa::kAvx2:
      return "Avx2";
    case GatherIsa::kAvx512:
      return "Avx512";
  }
  return "Unknown";
}

class ChaCha20GatherTest : public ::testing::TestWithParam<GatherIsa> {
 protected:
  // Runs the variant, or skips the test where the CPU lacks it.
  bool Run(const ChaChaKey& key, const uint32_t* counters, uint32_t* out) {
    return ChaCha20GatherWith(GetParam(), key, counters, out);
  }
};

// Block `lane` of a gather output, as the 64 keystream bytes.
std::vector<uint8_t> Block(const uint32_t* words, size_t lane) {
  std::vector<uint8_t> bytes(64);
  for (size_t w = 0; w < 16; ++w) {
    const uint32_t word = words[w * kGatherLanes + lane];
    std::memcpy(&bytes[4 * w], &word, 4);
  }
  return bytes;
}

// RFC 8439 section 2.3.2 in every lane that asks for block 1, appendix A.1 #1 (block 0 of the
// zero key) checked separately.
TEST_P(ChaCha20GatherTest, Rfc8439Vectors) {
  std::vector<uint8_t> key_bytes(32);
  for (size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<uint8_t>(i);
  const ChaChaKey key = MakeChaChaKey(key_bytes.data(), 0x4a00000009000000ULL);
  const uint32_t counters[kGatherLanes] = {1, 5, 1, 0, 1, 1, 9, 1};
  uint32_t out[kGatherOutputWords];
  if (!Run(key, counters, out)) {
    GTEST_SKIP() << IsaName(GetParam()) << " is not supported on this CPU";
  }
  for (size_t lane : {0u, 2u, 4u, 5u, 7u}) {
    EXPECT_EQ(ToHex(Block(out, lane)),
              "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
              "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
        << "lane " << lane;
  }
  const std::vector<uint8_t> zero(32, 0);
  const ChaChaKey zero_key = MakeChaChaKey(zero.data(), 0);
  const uint32_t zeros[kGatherLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(Run(zero_key, zeros, out));
  EXPECT_EQ(ToHex(Block(out, 3)),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
}

// Random keys, streams and counters: each lane equals libsodium's block.
TEST_P(ChaCha20GatherTest, MatchesLibsodium) {
  Prng prng(kSeed);
  SeededRandom random(kSeed);
  for (int trial = 0; trial < 50; ++trial) {
    auto seed = Seed::Generate(random);
    ASSERT_TRUE(seed.ok());
    const uint64_t stream = prng.Next();
    const ChaChaKey key = MakeChaChaKey(seed->bytes().data(), stream);
    uint32_t counters[kGatherLanes];
    for (uint32_t& c : counters) c = static_cast<uint32_t>(prng.UniformInt(uint64_t{1} << 28));
    uint32_t out[kGatherOutputWords];
    if (!Run(key, counters, out)) {
      GTEST_SKIP() << IsaName(GetParam()) << " is not supported on this CPU";
    }
    for (size_t lane = 0; lane < kGatherLanes; ++lane) {
      std::vector<uint32_t> words(16);
      ASSERT_TRUE(ApplyDenseWith(DenseIsa::kSodium, *seed, stream, uint64_t{counters[lane]} * 16,
                                 std::span<uint32_t>(words), MaskOp::kSet)
                      .ok());
      for (size_t w = 0; w < 16; ++w) {
        ASSERT_EQ(out[w * kGatherLanes + lane], words[w])
            << "trial " << trial << " lane " << lane << " word " << w << " seed " << kSeed;
      }
    }
  }
}

// Counters near 2^32 (beyond MaskPrg's range) agree with the baseline variant.
TEST_P(ChaCha20GatherTest, AgreesWithBaselineOnLargeCounters) {
  std::vector<uint8_t> key_bytes(32, 0x77);
  const ChaChaKey key = MakeChaChaKey(key_bytes.data(), 3);
  const uint32_t counters[kGatherLanes] = {0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff,
                                           1,          0,          0xffffffff, 12345};
  uint32_t out[kGatherOutputWords], baseline[kGatherOutputWords];
  if (!Run(key, counters, out)) {
    GTEST_SKIP() << IsaName(GetParam()) << " is not supported on this CPU";
  }
  ASSERT_TRUE(ChaCha20GatherWith(GatherIsa::kBaseline, key, counters, baseline));
  EXPECT_EQ(std::memcmp(out, baseline, sizeof(out)), 0);
}

INSTANTIATE_TEST_SUITE_P(Isas, ChaCha20GatherTest,
                         ::testing::Values(GatherIsa::kBaseline, GatherIsa::kAvx2,
                                           GatherIsa::kAvx512),
                         [](const ::testing::TestParamInfo<GatherIsa>& info) {
                           return IsaName(info.param);
                         });

TEST(ChaCha20GatherDispatchTest, BestIsaIsSupported) {
  uint32_t counters[kGatherLanes] = {};
  uint32_t out[kGatherOutputWords];
  const ChaChaKey key{};
  EXPECT_TRUE(ChaCha20GatherWith(BestGatherIsa(), key, counters, out));
  std::printf("ChaCha20Gather uses %s\n", IsaName(BestGatherIsa()).c_str());
}

}  // namespace
}  // namespace sotto::crypto::internal
