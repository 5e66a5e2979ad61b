// Tests of the sparse wire codec (sotto/core/compress/sparse_codec.h): round trips over every
// index coding x value coding x density, edge cases, the half/bfloat16 conversions, the bit
// accounting, the entropy floor, and one test per malformed-input case (BAD_INPUTS rows 7-9).
// Every randomized test uses a fixed seed and names it in its failure messages.

#include "sotto/core/compress/sparse_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sotto/base/random.h"

namespace sotto::compress {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr DecodeLimits kNoLimits{kMaxSparseDim, kMaxSparseDim};

// k distinct positions in [0, d), ascending, uniformly random.
std::vector<uint32_t> RandomSupport(Prng& rng, uint64_t d, uint64_t k) {
  std::vector<uint32_t> out;
  out.reserve(k);
  if (d <= (uint64_t{1} << 24)) {
    // Selection sampling (Knuth's algorithm S): exact, O(d).
    uint64_t needed = k;
    for (uint64_t i = 0; i < d && needed > 0; ++i) {
      if (rng.UniformInt(d - i) < needed) {
        out.push_back(static_cast<uint32_t>(i));
        --needed;
      }
    }
    return out;
  }
  std::set<uint32_t> chosen;
  while (chosen.size() < k) {
    chosen.insert(static_cast<uint32_t>(rng.UniformInt(d)));
  }
  out.assign(chosen.begin(), chosen.end());
  return out;
}

std::vector<float> RandomFloats(Prng& rng, size_t k, double scale = 1.0) {
  std::vector<float> out(k);
  for (float& v : out) {
    v = static_cast<float>(rng.Normal() * scale);
  }
  return out;
}

// Elements of the ring / below the modulus for a ring coding.
std::vector<uint64_t> RandomRing(Prng& rng, size_t k, ValueCoding coding, uint64_t modulus) {
  std::vector<uint64_t> out(k);
  for (uint64_t& v : out) {
    if (modulus != 0) {
      v = rng.UniformInt(modulus);
    } else if (coding == ValueCoding::kRing32) {
      v = rng.Next() >> 32;
    } else {
      v = rng.Next();
    }
  }
  return out;
}

// What a float survives the value coding as.
float Quantized(float v, ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp16:
      return HalfToFloat(FloatToHalf(v));
    case ValueCoding::kBf16:
      return Bfloat16ToFloat(FloatToBfloat16(v));
    default:
      return v;
  }
}

// Sets `width` bits at stream-relative bit `offset` of the message (LSB first).
void SetBits(Bytes& bytes, uint64_t bit, unsigned width, uint64_t value) {
  for (unsigned i = 0; i < width; ++i, ++bit) {
    const uint8_t mask = static_cast<uint8_t>(1u << (bit % 8));
    if ((value >> i) & 1) {
      bytes[bit / 8] |= mask;
    } else {
      bytes[bit / 8] &= static_cast<uint8_t>(~mask);
    }
  }
}

// Decodes with whichever decoder the header asks for; on success re-encodes with exactly the
// decoded format and requires the identical bytes (the encoding is canonical).
Status DecodeAndCheckCanonical(const Bytes& bytes, const DecodeLimits& limits) {
  auto header = ParseSparseHeader(bytes, limits);
  if (!header.ok()) {
    return header.status();
  }
  if (IsRingCoding(header->format.value_coding)) {
    auto decoded = DecodeSparseRing(bytes, limits);
    if (!decoded.ok()) {
      return decoded.status();
    }
    auto again = EncodeSparseRing(decoded->dim, decoded->indices, decoded->values,
                                  EncodeOptions::Exactly(decoded->format));
    EXPECT_TRUE(again.ok()) << again.status();
    if (again.ok()) {
      EXPECT_EQ(*again, bytes);
    }
  } else {
    auto decoded = DecodeSparse(bytes, limits);
    if (!decoded.ok()) {
      return decoded.status();
    }
    auto again = EncodeSparse(decoded->dim, decoded->indices, decoded->values,
                              EncodeOptions::Exactly(decoded->format));
    EXPECT_TRUE(again.ok()) << again.status();
    if (again.ok()) {
      EXPECT_EQ(*again, bytes);
    }
  }
  return OkStatus();
}

std::string CodingName(ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp32:
      return "Fp32";
    case ValueCoding::kFp16:
      return "Fp16";
    case ValueCoding::kBf16:
      return "Bf16";
    case ValueCoding::kRing32:
      return "Ring32";
    case ValueCoding::kRing64:
      return "Ring64";
  }
  return "Unknown";
}

// ---- round trips: index coding x value coding x density ----

struct ValueCase {
  ValueCoding coding;
  uint64_t modulus;
};

using RoundTripParam = std::tuple<IndexCoding, ValueCase, double>;

class SparseRoundTripTest : public ::testing::TestWithParam<RoundTripParam> {};

// Encodes, checks the size against MeasureSparse, decodes, compares, and checks the byte-exact
// re-encoding.
void RoundTrip(uint64_t d, const std::vector<uint32_t>& indices, ValueCase value_case,
               std::optional<IndexCoding> index_coding, uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " d " + std::to_string(d) + " k " +
               std::to_string(indices.size()) + " coding " + CodingName(value_case.coding));
  Prng rng(seed);
  EncodeOptions options;
  options.value_coding = value_case.coding;
  options.modulus = value_case.modulus;
  options.index_coding = index_coding;
  auto bits = MeasureSparse(d, indices, options);
  ASSERT_TRUE(bits.ok()) << bits.status();
  if (index_coding) {
    EXPECT_EQ(bits->format.index_coding, *index_coding);
  }
  EXPECT_EQ(bits->total_bits, bits->header_bits + bits->index_bits + bits->value_bits);

  Bytes bytes;
  if (IsRingCoding(value_case.coding)) {
    const auto values = RandomRing(rng, indices.size(), value_case.coding, value_case.modulus);
    auto encoded = EncodeSparseRing(d, indices, values, options);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    bytes = *encoded;
    auto decoded = DecodeSparseRing(bytes, kNoLimits);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->dim, d);
    EXPECT_EQ(decoded->format, bits->format);
    EXPECT_EQ(decoded->indices, indices);
    EXPECT_EQ(decoded->values, values);
  } else {
    const auto values = RandomFloats(rng, indices.size());
    auto encoded = EncodeSparse(d, indices, values, options);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    bytes = *encoded;
    auto decoded = DecodeSparse(bytes, kNoLimits);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->dim, d);
    EXPECT_EQ(decoded->format, bits->format);
    EXPECT_EQ(decoded->indices, indices);
    ASSERT_EQ(decoded->values.size(), values.size());
    for (size_t j = 0; j < values.size(); ++j) {
      const float want = Quantized(values[j], value_case.coding);
      ASSERT_EQ(std::bit_cast<uint32_t>(decoded->values[j]), std::bit_cast<uint32_t>(want))
          << "position " << j << " value " << values[j];
    }
  }
  // Exact bit accounting: the size is the total rounded up to a byte.
  EXPECT_EQ(bytes.size(), bits->bytes());
  EXPECT_LE(bits->total_bits, 8 * bytes.size());
  EXPECT_GT(bits->total_bits + 8, 8 * bytes.size());
  EXPECT_TRUE(DecodeAndCheckCanonical(bytes, kNoLimits).ok());
}

TEST_P(SparseRoundTripTest, RoundTrips) {
  const auto [index_coding, value_case, density] = GetParam();
  constexpr uint64_t kDim = 100003;  // not a multiple of 8 or 64
  const uint64_t seed = 1000 + static_cast<uint64_t>(density * 1e4) +
                        17 * static_cast<uint64_t>(value_case.coding) +
                        101 * static_cast<uint64_t>(index_coding);
  Prng rng(seed);
  const uint64_t k = static_cast<uint64_t>(std::llround(density * kDim));
  const auto indices = RandomSupport(rng, kDim, k);
  RoundTrip(kDim, indices, value_case, index_coding, seed);
  RoundTrip(kDim, indices, value_case, std::nullopt, seed);
}

std::string RoundTripName(const ::testing::TestParamInfo<RoundTripParam>& info) {
  const auto& [index_coding, value_case, density] = info.param;
  return std::string(index_coding == IndexCoding::kRice ? "Rice" : "Bitmap") +
         CodingName(value_case.coding) + (value_case.modulus != 0 ? "Mod" : "") + "_" +
         std::to_string(static_cast<int>(std::llround(density * 1e4))) + "e_4";
}

INSTANTIATE_TEST_SUITE_P(
    AllCodings, SparseRoundTripTest,
    ::testing::Combine(::testing::Values(IndexCoding::kRice, IndexCoding::kBitmap),
                       ::testing::Values(ValueCase{ValueCoding::kFp32, 0},
                                         ValueCase{ValueCoding::kFp16, 0},
                                         ValueCase{ValueCoding::kBf16, 0},
                                         ValueCase{ValueCoding::kRing32, 0},
                                         ValueCase{ValueCoding::kRing64, 0},
                                         ValueCase{ValueCoding::kRing32, 1000003},
                                         ValueCase{ValueCoding::kRing64, (uint64_t{1} << 61) - 1}),
                       ::testing::Values(1e-4, 1e-3, 1e-2, 0.1, 0.5)),
    RoundTripName);

// ---- edge cases ----

const ValueCase kAllValueCases[] = {
    {ValueCoding::kFp32, 0},   {ValueCoding::kFp16, 0},
    {ValueCoding::kBf16, 0},   {ValueCoding::kRing32, 0},
    {ValueCoding::kRing64, 0}, {ValueCoding::kRing32, 3},
    {ValueCoding::kRing64, 2}, {ValueCoding::kRing64, UINT64_MAX},
};

void RoundTripAllCodings(uint64_t d, const std::vector<uint32_t>& indices, uint64_t seed) {
  for (const ValueCase& value_case : kAllValueCases) {
    RoundTrip(d, indices, value_case, IndexCoding::kRice, seed);
    if (d <= (uint64_t{1} << 20)) {
      RoundTrip(d, indices, value_case, IndexCoding::kBitmap, seed);
    }
    RoundTrip(d, indices, value_case, std::nullopt, seed);
  }
}

TEST(SparseCodecEdgeTest, EmptyUpdate) {
  RoundTripAllCodings(1, {}, 1);
  RoundTripAllCodings(1000, {}, 2);
  RoundTripAllCodings(kMaxSparseDim, {}, 3);
}

TEST(SparseCodecEdgeTest, SingleIndexAtEitherEnd) {
  RoundTripAllCodings(1, {0}, 4);
  RoundTripAllCodings(1000, {0}, 5);
  RoundTripAllCodings(1000, {999}, 6);
  RoundTripAllCodings(1000, {0, 999}, 7);
}

TEST(SparseCodecEdgeTest, FullSupport) {
  for (uint64_t d : {1, 2, 7, 8, 63, 64, 65, 1000}) {
    std::vector<uint32_t> all(d);
    for (uint64_t i = 0; i < d; ++i) {
      all[i] = static_cast<uint32_t>(i);
    }
    RoundTripAllCodings(d, all, 10 + d);
  }
}

TEST(SparseCodecEdgeTest, DimensionNearTwoToThe32) {
  const uint32_t last = UINT32_MAX;
  RoundTripAllCodings(kMaxSparseDim, {0, last}, 20);
  RoundTripAllCodings(kMaxSparseDim, {last}, 21);
  RoundTripAllCodings(kMaxSparseDim - 1, {0, last - 1}, 22);
  Prng rng(23);
  RoundTripAllCodings(kMaxSparseDim, RandomSupport(rng, kMaxSparseDim, 100), 23);
}

// Every Rice parameter, including ones far from the best, which make unary runs longer than
// a 64-bit word (the slow path) or remainders that fill a word.
TEST(SparseCodecEdgeTest, EveryRiceParameter) {
  constexpr uint64_t kDim = 1 << 20;
  const std::vector<uint32_t> indices = {0, 1, 2, 1000, 5000, 70000, 70001, 1000000};
  for (uint32_t b = 0; b <= kMaxRiceParameter; ++b) {
    SCOPED_TRACE("b " + std::to_string(b));
    EncodeOptions options;
    options.index_coding = IndexCoding::kRice;
    options.rice_parameter = b;
    const std::vector<float> values(indices.size(), 0.25f);
    auto bytes = EncodeSparse(kDim, indices, values, options);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto decoded = DecodeSparse(*bytes, kNoLimits);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->indices, indices);
    EXPECT_EQ(decoded->format.rice_parameter, b);
    auto bits = MeasureSparse(kDim, indices, options);
    ASSERT_TRUE(bits.ok());
    EXPECT_EQ(bits->bytes(), bytes->size());
  }
}

TEST(SparseCodecEdgeTest, IntoVariantsReuseBuffers) {
  Prng rng(30);
  SparseUpdate update;
  Bytes buffer;
  for (uint64_t k : {500, 3, 0, 200}) {
    const auto indices = RandomSupport(rng, 5000, k);
    const auto values = RandomFloats(rng, k);
    ASSERT_TRUE(EncodeSparseTo(5000, indices, values, {}, &buffer).ok());
    ASSERT_TRUE(DecodeSparseInto(buffer, kNoLimits, &update).ok());
    EXPECT_EQ(update.indices, indices);
    EXPECT_EQ(update.values, values);
  }
  SparseRingUpdate ring;
  EncodeOptions options;
  options.value_coding = ValueCoding::kRing64;
  for (uint64_t k : {100, 1}) {
    const auto indices = RandomSupport(rng, 5000, k);
    const auto values = RandomRing(rng, k, ValueCoding::kRing64, 0);
    ASSERT_TRUE(EncodeSparseRingTo(5000, indices, values, options, &buffer).ok());
    ASSERT_TRUE(DecodeSparseRingInto(buffer, kNoLimits, &ring).ok());
    EXPECT_EQ(ring.indices, indices);
    EXPECT_EQ(ring.values, values);
  }
}

// ---- the wire contract, byte for byte (computed independently by hand) ----

TEST(SparseCodecWireTest, RiceFp32Golden) {
  EncodeOptions options;
  options.index_coding = IndexCoding::kRice;
  options.rice_parameter = 1;
  auto bytes =
      EncodeSparse(10, std::vector<uint32_t>{1, 4}, std::vector<float>{1.0f, -2.0f}, options);
  ASSERT_TRUE(bytes.ok());
  // version 1, Rice, fp32, d 10, k 2, b 1; gaps 1 (q 0, r 1) and 2 (q 1, r 0); 1.0f, -2.0f.
  EXPECT_EQ(*bytes, (Bytes{0x01, 0x00, 0x00, 0x0a, 0x02, 0x01, 0x0b, 0x00, 0x00, 0xf0, 0x07, 0x00,
                           0x00, 0x00, 0x18}));
}

TEST(SparseCodecWireTest, BitmapBf16Golden) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kBf16;
  options.index_coding = IndexCoding::kBitmap;
  auto bytes =
      EncodeSparse(10, std::vector<uint32_t>{1, 4}, std::vector<float>{1.0f, -2.0f}, options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, (Bytes{0x01, 0x01, 0x02, 0x0a, 0x02, 0x12, 0x00, 0xfe, 0x00, 0x00, 0x03}));
}

TEST(SparseCodecWireTest, BitmapPackedRingGolden) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kRing32;
  options.modulus = 5;  // 3 bits per element
  options.index_coding = IndexCoding::kBitmap;
  auto bytes =
      EncodeSparseRing(3, std::vector<uint32_t>{0, 1, 2}, std::vector<uint64_t>{0, 4, 2}, options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, (Bytes{0x01, 0x01, 0x03, 0x03, 0x03, 0x05, 0x07, 0x05}));
}

TEST(SparseCodecWireTest, RiceLongUnaryRunGolden) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kFp16;
  options.index_coding = IndexCoding::kRice;
  options.rice_parameter = 3;
  // d 300 (varint ac 02), gap 299 = q 37, r 3; 0.5 = fp16 0x3800.
  auto bytes = EncodeSparse(300, std::vector<uint32_t>{299}, std::vector<float>{0.5f}, options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, (Bytes{0x01, 0x00, 0x01, 0xac, 0x02, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0xe0,
                           0x00, 0x70, 0x00}));
}

// ---- choice of coding, bit accounting, entropy ----

TEST(SparseCodecChoiceTest, EncoderPicksTheSmallerCoding) {
  constexpr uint64_t kDim = 1 << 16;
  const uint64_t seed = 40;
  Prng rng(seed);
  bool saw_rice = false;
  bool saw_bitmap = false;
  for (double density : {0.0, 1e-3, 0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.5, 0.9, 1.0}) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " density " + std::to_string(density));
    const auto indices =
        RandomSupport(rng, kDim, static_cast<uint64_t>(std::llround(density * kDim)));
    EncodeOptions rice;
    rice.index_coding = IndexCoding::kRice;
    EncodeOptions bitmap;
    bitmap.index_coding = IndexCoding::kBitmap;
    auto rice_bits = MeasureSparse(kDim, indices, rice);
    auto bitmap_bits = MeasureSparse(kDim, indices, bitmap);
    auto auto_bits = MeasureSparse(kDim, indices, {});
    ASSERT_TRUE(rice_bits.ok() && bitmap_bits.ok() && auto_bits.ok());
    EXPECT_EQ(auto_bits->total_bits, std::min(rice_bits->total_bits, bitmap_bits->total_bits));
    EXPECT_EQ(bitmap_bits->index_bits, kDim);
    saw_rice |= auto_bits->format.index_coding == IndexCoding::kRice;
    saw_bitmap |= auto_bits->format.index_coding == IndexCoding::kBitmap;
    // The chosen b is the best of b* - 1, b*, b* + 1.
    const uint32_t best = RiceParameterFor(kDim, indices.size());
    for (uint32_t b = best == 0 ? 0 : best - 1; b <= std::min(best + 1, kMaxRiceParameter); ++b) {
      EncodeOptions fixed = rice;
      fixed.rice_parameter = b;
      auto fixed_bits = MeasureSparse(kDim, indices, fixed);
      ASSERT_TRUE(fixed_bits.ok());
      EXPECT_LE(rice_bits->index_bits, fixed_bits->index_bits) << "b " << b;
    }
    const std::vector<float> values(indices.size(), 1.0f);
    auto bytes = EncodeSparse(kDim, indices, values);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes->size(), auto_bits->bytes());
    EXPECT_EQ(bytes->at(1), static_cast<uint8_t>(auto_bits->format.index_coding));
  }
  EXPECT_TRUE(saw_rice);
  EXPECT_TRUE(saw_bitmap);
}

TEST(SparseCodecChoiceTest, HeaderBitsByHand) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kRing64;
  options.modulus = uint64_t{1} << 40;  // varint of 6 bytes, 40 bits per element
  options.index_coding = IndexCoding::kRice;
  auto bits = MeasureSparse(1 << 20, std::vector<uint32_t>{5, 6}, options);
  ASSERT_TRUE(bits.ok());
  // version, codings (3) + d varint (3) + k (1) + b (1) + modulus (6).
  EXPECT_EQ(bits->header_bits, 8u * (3 + 3 + 1 + 1 + 6));
  EXPECT_EQ(bits->value_bits, 2u * 40);
  const uint32_t b = bits->format.rice_parameter;
  EXPECT_EQ(bits->index_bits, 2 * (b + 1) + (5 >> b) + (0 >> b));
}

TEST(SparseCodecChoiceTest, RiceParameterForKnownDensities) {
  // The optimal Rice parameters for geometric gaps (reference/topk.md section 5).
  EXPECT_EQ(RiceParameterFor(1000000, 1000), 9u);
  EXPECT_EQ(RiceParameterFor(1000000, 10000), 6u);
  EXPECT_EQ(RiceParameterFor(1000000, 100000), 3u);
  EXPECT_EQ(RiceParameterFor(100, 50), 0u);
  EXPECT_EQ(RiceParameterFor(100, 100), 0u);
  EXPECT_EQ(RiceParameterFor(100, 0), 0u);
  EXPECT_EQ(RiceParameterFor(kMaxSparseDim, 1), 31u);
}

TEST(SparseCodecEntropyTest, MatchesExactBinomials) {
  // Small d: exact binomials in 64 bits (C(62, 31) < 2^63).
  for (uint64_t d = 0; d <= 62; ++d) {
    uint64_t c = 1;  // C(d, k)
    for (uint64_t k = 0; k <= d; ++k) {
      EXPECT_NEAR(EntropyFloorBits(d, k), std::log2(static_cast<double>(c)), 1e-9)
          << "d " << d << " k " << k;
      c = c / (k + 1) * (d - k) + c % (k + 1) * (d - k) / (k + 1);
    }
  }
}

TEST(SparseCodecEntropyTest, AccurateForHugeDimensions) {
  EXPECT_NEAR(EntropyFloorBits(kMaxSparseDim, 1), 32.0, 1e-9);
  EXPECT_NEAR(EntropyFloorBits(kMaxSparseDim, kMaxSparseDim - 1), 32.0, 1e-9);
  EXPECT_NEAR(EntropyFloorBits(uint64_t{1} << 62, 1), 62.0, 1e-9);
  // Against sum_{i<k} log2((d - i) / (i + 1)) in long double.
  for (const auto& [d, k] : std::vector<std::pair<uint64_t, uint64_t>>{{kMaxSparseDim, 2},
                                                                       {kMaxSparseDim, 1000},
                                                                       {uint64_t{1} << 40, 10},
                                                                       {1 << 20, 1 << 10},
                                                                       {1 << 20, 1 << 19},
                                                                       {1000003, 100003}}) {
    long double sum = 0;
    for (uint64_t i = 0; i < k; ++i) {
      sum +=
          std::log2l(static_cast<long double>(d - i)) - std::log2l(static_cast<long double>(i + 1));
    }
    const double want = static_cast<double>(sum);
    EXPECT_NEAR(EntropyFloorBits(d, k), want, 1e-9 * std::max(1.0, want))
        << "d " << d << " k " << k;
  }
}

// The goal of the compression issue: Rice-coded indices within 0.2 bit/index of log2 C(d, k)
// for uniformly random supports.
TEST(SparseCodecEntropyTest, RiceIsWithinAFifthOfABitOfTheFloor) {
  constexpr uint64_t kDim = 1 << 20;
  for (double density : {1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1}) {
    const uint64_t seed = 50 + static_cast<uint64_t>(density * 1e4);
    Prng rng(seed);
    const uint64_t k = static_cast<uint64_t>(density * kDim);
    const auto indices = RandomSupport(rng, kDim, k);
    EncodeOptions options;
    options.index_coding = IndexCoding::kRice;
    auto bits = MeasureSparse(kDim, indices, options);
    ASSERT_TRUE(bits.ok());
    const double per_index = static_cast<double>(bits->index_bits) / static_cast<double>(k);
    const double floor = EntropyFloorBits(kDim, k) / static_cast<double>(k);
    EXPECT_LT(per_index - floor, 0.2)
        << "seed " << seed << " density " << density << " b " << bits->format.rice_parameter;
    EXPECT_GE(per_index, floor - 0.05) << "seed " << seed;  // sanity: cannot beat it by much
    std::printf("density %.3f: Rice %.3f bits/index (b=%u), floor %.3f, excess %.3f\n", density,
                per_index, bits->format.rice_parameter, floor, per_index - floor);
  }
}

// ---- fp16 / bf16 ----

TEST(HalfFloatTest, HandCheckedValues) {
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(0.5f), 0x3800);
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(FloatToHalf(1.0f / 3), 0x3555);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);   // largest finite
  EXPECT_EQ(FloatToHalf(65519.99f), 0x7bff);  // just below the overflow midpoint
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);   // midpoint: ties to even = Inf
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-1e6f), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // half of it: ties to even = 0
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 units: ties to even = 2
  EXPECT_EQ(FloatToHalf(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie, even stays
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie, odd rounds up
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
}

TEST(HalfFloatTest, BfloatHandCheckedValues) {
  EXPECT_EQ(FloatToBfloat16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBfloat16(-2.0f), 0xc000);
  EXPECT_EQ(FloatToBfloat16(0.1f), 0x3dcd);                               // 0x3dcccccd rounds up
  EXPECT_EQ(FloatToBfloat16(3.14159265f), 0x4049);                        // 0x40490fdb rounds down
  EXPECT_EQ(FloatToBfloat16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(FloatToBfloat16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd up
  EXPECT_EQ(FloatToBfloat16(std::numeric_limits<float>::max()), 0x7f80);  // overflows
  EXPECT_EQ(FloatToBfloat16(std::bit_cast<float>(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(FloatToBfloat16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(FloatToBfloat16(std::bit_cast<float>(0x00018000u)), 0x0002);  // subnormal tie up
  EXPECT_TRUE(std::isnan(Bfloat16ToFloat(FloatToBfloat16(std::nanf("")))));
  EXPECT_EQ(Bfloat16ToFloat(0x3f80), 1.0f);
}

// All 65536 bit patterns: half -> float -> half is the identity (NaN stays NaN), and every
// midpoint between two neighbouring halves rounds to the even one, its neighbours to the
// nearer.
TEST(HalfFloatTest, ExhaustiveHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    const float f = HalfToFloat(half);
    const bool is_nan = (half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0;
    ASSERT_EQ(std::isnan(f), is_nan) << std::hex << h;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(HalfToFloat(FloatToHalf(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(FloatToHalf(f), half) << std::hex << h;
    const uint16_t next = static_cast<uint16_t>(h + 1);
    if ((half & 0x7fff) >= 0x7c00 || (next & 0x7fff) == 0) {
      continue;  // no finite upper neighbour with the same sign
    }
    float g = HalfToFloat(next);
    if (std::isinf(g)) {
      g = std::copysign(65536.0f, f);  // 65504's upper neighbour were there no overflow
    }
    const float mid = (f + g) / 2;  // exact: 11-bit significands fit in 24
    const uint16_t even = (half & 1) == 0 ? half : next;
    ASSERT_EQ(FloatToHalf(mid), even) << std::hex << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, f)), half) << std::hex << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, g)), next) << std::hex << h;
  }
}

TEST(HalfFloatTest, ExhaustiveBfloat16) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t bf = static_cast<uint16_t>(h);
    const float f = Bfloat16ToFloat(bf);
    const bool is_nan = (bf & 0x7f80) == 0x7f80 && (bf & 0x7f) != 0;
    ASSERT_EQ(std::isnan(f), is_nan) << std::hex << h;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(Bfloat16ToFloat(FloatToBfloat16(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(FloatToBfloat16(f), bf) << std::hex << h;
    const uint16_t next = static_cast<uint16_t>(h + 1);
    if ((bf & 0x7fff) >= 0x7f80 || (next & 0x7fff) == 0) {
      continue;
    }
    // The midpoint is the float with the next-lower bf16 bits and 0x8000 below them.
    const float mid = std::bit_cast<float>((uint32_t{bf} << 16) | 0x8000u);
    const float g = Bfloat16ToFloat(next);
    const uint16_t even = (bf & 1) == 0 ? bf : next;
    ASSERT_EQ(FloatToBfloat16(mid), even) << std::hex << h;
    ASSERT_EQ(FloatToBfloat16(std::nextafter(mid, f)), bf) << std::hex << h;
    ASSERT_EQ(FloatToBfloat16(std::nextafter(mid, g)), next) << std::hex << h;
  }
}

// ---- encoder input errors ----

TEST(SparseEncodeErrorTest, RefusesBadInput) {
  const std::vector<float> one = {1.0f};
  const std::vector<float> two = {1.0f, 2.0f};
  auto code = [](const auto& result) { return result.status().code(); };
  const auto kInvalid = StatusCode::kInvalidArgument;
  EXPECT_EQ(code(EncodeSparse(0, {}, {})), kInvalid);
  EXPECT_EQ(code(EncodeSparse(kMaxSparseDim + 1, {}, {})), kInvalid);
  EXPECT_EQ(code(EncodeSparse(10, std::vector<uint32_t>{10}, one)), kInvalid);
  EXPECT_EQ(code(EncodeSparse(10, std::vector<uint32_t>{3, 3}, two)), kInvalid);
  EXPECT_EQ(code(EncodeSparse(10, std::vector<uint32_t>{4, 3}, two)), kInvalid);
  EXPECT_EQ(code(EncodeSparse(10, std::vector<uint32_t>{3}, two)), kInvalid);
  EXPECT_EQ(code(MeasureSparse(10, std::vector<uint32_t>{3, 3})), kInvalid);
  const std::vector<uint32_t> at3 = {3};
  EXPECT_EQ(code(EncodeSparse(10, at3, std::vector<float>{std::nanf("")})), kInvalid);
  EXPECT_EQ(code(EncodeSparse(10, at3, std::vector<float>{-INFINITY})), kInvalid);
  EncodeOptions fp16;
  fp16.value_coding = ValueCoding::kFp16;
  EXPECT_EQ(code(EncodeSparse(10, at3, std::vector<float>{70000.0f}, fp16)), kInvalid);
  EXPECT_TRUE(EncodeSparse(10, at3, std::vector<float>{65504.0f}, fp16).ok());
  EncodeOptions bf16;
  bf16.value_coding = ValueCoding::kBf16;
  EXPECT_EQ(code(EncodeSparse(10, at3, std::vector<float>{3.4028235e38f}, bf16)), kInvalid);

  EncodeOptions ring32;
  ring32.value_coding = ValueCoding::kRing32;
  EXPECT_EQ(code(EncodeSparse(10, at3, one, ring32)), kInvalid);  // float API, ring coding
  EXPECT_EQ(code(EncodeSparseRing(10, at3, std::vector<uint64_t>{1}, {})), kInvalid);
  EXPECT_EQ(code(EncodeSparseRing(10, at3, std::vector<uint64_t>{uint64_t{1} << 32}, ring32)),
            kInvalid);
  ring32.modulus = 7;
  EXPECT_EQ(code(EncodeSparseRing(10, at3, std::vector<uint64_t>{7}, ring32)), kInvalid);
  EXPECT_TRUE(EncodeSparseRing(10, at3, std::vector<uint64_t>{6}, ring32).ok());
  ring32.modulus = 1;
  EXPECT_EQ(code(EncodeSparseRing(10, at3, std::vector<uint64_t>{0}, ring32)), kInvalid);
  ring32.modulus = uint64_t{1} << 32;
  EXPECT_EQ(code(EncodeSparseRing(10, at3, std::vector<uint64_t>{0}, ring32)), kInvalid);
  EncodeOptions float_with_modulus;
  float_with_modulus.modulus = 5;
  EXPECT_EQ(code(EncodeSparse(10, at3, one, float_with_modulus)), kInvalid);
  EncodeOptions bad_b;
  bad_b.rice_parameter = 32;
  EXPECT_EQ(code(EncodeSparse(10, at3, one, bad_b)), kInvalid);
  EncodeOptions bad_coding;
  bad_coding.value_coding = static_cast<ValueCoding>(9);
  EXPECT_EQ(code(EncodeSparse(10, at3, one, bad_coding)), kInvalid);
}

// ---- malformed input: one test per case ----

// A valid message to mutate: Rice, fp32, d 1000, indices {3, 100, 999}.
Bytes ValidRiceFp32() {
  EncodeOptions options;
  options.index_coding = IndexCoding::kRice;
  return *EncodeSparse(1000, std::vector<uint32_t>{3, 100, 999},
                       std::vector<float>{1.0f, -0.5f, 2.0f}, options);
}

Bytes ValidBitmapFp16() {
  EncodeOptions options;
  options.index_coding = IndexCoding::kBitmap;
  options.value_coding = ValueCoding::kFp16;
  return *EncodeSparse(100, std::vector<uint32_t>{0, 7, 64, 99},
                       std::vector<float>{1.0f, -0.5f, 2.0f, 0.25f}, options);
}

StatusCode FloatCode(const Bytes& bytes, DecodeLimits limits = kNoLimits) {
  return DecodeSparse(bytes, limits).status().code();
}

StatusCode RingCode(const Bytes& bytes, DecodeLimits limits = kNoLimits) {
  return DecodeSparseRing(bytes, limits).status().code();
}

// Where the values start in an encoding of (d, indices, options).
uint64_t ValuesBitOffset(uint64_t d, const std::vector<uint32_t>& indices,
                         const EncodeOptions& options) {
  auto bits = MeasureSparse(d, indices, options);
  return bits->header_bits + bits->index_bits;
}

constexpr auto kInvalid = StatusCode::kInvalidArgument;

TEST(SparseDecodeErrorTest, ValidMessagesDecode) {
  EXPECT_TRUE(DecodeSparse(ValidRiceFp32(), kNoLimits).ok());
  EXPECT_TRUE(DecodeSparse(ValidBitmapFp16(), kNoLimits).ok());
}

TEST(SparseDecodeErrorTest, EmptyMessage) { EXPECT_EQ(FloatCode({}), kInvalid); }

TEST(SparseDecodeErrorTest, UnknownVersion) {
  for (uint8_t version : {0, 2, 255}) {
    Bytes bytes = ValidRiceFp32();
    bytes[0] = version;
    EXPECT_EQ(FloatCode(bytes), kInvalid);
  }
}

TEST(SparseDecodeErrorTest, UnknownIndexCoding) {
  Bytes bytes = ValidRiceFp32();
  bytes[1] = 2;
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, UnknownValueCoding) {
  Bytes bytes = ValidRiceFp32();
  bytes[2] = 5;
  EXPECT_EQ(FloatCode(bytes), kInvalid);
  bytes[2] = 0xff;
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

// Every proper prefix of a valid message is refused, for several shapes of message. Each
// prefix is a fresh allocation of exactly its length, so ASan sees any overread.
TEST(SparseDecodeErrorTest, TruncatedAnywhere) {
  Prng rng(60);
  std::vector<Bytes> messages = {ValidRiceFp32(), ValidBitmapFp16()};
  const auto indices = RandomSupport(rng, 5000, 300);
  for (const ValueCase& value_case : kAllValueCases) {
    for (IndexCoding index_coding : {IndexCoding::kRice, IndexCoding::kBitmap}) {
      EncodeOptions options;
      options.value_coding = value_case.coding;
      options.modulus = value_case.modulus;
      options.index_coding = index_coding;
      if (IsRingCoding(value_case.coding)) {
        messages.push_back(*EncodeSparseRing(
            5000, indices, RandomRing(rng, indices.size(), value_case.coding, value_case.modulus),
            options));
      } else {
        messages.push_back(
            *EncodeSparse(5000, indices, RandomFloats(rng, indices.size()), options));
      }
    }
  }
  for (size_t m = 0; m < messages.size(); ++m) {
    const Bytes& full = messages[m];
    ASSERT_TRUE(DecodeAndCheckCanonical(full, kNoLimits).ok()) << "message " << m;
    for (size_t length = 0; length < full.size(); ++length) {
      const Bytes prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(length));
      const Status status = DecodeAndCheckCanonical(prefix, kNoLimits);
      ASSERT_EQ(status.code(), kInvalid) << "message " << m << " length " << length;
    }
  }
}

TEST(SparseDecodeErrorTest, DimensionZero) {
  // version 1, Rice, fp32, d 0, k 0, b 0.
  EXPECT_EQ(FloatCode({0x01, 0x00, 0x00, 0x00, 0x00, 0x00}), kInvalid);
}

TEST(SparseDecodeErrorTest, DimensionAboveTwoToThe32) {
  // d = 2^32 + 1 = varint 81 80 80 80 10, k 0, b 0.
  EXPECT_EQ(FloatCode({0x01, 0x00, 0x00, 0x81, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00}), kInvalid);
  // d = 2^32 exactly is fine.
  EXPECT_TRUE(
      DecodeSparse(Bytes{0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00}, kNoLimits)
          .ok());
}

TEST(SparseDecodeErrorTest, DimensionAboveLimit) {
  EXPECT_EQ(FloatCode(ValidRiceFp32(), {999, 1000}), kInvalid);
  EXPECT_TRUE(DecodeSparse(ValidRiceFp32(), {1000, 3}).ok());
}

TEST(SparseDecodeErrorTest, CountAboveDimension) {
  // d 2, k 3.
  EXPECT_EQ(FloatCode({0x01, 0x01, 0x00, 0x02, 0x03, 0x07}), kInvalid);
  EXPECT_EQ(FloatCode({0x01, 0x00, 0x00, 0x02, 0x03, 0x00, 0xff}), kInvalid);
}

TEST(SparseDecodeErrorTest, CountAboveCap) {
  EXPECT_EQ(FloatCode(ValidRiceFp32(), {1000, 2}), kInvalid);
}

// A huge k in a short message is refused before anything is allocated for it.
TEST(SparseDecodeErrorTest, CountThatTheLengthCannotBack) {
  // d 2^32, k 2^31 (varint 80 80 80 80 08), b 0, then 4 bytes.
  const Bytes bytes = {0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x80,
                       0x80, 0x80, 0x80, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, NonCanonicalVarint) {
  // d = 10 written as 8a 00 (two bytes).
  EXPECT_EQ(FloatCode({0x01, 0x01, 0x00, 0x8a, 0x00, 0x00, 0x00, 0x00}), kInvalid);
  // k = 0 written as 80 00.
  EXPECT_EQ(FloatCode({0x01, 0x01, 0x00, 0x0a, 0x80, 0x00, 0x00, 0x00}), kInvalid);
}

TEST(SparseDecodeErrorTest, OverlongVarint) {
  Bytes eleven = {0x01, 0x00, 0x00};
  eleven.insert(eleven.end(), 10, 0x80);
  eleven.push_back(0x01);
  EXPECT_EQ(FloatCode(eleven), kInvalid);
  // Ten bytes whose last carries bits above 2^64.
  Bytes overflow = {0x01, 0x00, 0x00};
  overflow.insert(overflow.end(), 9, 0xff);
  overflow.push_back(0x02);
  EXPECT_EQ(FloatCode(overflow), kInvalid);
}

TEST(SparseDecodeErrorTest, RiceParameterAbove31) {
  // version, Rice, fp32, d 10, k 0, b 32.
  EXPECT_EQ(FloatCode({0x01, 0x00, 0x00, 0x0a, 0x00, 0x20}), kInvalid);
  EXPECT_TRUE(DecodeSparse(Bytes{0x01, 0x00, 0x00, 0x0a, 0x00, 0x1f}, kNoLimits).ok());
}

TEST(SparseDecodeErrorTest, RiceUnaryRunTooLong) {
  // d 10, k 1, b 0, fp16: the gap's unary run has 10 zeros (max (10 - 1) >> 0 = 9), then a one.
  Bytes bytes = {0x01, 0x00, 0x01, 0x0a, 0x01, 0x00, 0x00, 0x04, 0x00, 0x00};
  EXPECT_EQ(FloatCode(bytes), kInvalid);
  // Nine zeros: index 9, valid (value bits 0).
  bytes[6] = 0x00;
  bytes[7] = 0x02;
  EXPECT_TRUE(DecodeSparse(bytes, kNoLimits).ok()) << DecodeSparse(bytes, kNoLimits).status();
}

// A long all-zero stream with d = 2^32 and b = 0 allows runs of 2^32 - 1; it must end at the
// end of the message, not after 2^32 bits of phantom zeros.
TEST(SparseDecodeErrorTest, RiceRunIntoTheEnd) {
  Bytes bytes = {0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x00};
  bytes.insert(bytes.end(), 4096, 0x00);
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, RiceIndexAtLeastDimension) {
  // d 10, k 1, b 2: q 2 (<= 9 >> 2), r 3: index 11 >= 10. Stream: 0 0 1 | 1 1 | 16 value bits.
  Bytes bytes = {0x01, 0x00, 0x01, 0x0a, 0x01, 0x02, 0x1c, 0x00, 0x00};
  EXPECT_EQ(FloatCode(bytes), kInvalid);
  // r 1: index 9, valid.
  bytes[6] = 0x0c;
  EXPECT_TRUE(DecodeSparse(bytes, kNoLimits).ok()) << DecodeSparse(bytes, kNoLimits).status();
}

// A code word whose terminating one is the 64th bit of a word-aligned peek (found by the
// fuzzer: the remainder shift was 64, undefined behaviour that UBSan reports).
TEST(SparseDecodeErrorTest, RiceCodeWordEndingAtAWordBoundary) {
  // Rice, fp32, d 2^32, k 1, b 0; 63 zeros and a one (index 63); value 0.
  Bytes bytes = {0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x00};
  const Bytes stream = {0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0};
  bytes.insert(bytes.end(), stream.begin(), stream.end());
  auto decoded = DecodeSparse(bytes, kNoLimits);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->indices, std::vector<uint32_t>{63});
  EXPECT_TRUE(DecodeAndCheckCanonical(bytes, kNoLimits).ok());
}

// Index 2^32 - 1 followed by a gap of 0 must not wrap around to index 0.
TEST(SparseDecodeErrorTest, RunningIndexOverflow) {
  EncodeOptions options;
  options.index_coding = IndexCoding::kRice;
  options.rice_parameter = 31;
  options.value_coding = ValueCoding::kRing32;
  const std::vector<uint32_t> indices = {UINT32_MAX - 1, UINT32_MAX};
  Bytes bytes = *EncodeSparseRing(kMaxSparseDim, indices, std::vector<uint64_t>{5, 6}, options);
  ASSERT_TRUE(DecodeSparseRing(bytes, kNoLimits).ok());
  // Change the dimension to 2^32 - 1 (varint ff ff ff ff 0f, same length): the last index
  // becomes >= d.
  Bytes smaller = bytes;
  const Bytes dim_bytes = {0xff, 0xff, 0xff, 0xff, 0x0f};
  std::copy(dim_bytes.begin(), dim_bytes.end(), smaller.begin() + 3);
  EXPECT_EQ(RingCode(smaller), kInvalid);
  // d 2^32: index 2^32 - 1 followed by a gap of 0 is index 2^32 >= d. Hand-written: Rice,
  // ring32, d 2^32, k 2, b 31, modulus 0.
  Bytes two = {0x01, 0x00, 0x03, 0x80, 0x80, 0x80, 0x80, 0x10, 0x02, 0x1f, 0x00};
  // Stream: q 1, r 2^31 - 1 (index 2^32 - 1), then q 0, r 0 (index 2^32).
  Bytes stream((2 + 32 + 1 + 31 + 64 + 7) / 8, 0);
  uint64_t bit = 0;
  SetBits(stream, bit, 2, 0b10);  // q 1: a zero then a one
  bit += 2;
  SetBits(stream, bit, 31, (uint64_t{1} << 31) - 1);
  bit += 31;
  SetBits(stream, bit, 1, 1);  // q 0
  bit += 1;
  bit += 31;  // r 0
  bit += 64;  // two zero values
  stream.resize((bit + 7) / 8);
  two.insert(two.end(), stream.begin(), stream.end());
  EXPECT_EQ(RingCode(two), kInvalid);
}

TEST(SparseDecodeErrorTest, BitmapPopcountAboveCount) {
  Bytes bytes = ValidBitmapFp16();
  const size_t header = ParseSparseHeader(bytes, kNoLimits)->header_bytes;
  bytes[header] |= 0x02;  // index 1 was not set
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, BitmapPopcountBelowCount) {
  Bytes bytes = ValidBitmapFp16();
  const size_t header = ParseSparseHeader(bytes, kNoLimits)->header_bytes;
  bytes[header] &= static_cast<uint8_t>(~0x01);  // clear index 0
  EXPECT_EQ(FloatCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, StrayPaddingBits) {
  for (Bytes bytes : {ValidRiceFp32(), ValidBitmapFp16()}) {
    auto update = DecodeSparse(bytes, kNoLimits);
    ASSERT_TRUE(update.ok());
    auto bits = MeasureSparse(update->dim, update->indices, EncodeOptions::Exactly(update->format));
    ASSERT_TRUE(bits.ok());
    ASSERT_NE(bits->total_bits % 8, 0u) << "need a message with padding";
    bytes.back() |= 0x80;  // the last bit of the last byte is padding
    EXPECT_EQ(FloatCode(bytes), kInvalid);
  }
}

TEST(SparseDecodeErrorTest, TrailingBytes) {
  for (Bytes bytes : {ValidRiceFp32(), ValidBitmapFp16()}) {
    bytes.push_back(0x00);
    EXPECT_EQ(FloatCode(bytes), kInvalid);
  }
}

TEST(SparseDecodeErrorTest, RingElementAtLeastModulus) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kRing32;
  options.modulus = 1024;  // 10 bits, varint 80 08
  Bytes bytes =
      *EncodeSparseRing(50, std::vector<uint32_t>{10, 20}, std::vector<uint64_t>{5, 1023}, options);
  ASSERT_TRUE(DecodeSparseRing(bytes, kNoLimits).ok());
  const size_t header = ParseSparseHeader(bytes, kNoLimits)->header_bytes;
  ASSERT_EQ(bytes[header - 2], 0x80);
  ASSERT_EQ(bytes[header - 1], 0x08);
  // Modulus 1000 (varint e8 07), still 10 bits: 1023 >= 1000.
  bytes[header - 2] = 0xe8;
  bytes[header - 1] = 0x07;
  EXPECT_EQ(RingCode(bytes), kInvalid);
}

TEST(SparseDecodeErrorTest, BadModulus) {
  // Rice, ring32, d 4, k 0, b 0, modulus 1.
  EXPECT_EQ(RingCode({0x01, 0x00, 0x03, 0x04, 0x00, 0x00, 0x01}), kInvalid);
  // ring32 modulus 2^32 (varint 80 80 80 80 10).
  EXPECT_EQ(RingCode({0x01, 0x00, 0x03, 0x04, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10}), kInvalid);
  // The same for ring64 is fine.
  EXPECT_TRUE(
      DecodeSparseRing(Bytes{0x01, 0x00, 0x04, 0x04, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10},
                       kNoLimits)
          .ok());
}

void ExpectBadValue(ValueCoding coding, unsigned width, uint64_t bad) {
  SCOPED_TRACE(CodingName(coding) + " value bits " + std::to_string(bad));
  const std::vector<uint32_t> indices = {2, 40};
  for (IndexCoding index_coding : {IndexCoding::kRice, IndexCoding::kBitmap}) {
    EncodeOptions options;
    options.value_coding = coding;
    options.index_coding = index_coding;
    Bytes bytes = *EncodeSparse(64, indices, std::vector<float>{1.0f, 2.0f}, options);
    ASSERT_TRUE(DecodeSparse(bytes, kNoLimits).ok());
    SetBits(bytes, ValuesBitOffset(64, indices, options) + width, width, bad);  // second value
    EXPECT_EQ(FloatCode(bytes), kInvalid);
  }
}

TEST(SparseDecodeErrorTest, Fp32NanOrInf) {
  ExpectBadValue(ValueCoding::kFp32, 32, 0x7fc00000);  // NaN
  ExpectBadValue(ValueCoding::kFp32, 32, 0xff800000);  // -Inf
}

TEST(SparseDecodeErrorTest, Fp16NanOrInf) {
  ExpectBadValue(ValueCoding::kFp16, 16, 0x7e00);  // NaN
  ExpectBadValue(ValueCoding::kFp16, 16, 0x7c00);  // Inf
  ExpectBadValue(ValueCoding::kFp16, 16, 0xfc01);  // NaN with the sign bit
}

TEST(SparseDecodeErrorTest, Bf16NanOrInf) {
  ExpectBadValue(ValueCoding::kBf16, 16, 0x7fc0);  // NaN
  ExpectBadValue(ValueCoding::kBf16, 16, 0xff80);  // -Inf
}

TEST(SparseDecodeErrorTest, RingMessageToFloatDecoder) {
  EncodeOptions options;
  options.value_coding = ValueCoding::kRing64;
  const Bytes bytes =
      *EncodeSparseRing(10, std::vector<uint32_t>{1}, std::vector<uint64_t>{9}, options);
  EXPECT_EQ(FloatCode(bytes), kInvalid);
  EXPECT_TRUE(DecodeSparseRing(bytes, kNoLimits).ok());
}

TEST(SparseDecodeErrorTest, FloatMessageToRingDecoder) {
  EXPECT_EQ(RingCode(ValidRiceFp32()), kInvalid);
}

// Random byte and bit mutations of valid messages: each either fails with InvalidArgument or
// decodes to something that re-encodes to the same bytes.
TEST(SparseDecodeErrorTest, RandomMutations) {
  const uint64_t seed = 70;
  Prng rng(seed);
  std::vector<Bytes> messages = {ValidRiceFp32(), ValidBitmapFp16()};
  const auto indices = RandomSupport(rng, 700, 40);
  for (const ValueCase& value_case : kAllValueCases) {
    EncodeOptions options;
    options.value_coding = value_case.coding;
    options.modulus = value_case.modulus;
    if (IsRingCoding(value_case.coding)) {
      messages.push_back(*EncodeSparseRing(
          700, indices, RandomRing(rng, indices.size(), value_case.coding, value_case.modulus),
          options));
    } else {
      messages.push_back(*EncodeSparse(700, indices, RandomFloats(rng, indices.size()), options));
    }
  }
  const DecodeLimits limits{1 << 12, 1 << 10};
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    Bytes bytes = messages[rng.UniformInt(messages.size())];
    const uint64_t edits = 1 + rng.UniformInt(3);
    for (uint64_t e = 0; e < edits; ++e) {
      const size_t at = rng.UniformInt(bytes.size());
      switch (rng.UniformInt(4)) {
        case 0:
          bytes[at] ^= static_cast<uint8_t>(1u << rng.UniformInt(8));
          break;
        case 1:
          bytes[at] = static_cast<uint8_t>(rng.Next());
          break;
        case 2:
          bytes.resize(at);
          break;
        default:
          bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(at),
                       static_cast<uint8_t>(rng.Next()));
          break;
      }
      if (bytes.empty()) {
        break;
      }
    }
    const Status status = DecodeAndCheckCanonical(bytes, limits);
    if (status.ok()) {
      ++accepted;
    } else {
      ASSERT_TRUE(status.code() == kInvalid)
          << "seed " << seed << " trial " << trial << ": " << status;
    }
    if (HasFailure()) {
      FAIL() << "seed " << seed << " trial " << trial;
    }
  }
  std::printf("%d of 20000 mutated messages were still valid\n", accepted);
}

}  // namespace
}  // namespace sotto::compress
