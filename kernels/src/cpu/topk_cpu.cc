// Exact top-k on the CPU: three engines behind one entry point.
//
// kSampled (the fast path, reference/topk.md 7.2): predict a window [T_lo, T_hi] for the k-th
//   key from a stratified sample, read x once collecting every element with key > T_lo, then
//   find the exact k-th key K among the collected window entries only (the keys <= T_hi,
//   gathered from the pool; SelectKthKey on 32-bit keys) and emit, in index order, the entries
//   above K and the first ones equal to K. For error feedback the same pass computes a = u + e and
//   stores it, zeroing the entries above the sample's estimate of K (the emission then fixes the
//   few on the wrong side of the true K), so the whole step reads u and e once. A wrong prediction
//   (too few or too many candidates) is detected and answered by kRadix, so the result never
//   depends on the sample.
// kRadix: 3-level MSD radix select (11/11/9 bits of the 31-bit key) with per-lane histograms,
//   then an ordered emit pass. Four reads, bounded memory, any input (ties, NaN, constants).
// kSmall: nth_element over packed (key, ~index) words. For small n.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "cpu/engine.h"
#include "cpu/simd.h"
#include "sotto/base/random.h"

namespace sotto::kernels::internal {
namespace {

constexpr size_t kSmallMaxN = 8192;
constexpr size_t kSampledMinN = 256;
constexpr int kRadixLevels = 3;
constexpr int kRadixBins = 2048;
constexpr int kRadixShift[kRadixLevels] = {20, 9, 0};
constexpr uint32_t kRadixMask[kRadixLevels] = {0x7ff, 0x7ff, 0x1ff};
constexpr int kRadixWidth[kRadixLevels] = {11, 11, 9};
constexpr uint64_t kSampleSeed = 0x70b5a3b1e5eedULL;

CpuTopKAlgorithm ChooseAlgorithm(size_t n, size_t k, const ExecOptions& options) {
  switch (options.topk_algorithm) {
    case CpuTopKAlgorithm::kSmall:
    case CpuTopKAlgorithm::kRadix:
      return options.topk_algorithm;
    case CpuTopKAlgorithm::kSampled:
      return n >= kSampledMinN ? CpuTopKAlgorithm::kSampled : CpuTopKAlgorithm::kSmall;
    case CpuTopKAlgorithm::kAuto:
      break;
  }
  if (n <= kSmallMaxN) return CpuTopKAlgorithm::kSmall;
  if (k > n / 4) return CpuTopKAlgorithm::kRadix;
  return CpuTopKAlgorithm::kSampled;
}

// ---- Sample plan
// ---------------------------------------------------------------------------------

struct SamplePlan {
  size_t runs = 0;   // strata; one run of kSampleRun contiguous elements each (simd.h)
  size_t size = 0;   // runs * kSampleRun
  double delta = 0;  // rank margin in the sample
  size_t pool_capacity = 0;
  size_t expected = 0;  // elements above the predicted t_lo
};

// The sample costs about a cycle per key (gather and select) and the window it leaves about as
// much per candidate; the window holds about 8 sqrt(p (1 - p) / size) n candidates (a margin of
// four standard deviations each side), so size ~ (3.5 n sqrt(p))^(2/3) balances the two.
SamplePlan PlanSample(size_t n, size_t k) {
  SamplePlan plan;
  const double p = static_cast<double>(k) / static_cast<double>(n);
  const double target = std::pow(3.5 * static_cast<double>(n) * std::sqrt(p), 2.0 / 3.0);
  const auto wanted = static_cast<size_t>(std::clamp(target, 1024.0, 65536.0));
  plan.runs = std::clamp<size_t>(wanted / kSampleRun, 1, n / (2 * kSampleRun));
  plan.size = plan.runs * kSampleRun;
  const double r = p * static_cast<double>(plan.size);
  plan.delta = 4.0 * std::sqrt(r * (1.0 - p)) + 4.0;
  const double per_sample = static_cast<double>(n) / static_cast<double>(plan.size);
  const auto excess = static_cast<size_t>(std::ceil(2.0 * (plan.delta + 2.0) * per_sample));
  plan.pool_capacity = std::min(n, k + excess + 1024);
  plan.expected = std::min(n, k + static_cast<size_t>(plan.delta * per_sample));
  return plan;
}

struct SampledScratch {
  Pool* pool;  // the Pool object itself lives on the stack
  size_t pool_capacity;
  size_t expected;        // candidates the window is expected to collect (picks the collect kernel)
  uint32_t* sample;       // plan.size keys
  uint32_t* sample_tmp;   // plan.size
  uint32_t* sample_tmp2;  // plan.size
  uint32_t* window;       // keys of the entries among which the k-th lies
  uint32_t* window_tmp;
};

void CarveSampled(Arena& arena, size_t n, size_t k, int lanes, Pool* pool, SampledScratch* s) {
  const SamplePlan plan = PlanSample(n, k);
  CarvePool(arena, plan.pool_capacity, lanes, pool);
  s->pool = pool;
  s->pool_capacity = plan.pool_capacity;
  s->expected = plan.expected;
  s->sample = arena.Take<uint32_t>(plan.size);
  s->sample_tmp = arena.Take<uint32_t>(plan.size);
  s->sample_tmp2 = arena.Take<uint32_t>(plan.size);
  // The pool can hold a little more than its capacity (whole blocks); size for all of it.
  const size_t stored_max = pool->num_blocks * kBlockEntries;
  // Both are also EmitFromPool's fix lists, after the selection.
  s->window = arena.Take<uint32_t>(EmitFixScratch(stored_max));
  s->window_tmp = arena.Take<uint32_t>(EmitFixScratch(stored_max));
}

struct RadixScratch {
  uint32_t* hist;  // [lane][level][bin]
  uint32_t* sub;   // [lane][4][bin]
};

void CarveRadix(Arena& arena, int lanes, RadixScratch* s) {
  s->hist = arena.Take<uint32_t>(static_cast<size_t>(lanes) * kRadixLevels * kRadixBins);
  s->sub = arena.Take<uint32_t>(static_cast<size_t>(lanes) * 4 * kRadixBins);
}

// ---- kSmall
// ----------------------------------------------------------------------------------------

void EmitByComposite(const float* x, size_t n, uint64_t c_star, size_t k, uint32_t* out_idx,
                     float* out_val, float* e) {
  size_t o = 0;
  for (size_t i = 0; i < n && o < k; ++i) {
    const float v = x[i];
    if (CompositeOf(v, static_cast<uint32_t>(i)) >= c_star) {
      out_idx[o] = static_cast<uint32_t>(i);
      if (out_val != nullptr) out_val[o] = v;
      if (e != nullptr) e[i] = 0.0f;
      ++o;
    }
  }
}

uint64_t SmallSelect(const float* x, size_t n, size_t k, uint32_t* out_idx, float* out_val,
                     float* e, Arena& arena) {
  uint64_t* comp = arena.Take<uint64_t>(n);
  for (size_t i = 0; i < n; ++i) comp[i] = CompositeOf(x[i], static_cast<uint32_t>(i));
  std::nth_element(comp, comp + (k - 1), comp + n, std::greater<uint64_t>());
  const uint64_t c_star = comp[k - 1];
  EmitByComposite(x, n, c_star, k, out_idx, out_val, e);
  return c_star;
}

// ---- kRadix
// ----------------------------------------------------------------------------------------

void RadixHistogram(const float* x, size_t begin, size_t end, int level, uint32_t prefix,
                    uint32_t* sub, uint32_t* out) {
  std::memset(sub, 0, sizeof(uint32_t) * 4 * kRadixBins);
  const int shift = kRadixShift[level];
  const uint32_t mask = kRadixMask[level];
  const int hi_shift = level == 0 ? 31 : kRadixShift[level - 1];
  uint32_t* h0 = sub;
  uint32_t* h1 = sub + kRadixBins;
  uint32_t* h2 = sub + 2 * kRadixBins;
  uint32_t* h3 = sub + 3 * kRadixBins;
  size_t i = begin;
  if (level == 0) {
    // Four sub-histograms break the store-to-load chain on hot bins (e.g. constant data).
    for (; i + 4 <= end; i += 4) {
      ++h0[MagnitudeKey(x[i]) >> shift];
      ++h1[MagnitudeKey(x[i + 1]) >> shift];
      ++h2[MagnitudeKey(x[i + 2]) >> shift];
      ++h3[MagnitudeKey(x[i + 3]) >> shift];
    }
    for (; i < end; ++i) ++h0[MagnitudeKey(x[i]) >> shift];
  } else {
    for (; i + 4 <= end; i += 4) {
      const uint32_t k0 = MagnitudeKey(x[i]);
      const uint32_t k1 = MagnitudeKey(x[i + 1]);
      const uint32_t k2 = MagnitudeKey(x[i + 2]);
      const uint32_t k3 = MagnitudeKey(x[i + 3]);
      if ((k0 >> hi_shift) == prefix) ++h0[(k0 >> shift) & mask];
      if ((k1 >> hi_shift) == prefix) ++h1[(k1 >> shift) & mask];
      if ((k2 >> hi_shift) == prefix) ++h2[(k2 >> shift) & mask];
      if ((k3 >> hi_shift) == prefix) ++h3[(k3 >> shift) & mask];
    }
    for (; i < end; ++i) {
      const uint32_t key = MagnitudeKey(x[i]);
      if ((key >> hi_shift) == prefix) ++h0[(key >> shift) & mask];
    }
  }
  for (int b = 0; b < kRadixBins; ++b) out[b] = h0[b] + h1[b] + h2[b] + h3[b];
}

uint32_t RadixSelect(const float* x, size_t n, size_t k, uint32_t* out_idx, float* out_val,
                     float* e, Arena& arena, const ExecOptions& options) {
  const int lanes = LanesFor(n, options);
  RadixScratch rs;
  CarveRadix(arena, lanes, &rs);
  size_t gt[kMaxLanes] = {};
  uint32_t prefix = 0;
  size_t k_rem = k;  // elements still to take inside the current prefix
  for (int level = 0; level < kRadixLevels; ++level) {
    RunLanes(options, lanes, [&](int lane) {
      RadixHistogram(x, ChunkBegin(n, lanes, lane), ChunkBegin(n, lanes, lane + 1), level, prefix,
                     rs.sub + static_cast<size_t>(lane) * 4 * kRadixBins,
                     rs.hist + (static_cast<size_t>(lane) * kRadixLevels + level) * kRadixBins);
    });
    auto lane_hist = [&](int lane) {
      return rs.hist + (static_cast<size_t>(lane) * kRadixLevels + level) * kRadixBins;
    };
    size_t above = 0;
    int chosen = 0;
    for (int b = static_cast<int>(kRadixMask[level]); b >= 0; --b) {
      size_t count = 0;
      for (int l = 0; l < lanes; ++l) count += lane_hist(l)[b];
      if (above + count >= k_rem) {
        chosen = b;
        break;
      }
      above += count;
    }
    for (int l = 0; l < lanes; ++l) {
      const uint32_t* h = lane_hist(l);
      for (int b = chosen + 1; b <= static_cast<int>(kRadixMask[level]); ++b) gt[l] += h[b];
    }
    k_rem -= above;
    prefix = (prefix << kRadixWidth[level]) | static_cast<uint32_t>(chosen);
  }
  const uint32_t kth_key = prefix;
  // Ties at kth_key go to the lowest indices: lane by lane.
  size_t offset[kMaxLanes + 1];
  size_t take[kMaxLanes];
  size_t ties_left = k_rem;
  offset[0] = 0;
  for (int l = 0; l < lanes; ++l) {
    const uint32_t* h = rs.hist + (static_cast<size_t>(l) * kRadixLevels + 2) * kRadixBins;
    const size_t eq = h[kth_key & kRadixMask[2]];
    take[l] = std::min(eq, ties_left);
    ties_left -= take[l];
    offset[l + 1] = offset[l] + gt[l] + take[l];
  }
  RunLanes(options, lanes, [&](int lane) {
    size_t o = offset[lane];
    const size_t limit = offset[lane + 1];
    size_t ties = take[lane];
    const size_t end = ChunkBegin(n, lanes, lane + 1);
    for (size_t i = ChunkBegin(n, lanes, lane); i < end && o < limit; ++i) {
      const float v = x[i];
      const uint32_t key = MagnitudeKey(v);
      bool sel = key > kth_key;
      if (key == kth_key && ties > 0) {
        sel = true;
        --ties;
      }
      if (sel) {
        out_idx[o] = static_cast<uint32_t>(i);
        if (out_val != nullptr) out_val[o] = v;
        if (e != nullptr) e[i] = 0.0f;
        ++o;
      }
    }
  });
  return kth_key;
}

// ---- kSampled
// ------------------------------------------------------------------------------------

void SampleKeys(const SelectInput& input, size_t n, size_t runs, uint64_t seed, uint32_t* out,
                SimdLevel simd) {
  const float* x = input.u != nullptr ? nullptr : input.x;
  if (simd == SimdLevel::kAvx512) return SampleKeysAvx512(x, input.u, input.e, n, runs, seed, out);
  if (simd == SimdLevel::kAvx2) return SampleKeysAvx2(x, input.u, input.e, n, runs, seed, out);
  const SampleStrata strata(n, runs, seed);
  for (size_t j = 0; j < runs; ++j) {
    const size_t p = strata.Position(j);
    for (size_t t = 0; t < kSampleRun; ++t) {
      const float v = x != nullptr ? x[p + t] : input.u[p + t] + input.e[p + t];
      out[j * kSampleRun + t] = MagnitudeKey(v);
    }
  }
}

// Returns false (nothing written) when the prediction missed; the caller falls back.
// With input.u set, the pass computes a = u + e into e whatever the outcome, zeroing it above
// t_zero until the selection is known.
bool SelectWithWindow(const SelectInput& input, size_t n, size_t k, int32_t t_lo, int32_t t_hi,
                      int32_t t_zero, uint32_t* out_idx, float* out_val, const SampledScratch& s,
                      const ExecOptions& options, uint32_t* kth_out);

// The window [t_lo, t_hi] from a stratified sample, then SelectWithWindow.
bool SampledSelect(const SelectInput& input, size_t n, size_t k, uint32_t* out_idx, float* out_val,
                   Arena& arena, const ExecOptions& options, uint32_t* kth_out) {
  const int lanes = LanesFor(n, options);
  const SimdLevel simd = SimdFor(options);
  const SamplePlan plan = PlanSample(n, k);
  Pool pool;
  SampledScratch s;
  CarveSampled(arena, n, k, lanes, &pool, &s);

  SampleKeys(input, n, plan.runs, DeriveSeed(kSampleSeed, n), s.sample, simd);
  const double r = static_cast<double>(k) * static_cast<double>(plan.size) / static_cast<double>(n);
  const auto rank_lo = static_cast<size_t>(std::ceil(r + plan.delta));  // 0-based, descending
  const double rank_hi_d = std::floor(r - plan.delta);
  int32_t t_lo = -1;
  int32_t t_hi = INT32_MAX;
  const uint32_t* above = s.sample;  // the sample keys that can hold rank_hi
  size_t num_above = plan.size;
  if (rank_lo < plan.size) {
    const uint32_t key_lo = SelectKthKey(s.sample, plan.size, rank_lo + 1, s.sample_tmp, simd);
    t_lo = static_cast<int32_t>(key_lo) - 1;
    num_above = FilterKeys(s.sample, plan.size, key_lo, kNanKey, s.sample_tmp2, simd);
    above = s.sample_tmp2;
  }
  if (rank_hi_d >= 0.0) {
    const auto rank_hi = static_cast<size_t>(rank_hi_d);
    t_hi = static_cast<int32_t>(SelectKthKey(above, num_above, rank_hi + 1, s.sample_tmp, simd));
  }
  // With error feedback the pass zeroes e above the sample's estimate of the k-th key: each
  // selected entry below that line, and each entry above it not selected, costs one scattered
  // store afterwards, so the median of the prediction makes the fewest.
  int32_t t_zero = t_hi;
  const auto rank_mid = static_cast<size_t>(r);
  if (input.u != nullptr && rank_mid < num_above) {
    t_zero = static_cast<int32_t>(SelectKthKey(above, num_above, rank_mid + 1, s.sample_tmp, simd));
  }
  return SelectWithWindow(input, n, k, t_lo, t_hi, t_zero, out_idx, out_val, s, options, kth_out);
}

// One pass collecting key > t_lo, then the exact selection among the
// collected entries. Returns false, with e restored to u + e, when the window missed.
bool SelectWithWindow(const SelectInput& input, size_t n, size_t k, int32_t t_lo, int32_t t_hi,
                      int32_t t_zero, uint32_t* out_idx, float* out_val, const SampledScratch& s,
                      const ExecOptions& options, uint32_t* kth_out) {
  Pool& pool = *s.pool;
  const int lanes = pool.lanes;
  const SimdLevel simd = SimdFor(options);
  t_hi = std::max(t_hi, t_lo);
  PassInput pin;
  PassMode mode = PassMode::kRead;
  // With error feedback the pass zeroes e above t_zero (kept in [t_lo, t_hi], so every entry it
  // zeroes is in the pool); the emission then zeroes the selected entries at or below it and
  // restores the unselected ones above it.
  if (input.u != nullptr) {
    mode = PassMode::kAddZero;
    pin.in = input.u;
    pin.e = input.e;
    t_zero = std::clamp(t_zero, t_lo, t_hi);
  } else {
    pin.in = input.x;
    t_zero = INT32_MAX;  // nothing zeroed (with e set, e is x: the emission zeroes the selection)
  }
  CollectPass(mode, pin, n, t_lo, t_zero, s.expected, &pool, options);
  const size_t m = pool.TotalCount();
  if (pool.AnyOverflow() || m < k) {
    if (input.u != nullptr) RestoreFromPool(pool, input.e);  // e = u + e everywhere again
    return false;
  }
  // W, the entries among which the k-th lies: the window (key <= t_hi) when fewer than k are
  // above it, else the entries above t_hi; rank is the k-th's 1-based rank inside W. woff[l] is
  // where lane l's keys of W start in s.window. The window's keys are gathered first, each lane
  // into room for all it stored; what a lane stored above t_hi (hi[l]) is the rest.
  size_t room[kMaxLanes + 1];
  size_t got[kMaxLanes];
  size_t hi[kMaxLanes];
  room[0] = 0;
  for (int l = 0; l < lanes; ++l) room[l + 1] = room[l] + pool.lane[l].stored;
  RunLanes(options, lanes, [&](int lane) {
    got[lane] =
        GatherKeys(pool, lane, t_hi, true, s.window + room[lane], s.window + room[lane + 1], simd);
  });
  size_t n_hi = 0;
  for (int l = 0; l < lanes; ++l) {
    hi[l] = pool.lane[l].stored - got[l];
    n_hi += hi[l];
  }
  const bool in_window = n_hi < k;
  const size_t rank = in_window ? k - n_hi : k;
  size_t woff[kMaxLanes + 1];
  woff[0] = 0;
  if (in_window) {
    for (int l = 0; l < lanes; ++l) {  // close the gaps between the lanes' keys
      if (woff[l] != room[l])
        std::memmove(s.window + woff[l], s.window + room[l], got[l] * sizeof(uint32_t));
      woff[l + 1] = woff[l] + got[l];
    }
  } else {  // the prediction missed high: the k-th lies above t_hi
    for (int l = 0; l < lanes; ++l) woff[l + 1] = woff[l] + hi[l];
    RunLanes(options, lanes, [&](int lane) {
      GatherKeys(pool, lane, t_hi, false, s.window + woff[lane], s.window + woff[lane + 1], simd);
    });
  }
  const uint32_t kth = SelectKthKey(s.window, woff[lanes], rank, s.window_tmp, simd);

  // Entries above kth are all taken; of those equal to it, the lowest indices (lane order,
  // then pool order) fill the rest.
  Cut cut;
  cut.key = static_cast<int32_t>(kth);
  size_t gt[kMaxLanes];
  size_t eq[kMaxLanes];
  size_t total_gt = 0;
  for (int l = 0; l < lanes; ++l) {
    CountGreaterEqual(s.window + woff[l], woff[l + 1] - woff[l], kth, &gt[l], &eq[l], simd);
    total_gt += gt[l];
  }
  size_t ties_left = rank - total_gt;
  size_t offset[kMaxLanes + 1];
  offset[0] = 0;
  for (int l = 0; l < lanes; ++l) {
    cut.ties[l] = std::min(eq[l], ties_left);
    ties_left -= cut.ties[l];
    offset[l + 1] = offset[l] + (in_window ? hi[l] : 0) + gt[l] + cut.ties[l];
  }
  EmitFromPool(pool, cut, offset, out_idx, out_val, input.e, t_zero, options, s.window_tmp,
               s.window);
  *kth_out = kth;
  return true;
}

}  // namespace

size_t TopKCpuScratchBytes(size_t n, size_t k, const ExecOptions& options) {
  if (k == 0 || k >= n) return 64;
  const int lanes = LanesFor(n, options);
  Arena radix;
  RadixScratch rs;
  CarveRadix(radix, lanes, &rs);
  switch (ChooseAlgorithm(n, k, options)) {
    case CpuTopKAlgorithm::kSmall: {
      Arena a;
      a.Take<uint64_t>(n);
      return a.required();
    }
    case CpuTopKAlgorithm::kSampled: {
      Arena a;
      Pool pool;
      SampledScratch s;
      CarveSampled(a, n, k, lanes, &pool, &s);
      return std::max(a.required(), radix.required());
    }
    case CpuTopKAlgorithm::kRadix:
    case CpuTopKAlgorithm::kAuto:
      break;
  }
  return radix.required();
}

SelectResult TopKCpuWithWindowForTesting(const SelectInput& input, size_t n, size_t k, int32_t t_lo,
                                         int32_t t_hi, int32_t t_zero, uint32_t* out_idx,
                                         float* out_val, Arena& arena, const ExecOptions& options) {
  SelectResult result;
  result.count = k;
  result.num_above = k;
  result.passes = 1;
  const size_t mark = arena.mark();
  Pool pool;
  SampledScratch s;
  CarveSampled(arena, n, k, LanesFor(n, options), &pool, &s);
  uint32_t kth = 0;
  if (SelectWithWindow(input, n, k, t_lo, t_hi, t_zero, out_idx, out_val, s, options, &kth)) {
    result.threshold = KeyToMagnitude(kth);
    arena.reset(mark);
    return result;
  }
  arena.reset(mark);
  float* e = input.u != nullptr ? input.e : nullptr;
  const float* x = input.u != nullptr ? input.e : input.x;
  result.threshold = KeyToMagnitude(RadixSelect(x, n, k, out_idx, out_val, e, arena, options));
  result.passes += 4;
  return result;
}

SelectResult TopKCpu(const SelectInput& input, size_t n, size_t k, uint32_t* out_idx,
                     float* out_val, Arena& arena, const ExecOptions& options) {
  SelectResult result;
  result.count = k;
  result.num_above = k;
  result.backend = Backend::kCpu;
  SelectInput in = input;
  if (k == 0 || k == n) {
    if (in.u != nullptr) AddInPlace(in.u, in.e, n, options);
    const float* x = in.u != nullptr ? in.e : in.x;
    uint32_t min_key = kNanKey;
    for (size_t i = 0; i < k; ++i) {
      out_idx[i] = static_cast<uint32_t>(i);
      if (out_val != nullptr) out_val[i] = x[i];
      min_key = std::min(min_key, MagnitudeKey(x[i]));
      if (in.e != nullptr) in.e[i] = 0.0f;
    }
    result.threshold = k == 0 ? 0.0f : KeyToMagnitude(min_key);
    result.passes = in.u != nullptr || k > 0 ? 1 : 0;
    return result;
  }
  const size_t mark = arena.mark();
  const CpuTopKAlgorithm algorithm = ChooseAlgorithm(n, k, options);
  if (algorithm == CpuTopKAlgorithm::kSampled) {
    WakeLanes(n, options);  // the workers wake up while this thread samples
    uint32_t kth = 0;
    result.passes = 1;
    if (SampledSelect(in, n, k, out_idx, out_val, arena, options, &kth)) {
      result.threshold = KeyToMagnitude(kth);
      return result;
    }
    arena.reset(mark);
    if (in.u != nullptr) in = SelectInput{in.e, nullptr, in.e};  // the pass stored a = u + e
  } else if (in.u != nullptr) {
    AddInPlace(in.u, in.e, n, options);
    in = SelectInput{in.e, nullptr, in.e};
    result.passes = 1;
  }
  if (algorithm == CpuTopKAlgorithm::kSmall) {
    const uint64_t c_star = SmallSelect(in.x, n, k, out_idx, out_val, in.e, arena);
    result.threshold = KeyToMagnitude(static_cast<uint32_t>(c_star >> 32));
    result.passes += 2;
  } else {
    const uint32_t key = RadixSelect(in.x, n, k, out_idx, out_val, in.e, arena, options);
    result.threshold = KeyToMagnitude(key);
    result.passes += 4;
  }
  arena.reset(mark);
  return result;
}

}  // namespace sotto::kernels::internal
