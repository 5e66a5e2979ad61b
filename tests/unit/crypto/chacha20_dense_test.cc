// Tests of MaskPrg's dense path (crypto/src/chacha20_dense.h, mask_prg_internal.h), every variant
// this CPU can run: against libsodium's crypto_stream_chacha20_ietf called directly, against the
// RFC 8439 vectors, against the sparse path (ApplySparse), for both rings, all three ops, and
// ranges with odd starts and lengths around the sixteen-block groups of the AVX-512 core.

#include "chacha20_dense.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.h"
#include "mask_prg_internal.h"
#include "sotto/base/random.h"
#include "sotto/crypto/mask_prg.h"

namespace sotto::crypto::internal {
namespace {

using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 8440;

std::string IsaName(DenseIsa isa) {
  switch (isa) {
    case DenseIsa::kSodium:
      return "Sodium";
    case DenseIsa::kAvx512:
      return "Avx512";
  }
  return "Unknown";
}

Seed SeedOf(const std::vector<uint8_t>& bytes) {
  auto seed = Seed::FromBytes(bytes);
  EXPECT_TRUE(seed.ok());
  return std::move(seed).value();
}

Seed RandomSeed(uint64_t seed) {
  SeededRandom random(seed);
  auto out = Seed::Generate(random);
  EXPECT_TRUE(out.ok());
  return std::move(out).value();
}

// Keystream bytes [offset, offset + size) of (seed, stream) straight from libsodium.
std::vector<uint8_t> SodiumKeystream(const Seed& seed, uint64_t stream, uint64_t offset,
                                     size_t size) {
  EXPECT_EQ(sodium_init() >= 0, true);
  const uint64_t first_block = offset / 64;
  const size_t skip = static_cast<size_t>(offset % 64);
  if (size == 0) {
    return {};
  }
  std::vector<uint8_t> bytes(skip + size, 0);
  uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(stream >> (8 * i));
  EXPECT_EQ(
      crypto_stream_chacha20_ietf_xor_ic(bytes.data(), bytes.data(), bytes.size(), nonce,
                                         static_cast<uint32_t>(first_block), seed.bytes().data()),
      0);
  return std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(skip), bytes.end());
}

template <typename Word>
std::vector<Word> Words(const std::vector<uint8_t>& bytes) {
  std::vector<Word> out(bytes.size() / sizeof(Word));
  if (!out.empty()) {
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(Word));  // little-endian host
  }
  return out;
}

class DenseMaskTest : public ::testing::TestWithParam<DenseIsa> {
 protected:
  void SetUp() override {
    if (!DenseIsaSupported(GetParam())) {
      GTEST_SKIP() << IsaName(GetParam()) << " is not supported on this CPU";
    }
  }
  template <typename Word>
  std::vector<Word> Masks(const Seed& seed, uint64_t stream, uint64_t begin, size_t n) {
    std::vector<Word> out(n, 0);
    EXPECT_TRUE(
        ApplyDenseWith(GetParam(), seed, stream, begin, std::span<Word>(out), MaskOp::kSet).ok());
    return out;
  }
};

// RFC 8439 section 2.3.2 (key 00..1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, block 1) and
// appendix A.1 #1 and #2 (zero key and nonce, blocks 0 and 1).
TEST_P(DenseMaskTest, Rfc8439Vectors) {
  std::vector<uint8_t> counting(32);
  for (size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<uint8_t>(i);
  const auto block1 = Masks<uint32_t>(SeedOf(counting), 0x4a00000009000000ULL, 16, 16);
  std::vector<uint8_t> bytes(64);
  std::memcpy(bytes.data(), block1.data(), 64);
  EXPECT_EQ(ToHex(bytes),
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
  const auto zero = Masks<uint64_t>(SeedOf(std::vector<uint8_t>(32, 0)), 0, 0, 16);
  bytes.resize(128);
  std::memcpy(bytes.data(), zero.data(), 128);
  EXPECT_EQ(ToHex(bytes),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
            "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

// Every (begin, n) around block and sixteen-block-group edges, both rings, against libsodium's
// keystream at the same byte offset.
TEST_P(DenseMaskTest, MatchesLibsodiumAtOddOffsetsAndLengths) {
  const Seed seed = RandomSeed(kSeed);
  const uint64_t stream = 0x0123456789abcdefULL;
  for (uint64_t begin : {0u, 1u, 3u, 7u, 8u, 15u, 16u, 17u, 127u, 128u, 129u, 255u, 256u, 257u,
                         1000u, 4095u, 4097u}) {
    for (size_t n : {0u, 1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 127u, 128u, 129u, 255u, 256u, 257u,
                     511u, 513u, 1024u, 4099u}) {
      EXPECT_EQ(Masks<uint32_t>(seed, stream, begin, n),
                Words<uint32_t>(SodiumKeystream(seed, stream, 4 * begin, 4 * n)))
          << "ring 2^32 begin " << begin << " n " << n << " seed " << kSeed;
      EXPECT_EQ(Masks<uint64_t>(seed, stream, begin, n),
                Words<uint64_t>(SodiumKeystream(seed, stream, 8 * begin, 8 * n)))
          << "ring 2^64 begin " << begin << " n " << n << " seed " << kSeed;
    }
  }
}

// Random seeds, streams, starts and lengths (seeded; the seed is printed on failure), and all
// three ops: set writes the mask, add and subtract move the input by it, mod 2^w.
TEST_P(DenseMaskTest, RandomRangesAndOpsMatchLibsodium) {
  Prng prng(kSeed);
  for (int trial = 0; trial < 40; ++trial) {
    const Seed seed = RandomSeed(kSeed + 1000 + static_cast<uint64_t>(trial));
    const uint64_t stream = prng.Next();
    const uint64_t begin = prng.UniformInt(uint64_t{1} << 20);
    const size_t n = static_cast<size_t>(prng.UniformInt(5000));
    const auto ks32 = Words<uint32_t>(SodiumKeystream(seed, stream, 4 * begin, 4 * n));
    const auto ks64 = Words<uint64_t>(SodiumKeystream(seed, stream, 8 * begin, 8 * n));
    std::vector<uint32_t> in32(n);
    std::vector<uint64_t> in64(n);
    for (size_t i = 0; i < n; ++i) {
      in32[i] = static_cast<uint32_t>(prng.Next());
      in64[i] = prng.Next();
    }
    for (MaskOp op : {MaskOp::kSet, MaskOp::kAdd, MaskOp::kSubtract}) {
      auto v32 = in32;
      auto v64 = in64;
      ASSERT_TRUE(
          ApplyDenseWith(GetParam(), seed, stream, begin, std::span<uint32_t>(v32), op).ok());
      ASSERT_TRUE(
          ApplyDenseWith(GetParam(), seed, stream, begin, std::span<uint64_t>(v64), op).ok());
      for (size_t i = 0; i < n; ++i) {
        const uint32_t want32 = op == MaskOp::kSet   ? ks32[i]
                                : op == MaskOp::kAdd ? static_cast<uint32_t>(in32[i] + ks32[i])
                                                     : static_cast<uint32_t>(in32[i] - ks32[i]);
        const uint64_t want64 = op == MaskOp::kSet   ? ks64[i]
                                : op == MaskOp::kAdd ? in64[i] + ks64[i]
                                                     : in64[i] - ks64[i];
        ASSERT_EQ(v32[i], want32) << "trial " << trial << " op " << static_cast<int>(op) << " i "
                                  << i << " begin " << begin << " seed " << kSeed;
        ASSERT_EQ(v64[i], want64) << "trial " << trial << " op " << static_cast<int>(op) << " i "
                                  << i << " begin " << begin << " seed " << kSeed;
      }
    }
  }
}

// Dense and sparse generation agree: the sparse path's own eight-lane core computes the blocks
// the support touches, the dense variant the whole range.
TEST_P(DenseMaskTest, AgreesWithApplySparse) {
  const Seed seed = RandomSeed(kSeed + 7);
  const MaskPrg prg(seed, 5);
  const uint32_t d = 30011;
  Prng prng(kSeed + 7);
  std::vector<uint32_t> support;
  for (uint32_t j = 0; j < d; ++j) {
    if (prng.Uniform() < 0.03) support.push_back(j);
  }
  const auto dense32 = Masks<uint32_t>(seed, 5, 0, d);
  const auto dense64 = Masks<uint64_t>(seed, 5, 0, d);
  std::vector<uint32_t> sparse32(support.size());
  std::vector<uint64_t> sparse64(support.size());
  ASSERT_TRUE(prg.ApplySparse(support, sparse32, MaskOp::kSet).ok());
  ASSERT_TRUE(prg.ApplySparse(support, sparse64, MaskOp::kSet).ok());
  for (size_t i = 0; i < support.size(); ++i) {
    ASSERT_EQ(sparse32[i], dense32[support[i]]) << "coordinate " << support[i] << " seed " << kSeed;
    ASSERT_EQ(sparse64[i], dense64[support[i]]) << "coordinate " << support[i] << " seed " << kSeed;
  }
}

// The end of the coordinate range: the last blocks below 2^32 coordinates, and a range that
// ends exactly there.
TEST_P(DenseMaskTest, LastCoordinates) {
  const Seed seed = RandomSeed(kSeed + 3);
  const uint64_t last = kMaxMaskCoordinates - 1;
  for (size_t n : {1u, 5u, 300u}) {
    const uint64_t begin = last + 1 - n;
    EXPECT_EQ(Masks<uint32_t>(seed, 9, begin, n),
              Words<uint32_t>(SodiumKeystream(seed, 9, 4 * begin, 4 * n)))
        << n;
    EXPECT_EQ(Masks<uint64_t>(seed, 9, begin, n),
              Words<uint64_t>(SodiumKeystream(seed, 9, 8 * begin, 8 * n)))
        << n;
  }
}

TEST_P(DenseMaskTest, RejectsBadArgumentsWithoutWriting) {
  const Seed seed = RandomSeed(kSeed);
  std::vector<uint32_t> v32(3, 7);
  std::vector<uint64_t> v64(3, 7);
  EXPECT_EQ(ApplyDenseWith(GetParam(), seed, 0, kMaxMaskCoordinates - 2, std::span<uint32_t>(v32),
                           MaskOp::kSet)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyDenseWith(GetParam(), seed, 0, 0, std::span<uint64_t>(v64), static_cast<MaskOp>(9))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(v32, std::vector<uint32_t>(3, 7));
  EXPECT_EQ(v64, std::vector<uint64_t>(3, 7));
}

INSTANTIATE_TEST_SUITE_P(Isas, DenseMaskTest,
                         ::testing::Values(DenseIsa::kSodium, DenseIsa::kAvx512),
                         [](const ::testing::TestParamInfo<DenseIsa>& info) {
                           return IsaName(info.param);
                         });

TEST(DenseMaskDispatchTest, BestIsaIsSupportedAndUsedByMaskPrg) {
  EXPECT_TRUE(DenseIsaSupported(BestDenseIsa()));
  EXPECT_TRUE(DenseIsaSupported(DenseIsa::kSodium));
  std::printf("MaskPrg::ApplyDense uses %s\n", IsaName(BestDenseIsa()).c_str());
  const Seed seed = RandomSeed(kSeed);
  std::vector<uint32_t> via_prg(1000), via_best(1000);
  ASSERT_TRUE(MaskPrg(seed, 2).ApplyDense(3, via_prg, MaskOp::kSet).ok());
  ASSERT_TRUE(
      ApplyDenseWith(BestDenseIsa(), seed, 2, 3, std::span<uint32_t>(via_best), MaskOp::kSet).ok());
  EXPECT_EQ(via_prg, via_best);
}

TEST(DenseMaskDispatchTest, UnsupportedVariantIsRefused) {
  if (DenseIsaSupported(DenseIsa::kAvx512)) {
    GTEST_SKIP() << "this CPU runs every variant";
  }
  std::vector<uint32_t> v(4, 1);
  EXPECT_EQ(ApplyDenseWith(DenseIsa::kAvx512, RandomSeed(kSeed), 0, 0, std::span<uint32_t>(v),
                           MaskOp::kSet)
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(v, std::vector<uint32_t>(4, 1));
}

}  // namespace
}  // namespace sotto::crypto::internal
