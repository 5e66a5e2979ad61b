// AVX2 kernels of the CPU path (declared in cpu/simd.h): the fallback where AVX-512 is missing.
//
// AVX2 has no compress instruction: a group of 8 survivors is compacted with one permute
// (vpermd) whose pattern comes from a 256-entry table indexed by the comparison mask. The
// sparse kernel tests 32 elements with four compares and one branch and compacts only groups
// with a survivor; the dense one compacts every group without a branch (survivors are common,
// the branch would mispredict); the blocked one is the DRAM variant of collect_avx512.cc.
//
// Everything here is compiled for AVX2 through target attributes only, and is called only when
// SimdFor(options) >= kAvx2.

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "cpu/simd.h"

#define SOTTO_AVX2 __attribute__((target("avx2,bmi,popcnt")))

namespace sotto::kernels::internal {
namespace {

// One 8-lane permutation per mask: the positions of its set bits, lowest first (8 KiB).
struct alignas(32) Perm8 {
  uint32_t lane[8];
};
constexpr std::array<Perm8, 256> MakePermTable() {
  std::array<Perm8, 256> table{};
  for (uint32_t mask = 0; mask < 256; ++mask) {
    uint32_t out = 0;
    for (uint32_t bit = 0; bit < 8; ++bit) {
      if (mask & (1u << bit)) table[mask].lane[out++] = bit;
    }
  }
  return table;
}
constexpr std::array<Perm8, 256> kPermTable = MakePermTable();

constexpr size_t kSub = 512;  // elements per block of the blocked kernel
constexpr int kSubVecs = static_cast<int>(kSub / 8);

SOTTO_AVX2 inline __m256i Abs8(__m256 v) {
  return _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff));
}
SOTTO_AVX2 inline __m256i Key8(__m256 v) {
  return _mm256_min_epu32(Abs8(v), _mm256_set1_epi32(static_cast<int>(kNanKey)));
}
SOTTO_AVX2 inline uint32_t Mask8(__m256i m) {
  return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(m)));
}
SOTTO_AVX2 inline __m256i Perm(uint32_t mask) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(&kPermTable[mask]));
}

// The pass's pointers, copied out of PassInput: the intrinsics' stores may alias anything, so
// members read through a reference would be reloaded after every store.
struct Ptrs {
  const float* in;
  float* e;
};

template <PassMode kMode>
SOTTO_AVX2 inline __m256 Load8(Ptrs p, size_t i) {
  if constexpr (kMode == PassMode::kRead) {
    return _mm256_loadu_ps(p.in + i);
  } else {
    return _mm256_add_ps(_mm256_loadu_ps(p.in + i), _mm256_loadu_ps(p.e + i));
  }
}

void Commit(CollectCursor* cur, uint32_t* oi, float* ov) {
  const auto stored = static_cast<size_t>(oi - cur->idx);
  cur->idx = oi;
  cur->val = ov;
  cur->room -= stored;
  cur->stored += stored;
}

// Appends the lanes of mask at oi/ov; writes 8 entries at oi.
SOTTO_AVX2 inline void Compress8(__m256 v, __m256i vidx, uint32_t mask, uint32_t*& oi, float*& ov) {
  const __m256i perm = Perm(mask);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi), _mm256_permutevar8x32_epi32(vidx, perm));
  _mm256_storeu_ps(ov, _mm256_permutevar8x32_ps(v, perm));
  const int n = std::popcount(mask);
  oi += n;
  ov += n;
}

// Scalar tail (fewer than 32 elements; the room covers them).
template <PassMode kMode>
void TailScalar(Ptrs p, size_t i, size_t end, int32_t t_lo, int32_t t_zero, uint32_t*& oi,
                float*& ov) {
  for (; i < end; ++i) {
    float v;
    if constexpr (kMode == PassMode::kRead) {
      v = p.in[i];
    } else {
      v = p.in[i] + p.e[i];
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    if constexpr (kMode == PassMode::kAddStore) {
      p.e[i] = v;
    } else if constexpr (kMode == PassMode::kAddZero) {
      p.e[i] = key > t_zero ? 0.0f : v;
    }
    if (key > t_lo) {
      *oi++ = static_cast<uint32_t>(i);
      *ov++ = v;
    }
  }
}

template <PassMode kMode, bool kDense>
SOTTO_AVX2 size_t CollectOneSweep(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                  int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  const __m256i vlo = _mm256_set1_epi32(RawRule(t_lo));
  const __m256i vzero = _mm256_set1_epi32(RawRule(t_zero));
  const __m256i step8 = _mm256_set1_epi32(8);
  __m256i vidx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(i)),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (; i + 32 <= end && limit - oi >= static_cast<ptrdiff_t>(kGroup); i += 32) {
    __m256 v[4];
    __m256i k[4];
    __m256i m[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = Load8<kMode>(p, i + 8 * static_cast<size_t>(j));
      k[j] = Abs8(v[j]);
      m[j] = _mm256_cmpgt_epi32(k[j], vlo);
    }
    if constexpr (kMode == PassMode::kAddStore) {
      for (int j = 0; j < 4; ++j) _mm256_storeu_ps(p.e + i + 8 * static_cast<size_t>(j), v[j]);
    } else if constexpr (kMode == PassMode::kAddZero) {
      for (int j = 0; j < 4; ++j) {
        const __m256i zero = _mm256_cmpgt_epi32(k[j], vzero);
        _mm256_storeu_ps(p.e + i + 8 * static_cast<size_t>(j),
                         _mm256_andnot_ps(_mm256_castsi256_ps(zero), v[j]));
      }
    }
    if constexpr (kDense) {
      for (int j = 0; j < 4; ++j) {
        Compress8(v[j], vidx, Mask8(m[j]), oi, ov);
        vidx = _mm256_add_epi32(vidx, step8);
      }
      continue;
    }
    const __m256i any = _mm256_or_si256(_mm256_or_si256(m[0], m[1]), _mm256_or_si256(m[2], m[3]));
    if (!_mm256_testz_si256(any, any)) {
      for (int j = 0; j < 4; ++j) {
        const uint32_t mask = Mask8(m[j]);
        if (mask != 0) Compress8(v[j], vidx, mask, oi, ov);
        vidx = _mm256_add_epi32(vidx, step8);
      }
    } else {
      vidx = _mm256_add_epi32(vidx, _mm256_set1_epi32(32));
    }
  }
  if (i < end && i + 32 > end && limit - oi >= static_cast<ptrdiff_t>(kGroup)) {
    TailScalar<kMode>(p, i, end, t_lo, t_zero, oi, ov);
    i = end;
  }
  Commit(cur, oi, ov);
  return i;
}

template <PassMode kMode>
SOTTO_AVX2 size_t CollectBlocked(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                 int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m256i vlo = _mm256_set1_epi32(RawRule(t_lo));
  const __m256i vzero = _mm256_set1_epi32(RawRule(t_zero));
  const float* src = kMode == PassMode::kRead ? p.in : p.e;
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  alignas(32) uint8_t masks[kSubVecs] = {};
  for (;;) {
    // A block of up to kSub elements, whole vectors, no longer than the room left.
    const auto room = static_cast<size_t>(limit - oi);
    const size_t len = std::min({kSub, (end - i) & ~size_t{7}, room & ~size_t{7}});
    if (len < kGroup) break;
    const int vecs = static_cast<int>(len / 8);
    for (int g = 0; g < vecs; ++g) {
      const size_t q = i + 8 * static_cast<size_t>(g);
      const __m256 v = Load8<kMode>(p, q);
      if constexpr (kMode != PassMode::kRead) _mm256_storeu_ps(p.e + q, v);
      masks[g] = static_cast<uint8_t>(Mask8(_mm256_cmpgt_epi32(Abs8(v), vlo)));
    }
    const __m256i zero = _mm256_setzero_si256();
    const auto z0 = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_load_si256(reinterpret_cast<const __m256i*>(masks)), zero)));
    const auto z1 = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_load_si256(reinterpret_cast<const __m256i*>(masks + 32)), zero)));
    uint64_t nz = ~((uint64_t{z1} << 32) | z0);
    if (vecs < 64) nz &= (uint64_t{1} << vecs) - 1;
    for (; nz != 0; nz &= nz - 1) {
      const int g = std::countr_zero(nz);
      const size_t q = i + 8 * static_cast<size_t>(g);
      const __m256 v = _mm256_loadu_ps(src + q);
      const __m256i vidx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(q)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      Compress8(v, vidx, masks[g], oi, ov);
      if constexpr (kMode == PassMode::kAddZero) {
        // A full store of the blend (the line is in L1): vmaskmovps is slow on AMD.
        const __m256i zero = _mm256_cmpgt_epi32(Abs8(v), vzero);
        if (Mask8(zero) != 0) {
          _mm256_storeu_ps(p.e + q, _mm256_andnot_ps(_mm256_castsi256_ps(zero), v));
        }
      }
    }
    i += len;
  }
  Commit(cur, oi, ov);
  return CollectOneSweep<kMode, false>(in, i, end, t_lo, t_zero, cur);
}

template <PassMode kMode>
SOTTO_AVX2 void CountT(const PassInput& in, size_t begin, size_t end, int32_t t_lo, size_t* count) {
  const Ptrs p{in.in, in.e};
  const __m256i vlo = _mm256_set1_epi32(RawRule(t_lo));
  size_t c = 0;
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 v = Load8<kMode>(p, i);
    if constexpr (kMode != PassMode::kRead) _mm256_storeu_ps(p.e + i, v);
    const __m256i k = Abs8(v);
    c += static_cast<size_t>(std::popcount(Mask8(_mm256_cmpgt_epi32(k, vlo))));
  }
  for (; i < end; ++i) {
    float v;
    if constexpr (kMode == PassMode::kRead) {
      v = p.in[i];
    } else {
      v = p.in[i] + p.e[i];
      p.e[i] = v;
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    c += key > t_lo ? 1 : 0;
  }
  *count += c;
}

template <PassMode kMode>
size_t CollectStyled(CollectStyle style, const PassInput& in, size_t begin, size_t end,
                     int32_t t_lo, int32_t t_zero, CollectCursor* cur) {
  switch (style) {
    case CollectStyle::kSparse:
      return CollectOneSweep<kMode, false>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kBlocked:
      return CollectBlocked<kMode>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kDense:
    case CollectStyle::kOffsets:  // need a byte compress; the dense kernel stands in
    case CollectStyle::kPermute:
      return CollectOneSweep<kMode, true>(in, begin, end, t_lo, t_zero, cur);
  }
  return begin;
}

}  // namespace

size_t CollectAvx2(PassMode mode, CollectStyle style, const PassInput& in, size_t begin, size_t end,
                   int32_t t_lo, int32_t t_zero, CollectCursor* cur) {
  switch (mode) {
    case PassMode::kRead:
      return CollectStyled<PassMode::kRead>(style, in, begin, end, t_lo, t_zero, cur);
    case PassMode::kAddStore:
      return CollectStyled<PassMode::kAddStore>(style, in, begin, end, t_lo, t_zero, cur);
    case PassMode::kAddZero:
      return CollectStyled<PassMode::kAddZero>(style, in, begin, end, t_lo, t_zero, cur);
  }
  return begin;
}

void CountAvx2(PassMode mode, const PassInput& in, size_t begin, size_t end, int32_t t_lo,
               size_t* count) {
  if (mode == PassMode::kRead) {
    CountT<PassMode::kRead>(in, begin, end, t_lo, count);
  } else {
    CountT<PassMode::kAddStore>(in, begin, end, t_lo, count);
  }
}

SOTTO_AVX2 void AddAvx2(const float* u, float* e, size_t begin, size_t end) {
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    _mm256_storeu_ps(e + i, _mm256_add_ps(_mm256_loadu_ps(u + i), _mm256_loadu_ps(e + i)));
  }
  for (; i < end; ++i) e[i] = u[i] + e[i];
}

SOTTO_AVX2 size_t EmitBlockAvx2(const uint32_t* bi, const float* bv, size_t cnt,
                                const EmitArgs& a) {
  const __m256i vk = _mm256_set1_epi32(a.cut_key);
  const __m256i vzeroed = _mm256_set1_epi32(a.zeroed_above);
  size_t pos = *a.o;
  size_t j = 0;
  for (; j + 8 <= cnt && pos + 8 <= a.limit; j += 8) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bi + j));
    const __m256 val = _mm256_loadu_ps(bv + j);
    const __m256i key = Key8(val);
    uint32_t sel = Mask8(_mm256_cmpgt_epi32(key, vk));
    if (*a.ties_left > 0) {
      uint32_t eq = Mask8(_mm256_cmpeq_epi32(key, vk));
      // The lowest ties_left of them (rare: only vectors holding the k-th key).
      while (static_cast<size_t>(std::popcount(eq)) > *a.ties_left) {
        eq &= ~(0x80000000u >> std::countl_zero(eq));
      }
      *a.ties_left -= static_cast<size_t>(std::popcount(eq));
      sel |= eq;
    }
    const __m256i perm = Perm(sel);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.out_idx + pos),
                        _mm256_permutevar8x32_epi32(idx, perm));
    if (a.out_val != nullptr) {
      _mm256_storeu_ps(a.out_val + pos, _mm256_permutevar8x32_ps(val, perm));
    }
    if (a.fix_idx != nullptr) {
      const uint32_t zeroed = Mask8(_mm256_cmpgt_epi32(key, vzeroed));
      // Restoring: not selected, but zeroed by the pass; else selected, but not zeroed.
      const uint32_t fm = a.restore ? ~sel & zeroed & 0xffu : sel & ~zeroed;
      const __m256i fperm = Perm(fm);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.fix_idx + *a.nfix),
                          _mm256_permutevar8x32_epi32(idx, fperm));
      if (a.restore) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.fix_bits + *a.nfix),
                            _mm256_permutevar8x32_epi32(_mm256_castps_si256(val), fperm));
      }
      *a.nfix += static_cast<size_t>(std::popcount(fm));
    }
    pos += static_cast<size_t>(std::popcount(sel));
  }
  *a.o = pos;
  return j;
}

SOTTO_AVX2 size_t GatherKeysAvx2(const float* bv, size_t cnt, int32_t t_hi, bool in_window,
                                 uint32_t** w, const uint32_t* w_end) {
  const __m256i vhi = _mm256_set1_epi32(t_hi);
  const uint32_t flip = in_window ? 0xff : 0;
  uint32_t* out = *w;
  size_t j = 0;
  for (; j + 8 <= cnt && out + 8 <= w_end; j += 8) {
    const __m256i key = Key8(_mm256_loadu_ps(bv + j));
    const uint32_t m = Mask8(_mm256_cmpgt_epi32(key, vhi)) ^ flip;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(key, Perm(m)));
    out += std::popcount(m);
  }
  *w = out;
  return j;
}

SOTTO_AVX2 void MinMaxAvx2(const uint32_t* k, size_t m, uint32_t* lo, uint32_t* hi) {
  __m256i vmin = _mm256_set1_epi32(-1);
  __m256i vmax = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + j));
    vmin = _mm256_min_epu32(vmin, x);
    vmax = _mm256_max_epu32(vmax, x);
  }
  alignas(32) uint32_t mins[8];
  alignas(32) uint32_t maxs[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(mins), vmin);
  _mm256_store_si256(reinterpret_cast<__m256i*>(maxs), vmax);
  uint32_t mn = 0xffffffffu;
  uint32_t mx = 0;
  for (int t = 0; t < 8; ++t) {
    mn = mins[t] < mn ? mins[t] : mn;
    mx = maxs[t] > mx ? maxs[t] : mx;
  }
  for (; j < m; ++j) {
    mn = k[j] < mn ? k[j] : mn;
    mx = k[j] > mx ? k[j] : mx;
  }
  *lo = mn;
  *hi = mx;
}

SOTTO_AVX2 size_t FilterAvx2(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi, uint32_t* out,
                             size_t* above) {
  // Keys are < 2^31, so signed compares are exact.
  const __m256i vlo = _mm256_set1_epi32(static_cast<int>(lo) - 1);
  const __m256i vhi = _mm256_set1_epi32(static_cast<int>(hi));
  size_t c = 0;
  size_t a = 0;
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + j));
    const __m256i over = _mm256_cmpgt_epi32(x, vhi);
    const uint32_t keep = Mask8(_mm256_andnot_si256(over, _mm256_cmpgt_epi32(x, vlo)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c),
                        _mm256_permutevar8x32_epi32(x, Perm(keep)));
    c += static_cast<size_t>(std::popcount(keep));
    a += static_cast<size_t>(std::popcount(Mask8(over)));
  }
  for (; j < m; ++j) {
    const uint32_t x = in[j];
    out[c] = x;
    c += x >= lo && x <= hi ? 1 : 0;
    a += x > hi ? 1 : 0;
  }
  *above = a;
  return c;
}

SOTTO_AVX2 void CountGeAvx2(const uint32_t* k, size_t m, uint32_t key, size_t* greater,
                            size_t* equal) {
  const __m256i vk = _mm256_set1_epi32(static_cast<int>(key));
  size_t gt = 0;
  size_t eq = 0;
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + j));
    gt += static_cast<size_t>(std::popcount(Mask8(_mm256_cmpgt_epi32(x, vk))));
    eq += static_cast<size_t>(std::popcount(Mask8(_mm256_cmpeq_epi32(x, vk))));
  }
  for (; j < m; ++j) {
    gt += k[j] > key ? 1 : 0;
    eq += k[j] == key ? 1 : 0;
  }
  *greater = gt;
  *equal = eq;
}

SOTTO_AVX2 void SampleKeysAvx2(const float* x, const float* u, const float* e, size_t n,
                               size_t runs, uint64_t seed, uint32_t* out) {
  const SampleStrata strata(n, runs, seed);
  for (size_t j = 0; j < runs; ++j) {
    const size_t p = strata.Position(j);
    for (size_t h = 0; h < kSampleRun; h += 8) {
      const __m256 v = x != nullptr
                           ? _mm256_loadu_ps(x + p + h)
                           : _mm256_add_ps(_mm256_loadu_ps(u + p + h), _mm256_loadu_ps(e + p + h));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * kSampleRun + h), Key8(v));
    }
  }
}

}  // namespace sotto::kernels::internal
