#include "learn/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "sotto/base/random.h"

namespace sotto::learn {
namespace {

constexpr uint64_t kSeed = 20261128;

struct Shape {
  size_t m, n, k;
};

void PrintTo(const Shape& s, std::ostream* os) { *os << s.m << 'x' << s.n << 'x' << s.k; }

// A rows x cols row-major matrix with row stride `stride` >= cols, padding filled with NaN so
// that reading it would poison the result.
std::vector<float> RandomMatrix(size_t rows, size_t cols, size_t stride, Prng& rng) {
  std::vector<float> out(rows * stride, NAN);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      out[r * stride + c] = static_cast<float>(2.0 * rng.Uniform() - 1.0);
    }
  }
  return out;
}

// op(X)(i, j) of a row-major matrix with stride ld.
float At(const std::vector<float>& x, size_t ld, bool transpose, size_t i, size_t j) {
  return transpose ? x[j * ld + i] : x[i * ld + j];
}

class GemmTest : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmTest, MatchesNaiveProductForEveryTransposition) {
  const Shape s = GetParam();
  Prng rng(kSeed);
  Gemm gemm;
  for (bool transpose_a : {false, true}) {
    for (bool transpose_b : {false, true}) {
      for (bool accumulate : {false, true}) {
        // Strides one wider than the rows they hold, to catch stride mix-ups.
        const size_t a_rows = transpose_a ? s.k : s.m;
        const size_t a_cols = transpose_a ? s.m : s.k;
        const size_t b_rows = transpose_b ? s.n : s.k;
        const size_t b_cols = transpose_b ? s.k : s.n;
        const size_t lda = a_cols + 1, ldb = b_cols + 1, ldc = s.n + 1;
        const std::vector<float> a = RandomMatrix(a_rows, a_cols, lda, rng);
        const std::vector<float> b = RandomMatrix(b_rows, b_cols, ldb, rng);
        std::vector<float> c = RandomMatrix(s.m, s.n, ldc, rng);
        const std::vector<float> c0 = c;
        gemm.Multiply(transpose_a, transpose_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb,
                      c.data(), ldc, accumulate);
        for (size_t i = 0; i < s.m; ++i) {
          for (size_t j = 0; j < s.n; ++j) {
            double expected = accumulate ? c0[i * ldc + j] : 0.0;
            for (size_t p = 0; p < s.k; ++p) {
              expected += static_cast<double>(At(a, lda, transpose_a, i, p)) *
                          At(b, ldb, transpose_b, p, j);
            }
            ASSERT_NEAR(c[i * ldc + j], expected, 1e-5 * (1.0 + std::sqrt(double(s.k))))
                << "C(" << i << ", " << j << ") transpose_a " << transpose_a << " transpose_b "
                << transpose_b << " accumulate " << accumulate << " seed " << kSeed;
          }
          ASSERT_TRUE(std::isnan(c[i * ldc + s.n])) << "wrote past row " << i;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{0, 3, 2}, Shape{3, 2, 0},
                                           Shape{3, 5, 7}, Shape{31, 33, 32}, Shape{1, 40, 50},
                                           Shape{50, 1, 60}, Shape{32, 128, 784},
                                           Shape{128, 784, 32}, Shape{70, 90, 1100}),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return std::to_string(info.param.m) + "x" +
                                  std::to_string(info.param.n) + "x" + std::to_string(info.param.k);
                         });

TEST(GemmHistoryTest, ResultDoesNotDependOnEarlierProducts) {
  // A Gemm that has seen a larger product must block a smaller one exactly as a fresh one does,
  // so that a model's results do not depend on what it computed before.
  Prng rng(kSeed);
  const size_t m = 40, n = 50, k = 900;
  const std::vector<float> a = RandomMatrix(m, k, k, rng);
  const std::vector<float> b = RandomMatrix(k, n, n, rng);
  const std::vector<float> big_a = RandomMatrix(300, 5000, 5000, rng);
  const std::vector<float> big_b = RandomMatrix(5000, 200, 200, rng);
  std::vector<float> big_c(300 * 200);
  Gemm used;
  used.Multiply(false, false, 300, 200, 5000, big_a.data(), 5000, big_b.data(), 200, big_c.data(),
                200);
  std::vector<float> from_used(m * n), from_fresh(m * n);
  used.Multiply(false, false, m, n, k, a.data(), k, b.data(), n, from_used.data(), n);
  Gemm fresh;
  fresh.Multiply(false, false, m, n, k, a.data(), k, b.data(), n, from_fresh.data(), n);
  EXPECT_EQ(std::memcmp(from_used.data(), from_fresh.data(), m * n * sizeof(float)), 0);
}

}  // namespace
}  // namespace sotto::learn
