// Tests of the batched X25519 engine (crypto/src/x25519_batch.h), every variant this CPU can
// run (the libsodium fallback everywhere, the AVX-512 IFMA ladders where the CPU has them):
// RFC 7748's known answers, and byte-for-byte agreement with libsodium's crypto_scalarmult called
// directly on seeded random scalars and u-coordinates, including u >= p, u with the unused top
// bit set, the small-order encodings, and every batch size from 0 to 20 (full eight-lane groups,
// the four-lane tail, and lanes left empty). Also the batch functions of key_agreement.h forced
// onto each variant (key_agreement_internal.h) against the one-at-a-time functions.

#include "x25519_batch.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "crypto_test_util.h"
#include "key_agreement_internal.h"
#include "sotto/base/random.h"
#include "sotto/crypto/key_agreement.h"

namespace sotto::crypto::internal {
namespace {

using ::sotto::crypto::testing::FromHex;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 25519;

using Bytes32 = std::array<uint8_t, kX25519Bytes>;

std::string IsaName(X25519Isa isa) {
  switch (isa) {
    case X25519Isa::kSodium:
      return "Sodium";
    case X25519Isa::kAvx512Ifma:
      return "Avx512Ifma";
  }
  return "Unknown";
}

Bytes32 FromHex32(std::string_view hex) {
  const std::vector<uint8_t> bytes = FromHex(hex);
  Bytes32 out{};
  EXPECT_EQ(bytes.size(), out.size());
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Bytes32 RandomBytes(Prng& prng) {
  Bytes32 out;
  for (uint8_t& b : out) {
    b = static_cast<uint8_t>(prng.Next());
  }
  return out;
}

// libsodium's answer; all zero where it returns -1 (the convention of X25519Batch).
Bytes32 Reference(const Bytes32& scalar, const Bytes32& u) {
  Bytes32 out{};
  if (crypto_scalarmult(out.data(), scalar.data(), u.data()) != 0) {
    out.fill(0);
  }
  return out;
}

class X25519BatchTest : public ::testing::TestWithParam<X25519Isa> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    if (!X25519IsaSupported(GetParam())) {
      GTEST_SKIP() << IsaName(GetParam()) << " is not supported on this CPU";
    }
  }

  // X25519(scalars[i], points[i]) through the variant under test, all in one batch.
  std::vector<Bytes32> Batch(const std::vector<Bytes32>& scalars,
                             const std::vector<Bytes32>& points) {
    std::vector<Bytes32> out(scalars.size());
    std::vector<const uint8_t*> s, p;
    std::vector<uint8_t*> o;
    for (size_t i = 0; i < scalars.size(); ++i) {
      s.push_back(scalars[i].data());
      p.push_back(points[i].data());
      o.push_back(out[i].data());
    }
    X25519Batch(GetParam(), s, p, o);
    return out;
  }

  Bytes32 One(const Bytes32& scalar, const Bytes32& point) { return Batch({scalar}, {point})[0]; }
};

// RFC 7748 section 5.2, the two single-call vectors. The second u is given with its unused top
// bit set (last byte 0x93), which X25519 ignores: fed as printed. Each vector also runs in every
// lane of a full batch (the other lanes holding the other vector).
TEST_P(X25519BatchTest, Rfc7748Section52Vectors) {
  const Bytes32 k1 = FromHex32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const Bytes32 u1 = FromHex32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  const std::string r1 = "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552";
  const Bytes32 k2 = FromHex32("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
  const Bytes32 u2 = FromHex32("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
  const std::string r2 = "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957";
  EXPECT_EQ(ToHex(One(k1, u1)), r1);
  EXPECT_EQ(ToHex(One(k2, u2)), r2);
  for (size_t lane = 0; lane < 8; ++lane) {
    std::vector<Bytes32> scalars(8, k2), points(8, u2);
    scalars[lane] = k1;
    points[lane] = u1;
    const std::vector<Bytes32> out = Batch(scalars, points);
    for (size_t i = 0; i < 8; ++i) {
      EXPECT_EQ(ToHex(out[i]), i == lane ? r1 : r2) << "lane " << i << " of " << lane;
    }
  }
}

// RFC 7748 section 5.2, the iterated vector: k = u = 9, then (k, u) <- (X25519(k, u), k), after 1
// and 1,000 iterations. Run in a full batch of eight identical lanes for the IFMA variant's
// eight-lane code, and alone for its four-lane code.
TEST_P(X25519BatchTest, Rfc7748Section52Iterated) {
  for (size_t lanes : {size_t{1}, size_t{8}}) {
    Bytes32 k{}, u{};
    k[0] = 9;
    u[0] = 9;
    for (int i = 1; i <= 1000; ++i) {
      const std::vector<Bytes32> out =
          Batch(std::vector<Bytes32>(lanes, k), std::vector<Bytes32>(lanes, u));
      for (size_t lane = 1; lane < lanes; ++lane) {
        ASSERT_EQ(out[lane], out[0]) << "iteration " << i << ", lane " << lane;
      }
      u = k;
      k = out[0];
      if (i == 1) {
        EXPECT_EQ(ToHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
            << lanes << " lanes";
      }
    }
    EXPECT_EQ(ToHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
        << lanes << " lanes";
  }
}

// RFC 7748 section 6.1: both public keys (times the base point 9) and the shared secret both
// ways, in one batch.
TEST_P(X25519BatchTest, Rfc7748Section61DiffieHellman) {
  const Bytes32 alice =
      FromHex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes32 bob = FromHex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const Bytes32 alice_public =
      FromHex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  const Bytes32 bob_public =
      FromHex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  Bytes32 base{};
  base[0] = 9;
  const std::vector<Bytes32> out =
      Batch({alice, bob, alice, bob}, {base, base, bob_public, alice_public});
  EXPECT_EQ(out[0], alice_public);
  EXPECT_EQ(out[1], bob_public);
  EXPECT_EQ(ToHex(out[2]), shared);
  EXPECT_EQ(ToHex(out[3]), shared);
}

// 12,000 seeded random (scalar, u) pairs in batches of 1 to 20, against libsodium byte for byte.
// The u-coordinates are uniform 32-byte strings (half with the top bit set) and, for a quarter
// of them, non-canonical values p .. 2^255 - 1 (with and without the top bit) or tiny values.
TEST_P(X25519BatchTest, AgreesWithLibsodiumOnRandomInputs) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  Prng prng(kSeed);
  size_t checked = 0, non_canonical = 0, top_bit = 0;
  while (checked < 12000) {
    const size_t size = 1 + prng.UniformInt(20);
    std::vector<Bytes32> scalars, points;
    for (size_t i = 0; i < size; ++i) {
      scalars.push_back(RandomBytes(prng));
      Bytes32 u = RandomBytes(prng);
      switch (prng.UniformInt(8)) {
        case 0:  // p + r, r < 19: 0xed + r, 0xff x 30, 0x7f (top bit random)
          u[0] = static_cast<uint8_t>(0xed + prng.UniformInt(19));
          for (size_t j = 1; j < 31; ++j) u[j] = 0xff;
          u[31] = static_cast<uint8_t>(0x7f | (u[31] & 0x80));
          break;
        case 1:  // a tiny u (0 .. 255; 0 and 1 are of small order)
          u.fill(0);
          u[0] = static_cast<uint8_t>(prng.Next());
          break;
        default:
          break;
      }
      bool canonical = (u[31] & 0x7f) != 0x7f || u[0] < 0xed;
      for (size_t j = 1; j < 31 && !canonical; ++j) canonical = u[j] != 0xff;
      non_canonical += canonical ? 0 : 1;
      top_bit += (u[31] & 0x80) != 0 ? 1 : 0;
      points.push_back(u);
    }
    const std::vector<Bytes32> out = Batch(scalars, points);
    for (size_t i = 0; i < size; ++i) {
      ASSERT_EQ(ToHex(out[i]), ToHex(Reference(scalars[i], points[i])))
          << "scalar " << ToHex(scalars[i]) << " u " << ToHex(points[i]) << " (seed " << kSeed
          << ", pair " << checked + i << ", lane " << i << " of " << size << ")";
    }
    checked += size;
  }
  // The draw really covered the edge cases.
  EXPECT_GT(non_canonical, 1000u);
  EXPECT_GT(top_bit, 5000u);
}

// Every batch size from 0 to 20; the outputs of a batch land in their own slots only, and one
// scalar may serve every lane (pointers repeat).
TEST_P(X25519BatchTest, EveryBatchSizeFromZeroToTwenty) {
  Prng prng(kSeed + 1);
  for (size_t size = 0; size <= 20; ++size) {
    std::vector<Bytes32> scalars, points;
    for (size_t i = 0; i < size; ++i) {
      scalars.push_back(RandomBytes(prng));
      points.push_back(RandomBytes(prng));
    }
    // Guard slots around the outputs stay untouched.
    std::vector<Bytes32> slots(size + 2);
    for (Bytes32& slot : slots) slot.fill(0xa5);
    std::vector<const uint8_t*> s, p;
    std::vector<uint8_t*> o;
    for (size_t i = 0; i < size; ++i) {
      s.push_back(scalars[i].data());
      p.push_back(points[i].data());
      o.push_back(slots[i + 1].data());
    }
    X25519Batch(GetParam(), s, p, o);
    Bytes32 guard;
    guard.fill(0xa5);
    EXPECT_EQ(slots.front(), guard) << size;
    EXPECT_EQ(slots.back(), guard) << size;
    for (size_t i = 0; i < size; ++i) {
      EXPECT_EQ(ToHex(slots[i + 1]), ToHex(Reference(scalars[i], points[i])))
          << "size " << size << ", lane " << i << " (seed " << kSeed + 1 << ")";
    }
    // One scalar against all the points.
    std::vector<const uint8_t*> same(size, size > 0 ? scalars[0].data() : nullptr);
    X25519Batch(GetParam(), same, p, o);
    for (size_t i = 0; i < size; ++i) {
      EXPECT_EQ(ToHex(slots[i + 1]), ToHex(Reference(scalars[0], points[i])))
          << "shared scalar, size " << size << ", lane " << i;
    }
  }
}

// libsodium's small-order encodings (its has_small_order list), with and without the top bit:
// the product is the all-zero point, for any scalar, in any lane.
TEST_P(X25519BatchTest, SmallOrderPointsGiveAllZero) {
  const char* const kList[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  Prng prng(kSeed + 2);
  std::vector<Bytes32> scalars, points;
  for (const char* hex : kList) {
    for (uint8_t top : {uint8_t{0}, uint8_t{0x80}}) {
      Bytes32 u = FromHex32(hex);
      u[31] |= top;
      points.push_back(u);
      scalars.push_back(RandomBytes(prng));
    }
  }
  const std::vector<Bytes32> out = Batch(scalars, points);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i], Bytes32{}) << ToHex(points[i]);
    EXPECT_EQ(out[i], Reference(scalars[i], points[i])) << ToHex(points[i]);
  }
}

// Clamping: scalars that differ only in the bits RFC 7748 clamps (0, 1, 2, 254, 255) give the
// same result.
TEST_P(X25519BatchTest, ScalarIsClamped) {
  Prng prng(kSeed + 3);
  const Bytes32 u = RandomBytes(prng);
  Bytes32 scalar = RandomBytes(prng);
  Bytes32 flipped = scalar;
  flipped[0] ^= 0x07;
  flipped[31] ^= 0xc0;
  const std::vector<Bytes32> out = Batch({scalar, flipped}, {u, u});
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(out[0], Reference(scalar, u));
}

// The batch functions of key_agreement.h forced onto each variant (the public ones use
// BestX25519Isa()): the same keys as GenerateX25519KeyPair and the same seeds as DerivePairSeed,
// which stay on libsodium, for batch sizes 0 to 20.
TEST_P(X25519BatchTest, KeyAgreementBatchesMatchTheSingleFunctions) {
  SeededRandom batch_random(kSeed + 4), single_random(kSeed + 4);
  auto pairs = GenerateX25519KeyPairsWith(GetParam(), batch_random, 21);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  ASSERT_EQ(pairs->size(), 21u);
  for (const X25519KeyPair& pair : *pairs) {
    auto single = GenerateX25519KeyPair(single_random);
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(pair.public_key, single->public_key);
    EXPECT_TRUE(pair.secret_key == single->secret_key);
  }
  for (size_t size = 0; size <= 20; ++size) {
    std::vector<PairSeedRequest> requests;
    for (size_t i = 0; i < size; ++i) {
      requests.push_back({&(*pairs)[i % 2], &(*pairs)[2 + i % 19].public_key,
                          PairContext{.run_id = 9,
                                      .round_id = size,
                                      .self_id = 1 + i % 2,
                                      .peer_id = 3 + i,
                                      .purpose = i % 3 == 0 ? PairPurpose::kShareEncryption
                                                            : PairPurpose::kMask}});
    }
    auto seeds = DerivePairSeedsWith(GetParam(), requests);
    ASSERT_TRUE(seeds.ok()) << seeds.status();
    ASSERT_EQ(seeds->size(), size);
    for (size_t i = 0; i < size; ++i) {
      auto single =
          DerivePairSeed(*requests[i].self, *requests[i].peer_public, requests[i].context);
      ASSERT_TRUE(single.ok());
      EXPECT_TRUE((*seeds)[i] == *single) << "size " << size << ", request " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, X25519BatchTest,
                         ::testing::Values(X25519Isa::kSodium, X25519Isa::kAvx512Ifma),
                         [](const ::testing::TestParamInfo<X25519Isa>& info) {
                           return IsaName(info.param);
                         });

TEST(X25519BatchDispatchTest, BestIsaIsSupported) {
  EXPECT_TRUE(X25519IsaSupported(BestX25519Isa()));
  EXPECT_TRUE(X25519IsaSupported(X25519Isa::kSodium));
  if (X25519IsaSupported(X25519Isa::kAvx512Ifma)) {
    EXPECT_EQ(BestX25519Isa(), X25519Isa::kAvx512Ifma);
  }
  std::printf("the X25519 batch functions use %s\n", IsaName(BestX25519Isa()).c_str());
}

TEST(X25519BatchDispatchTest, UnsupportedVariantIsRefused) {
  if (X25519IsaSupported(X25519Isa::kAvx512Ifma)) {
    GTEST_SKIP() << "this CPU runs every variant";
  }
  SeededRandom random(kSeed);
  EXPECT_EQ(GenerateX25519KeyPairsWith(X25519Isa::kAvx512Ifma, random, 1).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(DerivePairSeedsWith(X25519Isa::kAvx512Ifma, {}).status().code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sotto::crypto::internal
