// Tests of the client compression stack (sotto/core/compress/compressor.h): exact per-coordinate
// conservation for every sparsifier x value coding x error-feedback policy, the count each
// sparsifier sends, the shared random-k support, the step-ahead point, the error-averaging
// hooks, refused options and inputs (state untouched), and that Compress does not allocate.
// Every randomized test uses a fixed seed and names it in its failure messages.

#include "sotto/core/compress/compressor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "allocation_counter.h"
#include "sotto/base/random.h"
#include "sotto/core/compress/sparse_codec.h"

// Allocation counting (Compress must not allocate): malloc and friends are replaced for this
// binary (glibc exports the real allocator as __libc_*), so allocations inside libstdc++ and
// the kernels count too. Skipped under sanitizers, which install their own allocator.
namespace sotto::compress {
namespace {

uint32_t Bits(float x) { return std::bit_cast<uint32_t>(x); }

std::vector<float> RandomUpdate(Prng& rng, size_t d, double scale = 1.0) {
  std::vector<float> u(d);
  for (float& v : u) {
    v = static_cast<float>(rng.Normal() * scale);
  }
  return u;
}

std::vector<float> Densify(const SparseUpdate& s, size_t d) {
  std::vector<float> dense(d, 0.0f);
  for (size_t j = 0; j < s.indices.size(); ++j) {
    dense[s.indices[j]] = s.values[j];
  }
  return dense;
}

float Wire(float a, ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp16:
      return HalfToFloat(FloatToHalf(a));
    case ValueCoding::kBf16:
      return Bfloat16ToFloat(FloatToBfloat16(a));
    default:
      return a;
  }
}

std::string CodingName(ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp32:
      return "fp32";
    case ValueCoding::kFp16:
      return "fp16";
    case ValueCoding::kBf16:
      return "bf16";
    default:
      return "ring";
  }
}

CompressorOptions Options(SparsifierKind kind, ValueCoding coding, ErrorFeedback ef) {
  CompressorOptions o;
  o.sparsifier = kind;
  o.value_coding = coding;
  o.error_feedback = ef;
  o.density = 0.05;
  o.threshold = 1.5f;
  o.support_seed = 77;
  return o;
}

// ---- The matrix: sparsifier x value coding x error feedback ----------------------------------

using MatrixParam = std::tuple<SparsifierKind, ValueCoding, ErrorFeedback>;

class CompressorMatrixTest : public ::testing::TestWithParam<MatrixParam> {};

TEST_P(CompressorMatrixTest, ConservesExactlyAndSendsTheRightCount) {
  const auto [kind, coding, ef] = GetParam();
  constexpr size_t kDim = 1031;
  constexpr int kRounds = 8;
  const uint64_t seed = 1000 + static_cast<uint64_t>(kind) * 100 +
                        static_cast<uint64_t>(coding) * 10 + static_cast<uint64_t>(ef);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const CompressorOptions options = Options(kind, coding, ef);
  auto created = Compressor::Create(options, kDim);
  ASSERT_TRUE(created.ok()) << created.status();
  Compressor& c = **created;
  const size_t k = KForDensity(kDim, options.density);
  ASSERT_EQ(k, 52u);

  Prng rng(seed);
  SparseUpdate out;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Mostly N(0,1), with a few large entries so that fp16 rounding errors are large too.
    std::vector<float> u = RandomUpdate(rng, kDim);
    for (int j = 0; j < 5; ++j) {
      u[rng.UniformInt(kDim)] = static_cast<float>(rng.Normal() * 3000.0);
    }
    const std::vector<float> e_old(c.error().begin(), c.error().end());
    ASSERT_TRUE(c.Compress(u, static_cast<uint64_t>(round), &out).ok());
    const std::vector<float> e_new(c.error().begin(), c.error().end());

    ASSERT_EQ(out.dim, kDim);
    EXPECT_EQ(out.format.value_coding, coding);
    ASSERT_EQ(out.values.size(), out.indices.size());
    for (size_t j = 0; j < out.indices.size(); ++j) {
      ASSERT_LT(out.indices[j], kDim);
      if (j > 0) {
        ASSERT_LT(out.indices[j - 1], out.indices[j]);
      }
      // Values are exactly representable in the value coding (they are what goes on the wire).
      EXPECT_EQ(Bits(Wire(out.values[j], coding)), Bits(out.values[j]));
      EXPECT_TRUE(std::isfinite(out.values[j]));
    }

    // How many are sent.
    const size_t count = out.indices.size();
    switch (kind) {
      case SparsifierKind::kIdentity:
        EXPECT_EQ(count, kDim);
        break;
      case SparsifierKind::kTopK:
      case SparsifierKind::kRandomK:
        EXPECT_EQ(count, k);
        break;
      case SparsifierKind::kGaussianK:
        EXPECT_GE(count, 1u);
        EXPECT_LE(count, (4 * k + 2) / 3);
        break;
      case SparsifierKind::kThreshold: {
        size_t above = 0;
        for (size_t i = 0; i < kDim; ++i) {
          above += std::fabs(u[i] + e_old[i]) > options.threshold;
        }
        EXPECT_EQ(count, above);
        break;
      }
    }

    const std::vector<float> sent = Densify(out, kDim);
    if (ef == ErrorFeedback::kNone) {
      // Nothing is carried: e stays zero, and a sent value is the wire rounding of u_i.
      for (size_t i = 0; i < kDim; ++i) {
        ASSERT_EQ(Bits(e_new[i]), 0u) << "i=" << i;
      }
      for (size_t j = 0; j < count; ++j) {
        ASSERT_EQ(Bits(out.values[j]), Bits(Wire(u[out.indices[j]], coding)));
      }
    } else {
      for (size_t i = 0; i < kDim; ++i) {
        ASSERT_EQ(Bits(sent[i] + e_new[i]), Bits(u[i] + e_old[i]))
            << "i=" << i << " u=" << u[i] << " e_old=" << e_old[i] << " sent=" << sent[i]
            << " e_new=" << e_new[i];
      }
    }
    if (kind == SparsifierKind::kTopK) {
      // Every sent coordinate is at least as large as every unsent one (|a|, before rounding).
      float min_sent = std::numeric_limits<float>::infinity();
      float max_unsent = 0.0f;
      std::vector<bool> in(kDim, false);
      for (uint32_t i : out.indices) {
        in[i] = true;
      }
      for (size_t i = 0; i < kDim; ++i) {
        const float a = std::fabs(u[i] + e_old[i]);
        if (in[i]) {
          min_sent = std::min(min_sent, a);
        } else {
          max_unsent = std::max(max_unsent, a);
        }
      }
      EXPECT_GE(min_sent, max_unsent);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, CompressorMatrixTest,
    ::testing::Combine(::testing::Values(SparsifierKind::kIdentity, SparsifierKind::kTopK,
                                         SparsifierKind::kGaussianK, SparsifierKind::kThreshold,
                                         SparsifierKind::kRandomK),
                       ::testing::Values(ValueCoding::kFp32, ValueCoding::kFp16,
                                         ValueCoding::kBf16),
                       ::testing::Values(ErrorFeedback::kNone, ErrorFeedback::kClassic,
                                         ErrorFeedback::kStepAhead)),
    [](const ::testing::TestParamInfo<MatrixParam>& info) {
      return std::string(SparsifierKindName(std::get<0>(info.param))) + "_" +
             CodingName(std::get<1>(info.param)) + "_" +
             std::string(ErrorFeedbackName(std::get<2>(info.param)));
    });

// ---- Single behaviours ----------------------------------------------------------------------

TEST(CompressorTest, IdentitySendsEverythingExactlyInFp32) {
  constexpr size_t kDim = 257;
  Prng rng(5);
  auto c = Compressor::Create(
      Options(SparsifierKind::kIdentity, ValueCoding::kFp32, ErrorFeedback::kClassic), kDim);
  ASSERT_TRUE(c.ok()) << c.status();
  SparseUpdate out;
  for (int round = 1; round <= 3; ++round) {
    const std::vector<float> u = RandomUpdate(rng, kDim);
    ASSERT_TRUE((*c)->Compress(u, static_cast<uint64_t>(round), &out).ok());
    ASSERT_EQ(out.indices.size(), kDim);
    for (size_t i = 0; i < kDim; ++i) {
      EXPECT_EQ(out.indices[i], i);
      EXPECT_EQ(Bits(out.values[i]), Bits(u[i]));
      EXPECT_EQ(Bits((*c)->error()[i]), 0u);
    }
  }
}

TEST(CompressorTest, KMatchesDensity) {
  EXPECT_EQ(KForDensity(1000, 0.01), 10u);
  EXPECT_EQ(KForDensity(1000, 0.0104), 10u);
  EXPECT_EQ(KForDensity(1000, 0.0106), 11u);
  EXPECT_EQ(KForDensity(10, 0.01), 1u);  // at least one
  EXPECT_EQ(KForDensity(10, 1.0), 10u);
  EXPECT_EQ(KForDensity(1, 0.5), 1u);
  EXPECT_EQ(KForDensity(7, 0.5), 4u);  // round(3.5)
  EXPECT_EQ(KForDensity(size_t{1} << 30, 0.001), 1073742u);

  for (const auto& [d, density] : std::vector<std::pair<size_t, double>>{
           {1, 1.0}, {2, 0.5}, {100, 0.01}, {4099, 0.003}, {10000, 0.25}}) {
    for (SparsifierKind kind : {SparsifierKind::kTopK, SparsifierKind::kRandomK}) {
      CompressorOptions o = Options(kind, ValueCoding::kFp32, ErrorFeedback::kClassic);
      o.density = density;
      auto c = Compressor::Create(o, d);
      ASSERT_TRUE(c.ok()) << c.status();
      Prng rng(d);
      SparseUpdate out;
      ASSERT_TRUE((*c)->Compress(RandomUpdate(rng, d), 1, &out).ok());
      EXPECT_EQ(out.indices.size(), KForDensity(d, density))
          << SparsifierKindName(kind) << " d=" << d << " density=" << density;
    }
  }
}

TEST(CompressorTest, RandomKSupportIsSharedAndChangesEveryRound) {
  constexpr size_t kDim = 5000;
  CompressorOptions o =
      Options(SparsifierKind::kRandomK, ValueCoding::kFp32, ErrorFeedback::kClassic);
  o.density = 0.02;
  auto a = Compressor::Create(o, kDim);
  auto b = Compressor::Create(o, kDim);
  o.support_seed = 78;
  auto other_seed = Compressor::Create(o, kDim);
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok());

  Prng rng(9);
  SparseUpdate out_a;
  SparseUpdate out_b;
  std::vector<uint32_t> previous;
  for (uint64_t round = 1; round <= 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<uint32_t> support_a;
    std::vector<uint32_t> support_b;
    std::vector<uint32_t> support_other;
    ASSERT_TRUE((*a)->RandomSupport(round, &support_a).ok());
    ASSERT_TRUE((*b)->RandomSupport(round, &support_b).ok());
    ASSERT_TRUE((*other_seed)->RandomSupport(round, &support_other).ok());
    EXPECT_EQ(support_a.size(), KForDensity(kDim, o.density));
    EXPECT_EQ(support_a, support_b);
    EXPECT_NE(support_a, support_other);
    EXPECT_NE(support_a, previous);
    EXPECT_TRUE(std::is_sorted(support_a.begin(), support_a.end()));

    // Different clients (different updates and errors) send on the same support.
    ASSERT_TRUE((*a)->Compress(RandomUpdate(rng, kDim), round, &out_a).ok());
    ASSERT_TRUE((*b)->Compress(RandomUpdate(rng, kDim, 10.0), round, &out_b).ok());
    EXPECT_EQ(out_a.indices, support_a);
    EXPECT_EQ(out_b.indices, support_a);
    previous = support_a;
  }

  auto topk = Compressor::Create(
      Options(SparsifierKind::kTopK, ValueCoding::kFp32, ErrorFeedback::kClassic), kDim);
  ASSERT_TRUE(topk.ok());
  std::vector<uint32_t> support;
  EXPECT_EQ((*topk)->RandomSupport(1, &support).code(), StatusCode::kFailedPrecondition);
}

TEST(CompressorTest, StepAheadPoint) {
  constexpr size_t kDim = 300;
  Prng rng(11);
  const std::vector<float> x = RandomUpdate(rng, kDim);
  for (ErrorFeedback ef :
       {ErrorFeedback::kNone, ErrorFeedback::kClassic, ErrorFeedback::kStepAhead}) {
    SCOPED_TRACE(std::string(ErrorFeedbackName(ef)));
    auto c = Compressor::Create(Options(SparsifierKind::kTopK, ValueCoding::kFp32, ef), kDim);
    ASSERT_TRUE(c.ok());
    SparseUpdate out;
    ASSERT_TRUE((*c)->Compress(RandomUpdate(rng, kDim), 1, &out).ok());
    std::vector<float> point(kDim);
    (*c)->StepAheadPoint(x, 0.25f, point);
    const std::span<const float> e = (*c)->error();
    bool any_error = false;
    for (size_t i = 0; i < kDim; ++i) {
      const float expected = ef == ErrorFeedback::kStepAhead ? x[i] - 0.25f * e[i] : x[i];
      ASSERT_EQ(Bits(point[i]), Bits(expected)) << "i=" << i;
      any_error = any_error || e[i] != 0.0f;
    }
    EXPECT_EQ(any_error, ef != ErrorFeedback::kNone);
  }
}

TEST(CompressorTest, ErrorAveragingHooks) {
  constexpr size_t kDim = 64;
  CompressorOptions o =
      Options(SparsifierKind::kTopK, ValueCoding::kFp32, ErrorFeedback::kStepAhead);
  o.averaging_period = 3;
  auto c = Compressor::Create(o, kDim);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->ShouldAverageError(0));
  EXPECT_FALSE((*c)->ShouldAverageError(1));
  EXPECT_FALSE((*c)->ShouldAverageError(2));
  EXPECT_TRUE((*c)->ShouldAverageError(3));
  EXPECT_FALSE((*c)->ShouldAverageError(4));
  EXPECT_TRUE((*c)->ShouldAverageError(6));
  EXPECT_TRUE((*c)->ShouldAverageError(300));

  o.averaging_period = 1;
  auto every = Compressor::Create(o, kDim);
  ASSERT_TRUE(every.ok());
  EXPECT_TRUE((*every)->ShouldAverageError(1));
  EXPECT_TRUE((*every)->ShouldAverageError(2));

  o.averaging_period = 0;
  auto never = Compressor::Create(o, kDim);
  ASSERT_TRUE(never.ok());
  o.averaging_period = 3;
  o.error_feedback = ErrorFeedback::kNone;
  auto none = Compressor::Create(o, kDim);
  ASSERT_TRUE(none.ok());
  for (uint64_t round = 0; round < 10; ++round) {
    EXPECT_FALSE((*never)->ShouldAverageError(round));
    EXPECT_FALSE((*none)->ShouldAverageError(round));
  }

  // SetError replaces the memory, and the next round feeds it back.
  Prng rng(12);
  const std::vector<float> mean = RandomUpdate(rng, kDim);
  ASSERT_TRUE((*c)->SetError(mean).ok());
  for (size_t i = 0; i < kDim; ++i) {
    ASSERT_EQ(Bits((*c)->error()[i]), Bits(mean[i]));
  }
  const std::vector<float> u = RandomUpdate(rng, kDim);
  SparseUpdate out;
  ASSERT_TRUE((*c)->Compress(u, 4, &out).ok());
  const std::vector<float> sent = Densify(out, kDim);
  for (size_t i = 0; i < kDim; ++i) {
    ASSERT_EQ(Bits(sent[i] + (*c)->error()[i]), Bits(u[i] + mean[i]));
  }

  // Refused: length mismatch, non-finite values; the memory is untouched.
  const std::vector<float> before((*c)->error().begin(), (*c)->error().end());
  EXPECT_EQ((*c)->SetError(std::vector<float>(kDim - 1, 0.0f)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*c)->SetError(std::vector<float>(kDim + 1, 0.0f)).code(),
            StatusCode::kInvalidArgument);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> e = mean;
    e[17] = bad;
    EXPECT_EQ((*c)->SetError(e).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(std::vector<float>((*c)->error().begin(), (*c)->error().end()), before);

  // Without error feedback the memory stays zero: zeros are accepted, anything else is not.
  EXPECT_TRUE((*none)->SetError(std::vector<float>(kDim, 0.0f)).ok());
  EXPECT_EQ((*none)->SetError(mean).code(), StatusCode::kFailedPrecondition);
}

TEST(CompressorTest, ThreadsGiveTheSameResult) {
  constexpr size_t kDim = 300000;
  for (SparsifierKind kind : {SparsifierKind::kTopK, SparsifierKind::kGaussianK,
                              SparsifierKind::kThreshold, SparsifierKind::kRandomK}) {
    SCOPED_TRACE(std::string(SparsifierKindName(kind)));
    CompressorOptions o = Options(kind, ValueCoding::kFp16, ErrorFeedback::kClassic);
    o.density = 0.01;
    o.threshold = 2.5f;
    auto one = Compressor::Create(o, kDim);
    o.threads = 4;
    auto four = Compressor::Create(o, kDim);
    ASSERT_TRUE(one.ok() && four.ok()) << four.status();
    Prng rng(21);
    SparseUpdate out_one;
    SparseUpdate out_four;
    for (uint64_t round = 1; round <= 2; ++round) {
      const std::vector<float> u = RandomUpdate(rng, kDim);
      ASSERT_TRUE((*one)->Compress(u, round, &out_one).ok());
      ASSERT_TRUE((*four)->Compress(u, round, &out_four).ok());
      EXPECT_EQ(out_one.indices, out_four.indices);
      EXPECT_EQ(out_one.values, out_four.values);
      EXPECT_TRUE(
          std::equal((*one)->error().begin(), (*one)->error().end(), (*four)->error().begin()));
    }
  }
}

TEST(CompressorTest, Fp16SaturatesAndKeepsTheExcess) {
  CompressorOptions o =
      Options(SparsifierKind::kIdentity, ValueCoding::kFp16, ErrorFeedback::kClassic);
  auto c = Compressor::Create(o, 4);
  ASSERT_TRUE(c.ok());
  const std::vector<float> u = {70000.0f, -1.0e8f, 65519.0f, 0.1f};
  SparseUpdate out;
  ASSERT_TRUE((*c)->Compress(u, 1, &out).ok());
  ASSERT_EQ(out.values.size(), 4u);
  EXPECT_EQ(out.values[0], 65504.0f);
  EXPECT_EQ(out.values[1], -65504.0f);
  EXPECT_EQ(out.values[2], 65504.0f);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(Bits(out.values[i] + (*c)->error()[i]), Bits(u[i])) << "i=" << i;
  }
  // The encoder accepts what Compress produced.
  EncodeOptions eo;
  eo.value_coding = ValueCoding::kFp16;
  EXPECT_TRUE(EncodeSparse(4, out.indices, out.values, eo).ok());
}

// ---- Refused options and inputs --------------------------------------------------------------

TEST(CompressorTest, BadOptionsNameTheField) {
  struct Case {
    const char* field;
    void (*mutate)(CompressorOptions&);
  };
  const Case cases[] = {
      {"density", [](CompressorOptions& o) { o.density = 0.0; }},
      {"density", [](CompressorOptions& o) { o.density = -0.1; }},
      {"density", [](CompressorOptions& o) { o.density = 1.5; }},
      {"density", [](CompressorOptions& o) { o.density = std::nan(""); }},
      {"threshold", [](CompressorOptions& o) { o.threshold = -1.0f; }},
      {"threshold", [](CompressorOptions& o) { o.threshold = std::nanf(""); }},
      {"averaging_period", [](CompressorOptions& o) { o.averaging_period = -1; }},
      {"value_coding", [](CompressorOptions& o) { o.value_coding = ValueCoding::kRing32; }},
      {"value_coding", [](CompressorOptions& o) { o.value_coding = ValueCoding::kRing64; }},
      {"threads", [](CompressorOptions& o) { o.threads = 0; }},
      {"threads", [](CompressorOptions& o) { o.threads = -3; }},
      {"sparsifier", [](CompressorOptions& o) { o.sparsifier = static_cast<SparsifierKind>(9); }},
      {"error_feedback",
       [](CompressorOptions& o) { o.error_feedback = static_cast<ErrorFeedback>(9); }},
  };
  for (const Case& c : cases) {
    CompressorOptions o;
    c.mutate(o);
    const Status s = ValidateCompressorOptions(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string_view::npos) << s;
    EXPECT_EQ(Compressor::Create(o, 100).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateCompressorOptions(CompressorOptions{}).ok());
  EXPECT_EQ(Compressor::Create(CompressorOptions{}, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CompressorTest, NonFiniteUpdateIsRefusedWithTheStateUntouched) {
  constexpr size_t kDim = 500;
  for (SparsifierKind kind :
       {SparsifierKind::kIdentity, SparsifierKind::kTopK, SparsifierKind::kGaussianK,
        SparsifierKind::kThreshold, SparsifierKind::kRandomK}) {
    for (ValueCoding coding : {ValueCoding::kFp32, ValueCoding::kFp16}) {
      SCOPED_TRACE(std::string(SparsifierKindName(kind)) + " " + CodingName(coding));
      auto c = Compressor::Create(Options(kind, coding, ErrorFeedback::kClassic), kDim);
      ASSERT_TRUE(c.ok());
      Prng rng(31);
      SparseUpdate out;
      ASSERT_TRUE((*c)->Compress(RandomUpdate(rng, kDim), 1, &out).ok());
      const std::vector<float> e_before((*c)->error().begin(), (*c)->error().end());
      const SparseUpdate out_before = out;

      std::vector<float> bad_values = {std::numeric_limits<float>::quiet_NaN(),
                                       std::numeric_limits<float>::infinity(),
                                       -std::numeric_limits<float>::infinity()};
      if (coding == ValueCoding::kFp16) {
        bad_values.push_back(1.0e9f);  // beyond what fp16 with error feedback carries exactly
      }
      for (float bad : bad_values) {
        std::vector<float> u = RandomUpdate(rng, kDim);
        u[kDim - 3] = bad;
        const Status s = (*c)->Compress(u, 2, &out);
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
        EXPECT_NE(s.message().find(std::to_string(kDim - 3)), std::string_view::npos) << s;
        EXPECT_TRUE(std::equal(e_before.begin(), e_before.end(), (*c)->error().begin(),
                               [](float x, float y) { return Bits(x) == Bits(y); }));
        EXPECT_EQ(out.indices, out_before.indices);
        EXPECT_EQ(out.values, out_before.values);
      }
      // A finite u whose sum with e overflows float is refused too.
      {
        auto fresh = Compressor::Create(Options(kind, coding, ErrorFeedback::kClassic), 2);
        ASSERT_TRUE(fresh.ok());
        ASSERT_TRUE((*fresh)->SetError(std::vector<float>{3.0e38f, 0.0f}).ok());
        const std::vector<float> u2 = {3.0e38f, 0.0f};
        EXPECT_EQ((*fresh)->Compress(u2, 1, &out).code(), StatusCode::kInvalidArgument);
        EXPECT_EQ((*fresh)->error()[0], 3.0e38f);
      }
      EXPECT_EQ((*c)->Compress(std::vector<float>(kDim - 1, 0.0f), 2, &out).code(),
                StatusCode::kInvalidArgument);
      EXPECT_EQ((*c)->Compress(std::vector<float>(kDim, 0.0f), 2, nullptr).code(),
                StatusCode::kInvalidArgument);
      EXPECT_TRUE(std::equal(e_before.begin(), e_before.end(), (*c)->error().begin()));
    }
  }
}

TEST(CompressorTest, ParseAndNames) {
  for (SparsifierKind kind :
       {SparsifierKind::kIdentity, SparsifierKind::kTopK, SparsifierKind::kGaussianK,
        SparsifierKind::kThreshold, SparsifierKind::kRandomK}) {
    auto parsed = ParseSparsifierKind(SparsifierKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  for (ErrorFeedback ef :
       {ErrorFeedback::kNone, ErrorFeedback::kClassic, ErrorFeedback::kStepAhead}) {
    auto parsed = ParseErrorFeedback(ErrorFeedbackName(ef));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, ef);
  }
  EXPECT_EQ(SparsifierKindName(SparsifierKind::kGaussianK), "gaussiank");
  EXPECT_EQ(ErrorFeedbackName(ErrorFeedback::kClassic), "ef");
  EXPECT_EQ(ParseSparsifierKind("top-k").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseErrorFeedback("").status().code(), StatusCode::kInvalidArgument);
}

TEST(CompressorTest, CompressDoesNotAllocate) {
  if (!sotto::testing::AllocationCountingAvailable()) {
    GTEST_SKIP() << "allocation counting is off under sanitizers";
  }
  constexpr size_t kDim = 20000;
  for (SparsifierKind kind :
       {SparsifierKind::kIdentity, SparsifierKind::kTopK, SparsifierKind::kGaussianK,
        SparsifierKind::kThreshold, SparsifierKind::kRandomK}) {
    for (ErrorFeedback ef : {ErrorFeedback::kNone, ErrorFeedback::kClassic}) {
      SCOPED_TRACE(std::string(SparsifierKindName(kind)) + " " +
                   std::string(ErrorFeedbackName(ef)));
      CompressorOptions o = Options(kind, ValueCoding::kFp16, ef);
      o.threshold = 3.0f;  // few pass at first, more as the error builds up
      auto c = Compressor::Create(o, kDim);
      ASSERT_TRUE(c.ok());
      Prng rng(41);
      std::vector<std::vector<float>> updates;
      for (int r = 0; r < 4; ++r) {
        updates.push_back(RandomUpdate(rng, kDim));
      }
      // A message as large as any Compress can produce, as a caller reusing it would have.
      SparseUpdate out;
      out.indices.reserve(kDim);
      out.values.reserve(kDim);
      Status s;
      const size_t allocations = sotto::testing::AllocationsDuring([&] {
        for (uint64_t r = 0; r < updates.size() && s.ok(); ++r) {
          s = (*c)->Compress(updates[r], r + 1, &out);
        }
      });
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_EQ(allocations, 0u);
    }
  }
}

}  // namespace
}  // namespace sotto::compress

namespace sotto::compress {
namespace {

// Error feedback on a support fixed by a secure-aggregation policy: on S the value a = u + e
// is handed out and e becomes 0; off S, e = a; the residual handed back lands in e on S.
TEST(CompressorOnSupportTest, ConservesAndTakesTheResidualBack) {
  constexpr uint64_t kSeed = 4242;
  constexpr size_t kDim = 1000;
  Prng rng(kSeed);
  CompressorOptions options;  // top-k 1 %, classic EF: the sparsifier is bypassed
  auto compressor = Compressor::Create(options, kDim);
  ASSERT_TRUE(compressor.ok()) << compressor.status();
  Compressor& c = **compressor;

  std::vector<uint32_t> support;
  for (uint32_t i = 3; i < kDim; i += 7) support.push_back(i);
  for (int round = 0; round < 4; ++round) {
    const std::vector<float> u = RandomUpdate(rng, kDim);
    const std::vector<float> e_old(c.error().begin(), c.error().end());
    std::vector<float> values(support.size());
    ASSERT_TRUE(c.CompressOnSupport(u, support, values).ok());
    std::vector<bool> on(kDim, false);
    for (size_t j = 0; j < support.size(); ++j) {
      on[support[j]] = true;
      EXPECT_EQ(Bits(values[j]), Bits(u[support[j]] + e_old[support[j]]))
          << "seed " << kSeed << ", round " << round << ", entry " << j;
    }
    for (size_t i = 0; i < kDim; ++i) {
      EXPECT_EQ(Bits(c.error()[i]), Bits(on[i] ? 0.0f : u[i] + e_old[i]))
          << "seed " << kSeed << ", round " << round << ", coordinate " << i;
    }
    // The ring carried a clipped value: the rest goes back into e on S.
    std::vector<float> residual(support.size());
    for (size_t j = 0; j < support.size(); ++j) {
      residual[j] = values[j] - std::clamp(values[j], -0.5f, 0.5f);
    }
    ASSERT_TRUE(c.AddResidual(support, residual).ok());
    for (size_t j = 0; j < support.size(); ++j) {
      EXPECT_EQ(Bits(c.error()[support[j]]), Bits(residual[j])) << "seed " << kSeed;
    }
  }
}

TEST(CompressorOnSupportTest, RefusesBadInputsWithTheStateUntouched) {
  constexpr size_t kDim = 64;
  auto compressor = Compressor::Create(CompressorOptions{}, kDim);
  ASSERT_TRUE(compressor.ok());
  Compressor& c = **compressor;
  std::vector<float> u(kDim, 1.0f);
  std::vector<float> values(2);
  ASSERT_TRUE(c.CompressOnSupport(u, std::vector<uint32_t>{1, 2}, values).ok());
  const std::vector<float> before(c.error().begin(), c.error().end());

  EXPECT_EQ(c.CompressOnSupport(u, std::vector<uint32_t>{2, 1}, values).code(),
            StatusCode::kInvalidArgument);  // not ascending
  EXPECT_EQ(c.CompressOnSupport(u, std::vector<uint32_t>{1, kDim}, values).code(),
            StatusCode::kInvalidArgument);  // out of range
  EXPECT_EQ(c.CompressOnSupport(u, std::vector<uint32_t>{1}, values).code(),
            StatusCode::kInvalidArgument);  // sizes differ
  std::vector<float> bad = u;
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(c.CompressOnSupport(bad, std::vector<uint32_t>{1, 2}, values).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c.AddResidual(std::vector<uint32_t>{1, 2}, std::vector<float>{1.0f}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c.AddResidual(std::vector<uint32_t>{kDim}, std::vector<float>{1.0f}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c.AddResidual(std::vector<uint32_t>{1}, std::vector<float>{INFINITY}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(std::vector<float>(c.error().begin(), c.error().end()), before);
}

TEST(CompressorOnSupportTest, WithoutErrorFeedbackNothingIsKept) {
  CompressorOptions options;
  options.error_feedback = ErrorFeedback::kNone;
  auto compressor = Compressor::Create(options, 16);
  ASSERT_TRUE(compressor.ok());
  std::vector<float> u(16, 2.0f);
  std::vector<float> values(1);
  ASSERT_TRUE((*compressor)->CompressOnSupport(u, std::vector<uint32_t>{4}, values).ok());
  EXPECT_EQ(values[0], 2.0f);
  ASSERT_TRUE((*compressor)->AddResidual(std::vector<uint32_t>{4}, values).ok());
  for (float e : (*compressor)->error()) EXPECT_EQ(e, 0.0f);
}

}  // namespace
}  // namespace sotto::compress
