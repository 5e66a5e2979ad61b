// Threshold and Gaussian-k selection on the CPU.
//
// Both are "collect against a threshold" passes (collect.cc) with a pool as large as the
// caller's capacity, so a threshold that fits reads the data once and writes the output from
// the pool. Gaussian-k adds a statistics pass first; its sums are formed per fixed block of
// kChunkAlign elements with eight double accumulators in a fixed order, identical in the
// scalar and AVX2 code, so the threshold does not depend on threads or SIMD.

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "cpu/engine.h"

namespace sotto::kernels::internal {
namespace {

constexpr uint32_t kInfKey = 0x7f800000u;

struct BlockStats {
  double sum;
  double sumsq;
  uint64_t finite;
};

double Combine8(const double* a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// Accumulates x[i] (finite values only) into lane (i - begin) % 8.
void StatsTail(const float* x, size_t begin, size_t end, size_t lane0, double* s, double* q,
               uint64_t* finite) {
  for (size_t i = begin; i < end; ++i) {
    const float v = x[i];
    const bool ok = MagnitudeKey(v) < kInfKey;
    const double d = ok ? static_cast<double>(v) : 0.0;
    const size_t j = (lane0 + (i - begin)) % 8;
    s[j] += d;
    q[j] += d * d;
    *finite += ok ? 1 : 0;
  }
}

BlockStats StatsScalar(const float* x, size_t begin, size_t end) {
  double s[8] = {};
  double q[8] = {};
  uint64_t finite = 0;
  StatsTail(x, begin, end, 0, s, q, &finite);
  return {Combine8(s), Combine8(q), finite};
}

__attribute__((target("avx2"))) BlockStats StatsAvx2(const float* x, size_t begin, size_t end) {
  __m256d s_lo = _mm256_setzero_pd();
  __m256d s_hi = _mm256_setzero_pd();
  __m256d q_lo = _mm256_setzero_pd();
  __m256d q_hi = _mm256_setzero_pd();
  __m256i finite_count = _mm256_setzero_si256();
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
  const __m256i inf = _mm256_set1_epi32(static_cast<int>(kInfKey));
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256i key = _mm256_and_si256(_mm256_castps_si256(v), abs_mask);
    const __m256i ok = _mm256_cmpgt_epi32(inf, key);  // finite
    const __m256 vf = _mm256_and_ps(v, _mm256_castsi256_ps(ok));
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(vf));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(vf, 1));
    s_lo = _mm256_add_pd(s_lo, lo);
    s_hi = _mm256_add_pd(s_hi, hi);
    q_lo = _mm256_add_pd(q_lo, _mm256_mul_pd(lo, lo));
    q_hi = _mm256_add_pd(q_hi, _mm256_mul_pd(hi, hi));
    finite_count = _mm256_sub_epi32(finite_count, ok);
  }
  alignas(32) double s[8];
  alignas(32) double q[8];
  alignas(32) uint32_t f[8];
  _mm256_store_pd(s, s_lo);
  _mm256_store_pd(s + 4, s_hi);
  _mm256_store_pd(q, q_lo);
  _mm256_store_pd(q + 4, q_hi);
  _mm256_store_si256(reinterpret_cast<__m256i*>(f), finite_count);
  uint64_t finite = 0;
  for (uint32_t c : f) finite += c;
  StatsTail(x, i, end, 0, s, q, &finite);
  return {Combine8(s), Combine8(q), finite};
}

struct Moments {
  double mean = 0.0;
  double stddev = 0.0;
};

// Statistics of x (or of a = u + e, stored into e, when input.u is set).
Moments ComputeMoments(const SelectInput& input, size_t n, BlockStats* blocks,
                       const ExecOptions& options) {
  const int lanes = LanesFor(n, options);
  const bool avx2 = SimdFor(options) >= SimdLevel::kAvx2;
  const size_t num_blocks = (n + kChunkAlign - 1) / kChunkAlign;
  RunLanes(options, lanes, [&](int lane) {
    const size_t begin = ChunkBegin(n, lanes, lane);
    const size_t end = ChunkBegin(n, lanes, lane + 1);
    for (size_t b = begin; b < end; b += kChunkAlign) {
      const size_t block_end = std::min(end, b + kChunkAlign);
      const float* x = input.x;
      if (input.u != nullptr) {
        // Add this block just before reading it back: it is still in cache.
        for (size_t i = b; i < block_end; ++i) input.e[i] = input.u[i] + input.e[i];
        x = input.e;
      }
      blocks[b / kChunkAlign] = avx2 ? StatsAvx2(x, b, block_end) : StatsScalar(x, b, block_end);
    }
  });
  double sum = 0.0;
  double sumsq = 0.0;
  uint64_t finite = 0;
  for (size_t b = 0; b < num_blocks; ++b) {
    sum += blocks[b].sum;
    sumsq += blocks[b].sumsq;
    finite += blocks[b].finite;
  }
  Moments m;
  if (finite == 0) return m;
  const auto nf = static_cast<double>(finite);
  m.mean = sum / nf;
  m.stddev = std::sqrt(std::max(0.0, sumsq / nf - m.mean * m.mean));
  return m;
}

}  // namespace

// Next Gaussian-k threshold from the counts seen so far: a log-linear tail model, the factor
// clamped to [0.5, 1) when too few pass and (1, 1.5] when too many, as the reference's
// halving and x1.5 steps.
double GaussianCorrectTau(const double* taus, const size_t* counts, int num, size_t k, size_t n) {
  const double tau = taus[num - 1];
  const size_t c = counts[num - 1];
  const bool too_many = c > k;
  double factor = too_many ? 1.5 : 0.5;
  const double lk = std::log(static_cast<double>(k));
  if (c > 0 && tau > 0.0) {
    double slope = 0.0;  // d ln(count) / d tau, negative
    if (num >= 2 && counts[num - 2] > 0 && counts[num - 2] != c && taus[num - 2] != tau) {
      slope = (std::log(static_cast<double>(c)) - std::log(static_cast<double>(counts[num - 2]))) /
              (tau - taus[num - 2]);
    }
    if (!(slope < 0.0) && c < n) {
      slope = (std::log(static_cast<double>(c)) - std::log(static_cast<double>(n))) / tau;
    }
    if (slope < 0.0 && std::isfinite(slope)) {
      const double next = tau + (lk - std::log(static_cast<double>(c))) / slope;
      if (std::isfinite(next)) factor = next / tau;
    }
  }
  if (too_many) {
    factor = std::clamp(factor, 1.0 + 1.0 / 64, 1.5);
  } else {
    factor = std::clamp(factor, 0.5, 1.0 - 1.0 / 64);
  }
  return tau * factor;
}

int32_t ThresholdRule(float tau) {
  if (tau < 0.0f) return -1;
  return static_cast<int32_t>(MagnitudeKey(tau));
}

size_t ThresholdCpuScratchBytes(size_t n, size_t capacity, const ExecOptions& options) {
  Arena a;
  Pool pool;
  CarvePool(a, std::min(n, capacity), LanesFor(n, options), &pool);
  return std::max(a.required(), TopKCpuScratchBytes(n, std::min(n, capacity), options));
}

SelectResult ThresholdCpu(const SelectInput& input, size_t n, int32_t rule, size_t capacity,
                          uint32_t* out_idx, float* out_val, Arena& arena,
                          const ExecOptions& options) {
  capacity = std::min(n, capacity);
  const size_t mark = arena.mark();
  const int lanes = LanesFor(n, options);
  Pool pool;
  CarvePool(arena, capacity, lanes, &pool);
  PassInput pin;
  PassMode mode = PassMode::kRead;
  if (input.u != nullptr) {
    mode = PassMode::kAddZero;
    pin.in = input.u;
    pin.e = input.e;
  } else {
    pin.in = input.x;
  }
  // kAddZero zeroes key > t_hi: here every passing element.
  CollectPass(mode, pin, n, rule, mode == PassMode::kAddZero ? rule : INT32_MAX, capacity, &pool,
              options);
  const size_t count = pool.TotalCount();
  SelectResult result;
  result.backend = Backend::kCpu;
  result.num_above = count;
  if (count <= capacity) {
    size_t offset[kMaxLanes + 1];
    offset[0] = 0;
    for (int l = 0; l < lanes; ++l) offset[l + 1] = offset[l] + pool.lane[l].stored;
    // kAddZero zeroed e in the pass; a plain pass over e zeroes it here.
    float* zero = mode == PassMode::kAddZero ? nullptr : input.e;
    EmitFromPool(pool, Cut{}, offset, out_idx, out_val, zero, INT32_MAX, options);
    result.count = count;
    result.threshold = rule < 0 ? -0.0f : KeyToMagnitude(static_cast<uint32_t>(rule));
    result.passes = 1;
    arena.reset(mark);
    return result;
  }
  // More pass than fit: the capacity largest of them, i.e. top-capacity.
  SelectInput rest = input;
  if (mode == PassMode::kAddZero) {
    RestoreFromPool(pool, input.e);  // e = a everywhere again
    rest = SelectInput{input.e, nullptr, input.e};
  }
  arena.reset(mark);
  SelectResult capped = TopKCpu(rest, n, capacity, out_idx, out_val, arena, options);
  capped.num_above = count;
  capped.passes += 1;
  return capped;
}

size_t GaussianKCpuScratchBytes(size_t n, size_t capacity, const ExecOptions& options) {
  Arena a;
  a.Take<BlockStats>((n + kChunkAlign - 1) / kChunkAlign);
  return std::max(a.required(), ThresholdCpuScratchBytes(n, capacity, options));
}

SelectResult GaussianKCpu(const SelectInput& input, size_t n, size_t k, size_t capacity,
                          uint32_t* out_idx, float* out_val, Arena& arena,
                          const ExecOptions& options) {
  SelectResult result;
  result.backend = Backend::kCpu;
  if (k == 0 || k >= n) {
    // Nothing, or everything (capped by the capacity through TopK's rule).
    const size_t take = k == 0 ? 0 : std::min(n, capacity);
    result = TopKCpu(input, n, take, out_idx, out_val, arena, options);
    result.num_above = k == 0 ? 0 : n;
    result.threshold = 0.0f;
    return result;
  }
  const size_t mark = arena.mark();
  auto* blocks = arena.Take<BlockStats>((n + kChunkAlign - 1) / kChunkAlign);
  const Moments m = ComputeMoments(input, n, blocks, options);
  arena.reset(mark);
  // From here on the data is x, or e holding a = u + e.
  const SelectInput data = input.u != nullptr ? SelectInput{input.e, nullptr, input.e} : input;

  const double rho = static_cast<double>(k) / static_cast<double>(n);
  const double z = NormalQuantile(1.0 - rho / 2.0);
  double tau = std::abs(m.mean) + z * m.stddev;
  const size_t lo = (2 * k + 2) / 3;  // ceil(2k/3)
  const size_t hi = 4 * k / 3;        // floor(4k/3)

  const int lanes = LanesFor(n, options);
  Pool pool;
  CarvePool(arena, std::min(n, capacity), lanes, &pool);
  double taus[4];
  size_t counts[4];
  int tries = 0;
  for (;;) {
    if (!std::isfinite(tau)) tau = std::numeric_limits<float>::max();
    const auto tau_f = static_cast<float>(tau);
    CollectPass(PassMode::kRead, PassInput{data.x, nullptr}, n, ThresholdRule(tau_f), INT32_MAX, k,
                &pool, options);
    taus[tries] = tau_f;
    counts[tries] = pool.TotalCount();
    ++tries;
    const size_t c = counts[tries - 1];
    if ((c >= lo && c <= hi) || tries == 4) break;
    tau = GaussianCorrectTau(taus, counts, tries, k, n);
  }
  const size_t count = counts[tries - 1];
  result.corrections = tries - 1;
  result.threshold = static_cast<float>(taus[tries - 1]);
  result.num_above = count;
  result.passes = 1 + tries;
  if (count <= std::min(n, capacity)) {
    size_t offset[kMaxLanes + 1];
    offset[0] = 0;
    for (int l = 0; l < lanes; ++l) offset[l + 1] = offset[l] + pool.lane[l].stored;
    EmitFromPool(pool, Cut{}, offset, out_idx, out_val, data.e, INT32_MAX, options);
    result.count = count;
    arena.reset(mark);
    return result;
  }
  arena.reset(mark);
  const SelectResult capped = TopKCpu(data, n, capacity, out_idx, out_val, arena, options);
  result.count = capped.count;
  result.threshold = capped.threshold;  // the capped selection's effective threshold
  result.passes += capped.passes;
  return result;
}

double NormalQuantile(double p) {
  // Acklam's rational approximation (relative error < 1.15e-9), then one Halley step on
  // erfc, which brings it to about machine precision.
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  if (p >= 1.0) return std::numeric_limits<double>::infinity();
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  return x - u / (1.0 + x * u / 2.0);
}

}  // namespace sotto::kernels::internal
