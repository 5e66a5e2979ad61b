// AVX-512 kernels of the CPU path (declared in cpu/simd.h).
//
// Why this shape (measured on Zen 4, see docs/BENCHMARKS.md): the compaction of a 16-element
// group costs two register vpcompressd and two stores, about four cycles, against a quarter
// cycle to load and compare it; the compress-to-memory form is avoided (it is microcoded on
// Zen 4). A branch on whether a group holds a survivor is cheap only when the predictor can learn
// the data, which a new gradient every round never allows: on fresh data it mispredicts at every
// density from about 0.5% to 50%. The offsets kernel (chosen while survivors are rare, where the
// CPU has VBMI2) therefore has no such branch: one byte compress per 64 elements yields the
// indices, and the values are read back afterwards. The permute kernel (above that, to 20%) picks
// the values from the loaded vectors with the same offsets instead, two vpermt2ps per 16
// survivors, cheaper than either the read-back or the dense kernel's per-group compress. The dense
// kernel (above 20%) compacts every group, branching once per two groups. The sparse kernel (a
// branch per group) serves as the others' tail. When the input streams from DRAM, stores whose
// address depends on a just-loaded value fill the store queue and throttle the loads; the blocked
// kernel therefore compares a 512-element block first (only a 16-bit mask per group is stored)
// and compacts from L1 afterwards. The 64-element loops are unrolled by pragma: at -O2 GCC would
// keep their four vectors in a stack array.
//
// Everything here is compiled for AVX-512 through target attributes only, and is called only
// when SimdFor(options) == kAvx512.

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "cpu/simd.h"

#define SOTTO_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,bmi,bmi2,popcnt")))
// The offsets kernel also needs VBMI2's byte compress (checked by CpuHasAvx512Vbmi2).
#define SOTTO_AVX512_VBMI2 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi2,bmi,bmi2,popcnt")))

// GCC 12 reports its own _mm256_undefined_*() (a self-initialised variable inside the
// 512-to-256-bit casts and extracts) as (maybe-)uninitialized when AVX-512 comes from a target
// attribute.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace sotto::kernels::internal {
namespace {

constexpr size_t kSub = 512;  // elements per block of the blocked kernel
constexpr int kSubGroups = static_cast<int>(kSub / 16);

SOTTO_AVX512 inline __m512i Iota16() {
  return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

// |v| bits (NaN payloads not clamped; compare against RawRule thresholds).
SOTTO_AVX512 inline __m512i Abs16(__m512 v) {
  return _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
}
// MagnitudeKey of every lane.
SOTTO_AVX512 inline __m512i Key16(__m512 v) {
  return _mm512_min_epu32(Abs16(v), _mm512_set1_epi32(static_cast<int>(kNanKey)));
}

// Mask -> integer conversions are pinned to a general register. GCC 12 otherwise may widen a
// __mmask16 by spilling it with a 16-bit kmovw into a 32-bit stack slot and reading the slot
// back whole, stale upper bits included (seen in the TSan build, where the instrumentation calls
// force spills; _cvtmask16_u32 alone does not prevent it). In a register, kmovw zero-extends.
SOTTO_AVX512 inline uint32_t Bits16(__mmask16 m) {
  uint32_t bits = _cvtmask16_u32(m);
  __asm__("" : "+r"(bits));
  return bits;
}
SOTTO_AVX512 inline uint32_t Bits32(__mmask32 m) {
  uint32_t bits = _cvtmask32_u32(m);
  __asm__("" : "+r"(bits));
  return bits;
}
SOTTO_AVX512 inline __mmask16 Mask16(uint32_t bits) { return _cvtu32_mask16(bits); }
SOTTO_AVX512 inline int Popcount16(__mmask16 m) { return std::popcount(Bits16(m)); }
SOTTO_AVX512 inline __mmask16 FirstLanes(size_t count) {  // count < 16
  return Mask16((1u << count) - 1);
}

// The pass's pointers, copied out of PassInput: the intrinsics' stores may alias anything, so
// members read through a reference would be reloaded after every store.
struct Ptrs {
  const float* in;
  float* e;
};

template <PassMode kMode>
SOTTO_AVX512 inline __m512 Load16(Ptrs p, size_t i) {
  if constexpr (kMode == PassMode::kRead) {
    return _mm512_loadu_ps(p.in + i);
  } else {
    return _mm512_add_ps(_mm512_loadu_ps(p.in + i), _mm512_loadu_ps(p.e + i));
  }
}

template <PassMode kMode>
SOTTO_AVX512 inline __m512 LoadPart16(Ptrs p, size_t i, __mmask16 lanes) {
  if constexpr (kMode == PassMode::kRead) {
    return _mm512_maskz_loadu_ps(lanes, p.in + i);
  } else {
    return _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, p.in + i),
                         _mm512_maskz_loadu_ps(lanes, p.e + i));
  }
}

// Appends the lanes of m (indices vidx, values v) at oi/ov. Writes at most 16 entries past oi;
// a group with at most 8 survivors stores only the low halves.
SOTTO_AVX512 inline void Emit16(__m512 v, __m512i vidx, __mmask16 m, uint32_t*& oi, float*& ov) {
  const __m512i ci = _mm512_maskz_compress_epi32(m, vidx);
  const __m512 cv = _mm512_maskz_compress_ps(m, v);
  const int c = Popcount16(m);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi), _mm512_castsi512_si256(ci));
  _mm256_storeu_ps(ov, _mm512_castps512_ps256(cv));
  if (c > 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi + 8), _mm512_extracti32x8_epi32(ci, 1));
    _mm256_storeu_ps(ov + 8, _mm512_extractf32x8_ps(cv, 1));
  }
  oi += c;
  ov += c;
}

// One group of the sparse kernel; `lanes` limits a partial last group.
template <PassMode kMode, bool kFull>
SOTTO_AVX512 inline void SparseGroup(Ptrs p, size_t i, __mmask16 lanes, __m512i vlo, __m512i vzero,
                                     uint32_t*& oi, float*& ov) {
  const __m512 v = kFull ? Load16<kMode>(p, i) : LoadPart16<kMode>(p, i, lanes);
  const __m512i key = Abs16(v);
  const __mmask16 m = _mm512_mask_cmpgt_epi32_mask(lanes, key, vlo);
  if constexpr (kMode == PassMode::kAddStore) {
    if constexpr (kFull) {
      _mm512_storeu_ps(p.e + i, v);
    } else {
      _mm512_mask_storeu_ps(p.e + i, lanes, v);
    }
  } else if constexpr (kMode == PassMode::kAddZero) {
    const __mmask16 zero = _mm512_mask_cmpgt_epi32_mask(lanes, key, vzero);
    const __m512 kept = _mm512_maskz_mov_ps(_knot_mask16(zero), v);
    if constexpr (kFull) {
      _mm512_storeu_ps(p.e + i, kept);
    } else {
      _mm512_mask_storeu_ps(p.e + i, lanes, kept);
    }
  }
  if (Bits16(m) != 0) {
    Emit16(v, _mm512_add_epi32(Iota16(), _mm512_set1_epi32(static_cast<int>(i))), m, oi, ov);
  }
}

void Commit(CollectCursor* cur, uint32_t* oi, float* ov) {
  const auto stored = static_cast<size_t>(oi - cur->idx);
  cur->idx = oi;
  cur->val = ov;
  cur->room -= stored;
  cur->stored += stored;
}

template <PassMode kMode>
SOTTO_AVX512 size_t CollectSparse(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                  int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  const __m512i vzero = _mm512_set1_epi32(RawRule(t_zero));
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  for (; i + 64 <= end && limit - oi >= static_cast<ptrdiff_t>(kGroup); i += 64) {
    SparseGroup<kMode, true>(p, i, Mask16(0xffff), vlo, vzero, oi, ov);
    SparseGroup<kMode, true>(p, i + 16, Mask16(0xffff), vlo, vzero, oi, ov);
    SparseGroup<kMode, true>(p, i + 32, Mask16(0xffff), vlo, vzero, oi, ov);
    SparseGroup<kMode, true>(p, i + 48, Mask16(0xffff), vlo, vzero, oi, ov);
  }
  if (i < end && i + 64 > end && limit - oi >= static_cast<ptrdiff_t>(kGroup)) {
    // Fewer than 64 left: they append at most 63 entries, within the room.
    for (; i + 16 <= end; i += 16)
      SparseGroup<kMode, true>(p, i, Mask16(0xffff), vlo, vzero, oi, ov);
    if (i < end) {
      const auto lanes = FirstLanes(end - i);
      SparseGroup<kMode, false>(p, i, lanes, vlo, vzero, oi, ov);
      i = end;
    }
  }
  Commit(cur, oi, ov);
  return i;
}

// Dense variant: one branch per pair of groups (nearly always taken when survivors are
// common, so it rarely mispredicts), then both groups compacted unconditionally.
template <PassMode kMode>
SOTTO_AVX512 size_t CollectDense(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                 int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  const __m512i vzero = _mm512_set1_epi32(RawRule(t_zero));
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  for (; i + 32 <= end && limit - oi >= static_cast<ptrdiff_t>(kGroup); i += 32) {
    const __m512 v0 = Load16<kMode>(p, i);
    const __m512 v1 = Load16<kMode>(p, i + 16);
    const __m512i k0 = Abs16(v0);
    const __m512i k1 = Abs16(v1);
    const __mmask16 m0 = _mm512_cmpgt_epi32_mask(k0, vlo);
    const __mmask16 m1 = _mm512_cmpgt_epi32_mask(k1, vlo);
    if constexpr (kMode == PassMode::kAddStore) {
      _mm512_storeu_ps(p.e + i, v0);
      _mm512_storeu_ps(p.e + i + 16, v1);
    } else if constexpr (kMode == PassMode::kAddZero) {
      const __mmask16 z0 = _mm512_cmpgt_epi32_mask(k0, vzero);
      const __mmask16 z1 = _mm512_cmpgt_epi32_mask(k1, vzero);
      _mm512_storeu_ps(p.e + i, _mm512_maskz_mov_ps(_knot_mask16(z0), v0));
      _mm512_storeu_ps(p.e + i + 16, _mm512_maskz_mov_ps(_knot_mask16(z1), v1));
    }
    if ((Bits16(m0) | Bits16(m1)) != 0) {
      const __m512i base = _mm512_add_epi32(Iota16(), _mm512_set1_epi32(static_cast<int>(i)));
      Emit16(v0, base, m0, oi, ov);
      Emit16(v1, _mm512_add_epi32(base, _mm512_set1_epi32(16)), m1, oi, ov);
    }
  }
  Commit(cur, oi, ov);
  return CollectSparse<kMode>(in, i, end, t_lo, t_zero, cur);
}

template <PassMode kMode>
SOTTO_AVX512 size_t CollectBlocked(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                   int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  const __m512i vzero = _mm512_set1_epi32(RawRule(t_zero));
  const float* src = kMode == PassMode::kRead ? p.in : p.e;  // a = u + e is in e after sweep 1
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  alignas(64) uint16_t masks[kSubGroups] = {};
  for (;;) {
    // A block of up to kSub elements, whole groups, no longer than the room left.
    const auto room = static_cast<size_t>(limit - oi);
    const size_t len = std::min({kSub, (end - i) & ~size_t{15}, room & ~size_t{15}});
    if (len < kGroup) break;
    const int groups = static_cast<int>(len / 16);
    for (int g = 0; g < groups; ++g) {
      const size_t q = i + 16 * static_cast<size_t>(g);
      const __m512 v = Load16<kMode>(p, q);
      if constexpr (kMode != PassMode::kRead) _mm512_storeu_ps(p.e + q, v);
      masks[g] = static_cast<uint16_t>(Bits16(_mm512_cmpgt_epi32_mask(Abs16(v), vlo)));
    }
    const __m512i all = _mm512_load_si512(masks);
    uint32_t nz = Bits32(_mm512_test_epi16_mask(all, all));
    if (groups < 32) nz &= (1u << groups) - 1;
    for (; nz != 0; nz &= nz - 1) {
      const int g = std::countr_zero(nz);
      const size_t q = i + 16 * static_cast<size_t>(g);
      const __m512 v = _mm512_loadu_ps(src + q);
      Emit16(v, _mm512_add_epi32(Iota16(), _mm512_set1_epi32(static_cast<int>(q))),
             Mask16(masks[g]), oi, ov);
      if constexpr (kMode == PassMode::kAddZero) {
        _mm512_mask_storeu_ps(p.e + q, _mm512_cmpgt_epi32_mask(Abs16(v), vzero),
                              _mm512_setzero_ps());
      }
    }
    i += len;
  }
  Commit(cur, oi, ov);
  // The rest (less than kGroup elements, or too little room for a block) one group at a time.
  return CollectSparse<kMode>(in, i, end, t_lo, t_zero, cur);
}

// The bytes 0, 1, ..., 63: what the offsets and permute kernels' byte compress packs.
SOTTO_AVX512_VBMI2 inline __m512i ByteOffsets64() {
  return _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45,
                         44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26,
                         25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                         5, 4, 3, 2, 1, 0);
}

// Offsets variant. Per 64 elements: four compares give a 64-bit survivor mask, one
// vpcompressb packs the survivors' byte offsets 0..63, and vpmovzxbd plus the block's base turns
// the first 16 into indices, stored whole (the next block's store overwrites the lanes past the
// count). Only a block with more than 16 survivors (rare at the densities this kernel is chosen
// for) takes a branch. The values are read back from the source afterwards, in one loop over the
// entries in index order; with kAddZero that loop also zeroes e at the entries above t_zero, so
// the pass itself stores a = u + e everywhere.
template <PassMode kMode>
SOTTO_AVX512_VBMI2 size_t CollectOffsets(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                         int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  const __m512i offsets = ByteOffsets64();
  uint32_t* const first = cur->idx;
  uint32_t* oi = first;
  const uint32_t* const limit = cur->idx + cur->room;
  for (; i + 64 <= end && limit - oi >= static_cast<ptrdiff_t>(kGroup); i += 64) {
    uint64_t m = 0;
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const size_t q = i + 16 * static_cast<size_t>(g);
      const __m512 v = Load16<kMode>(p, q);
      if constexpr (kMode != PassMode::kRead) _mm512_storeu_ps(p.e + q, v);
      m |= uint64_t{Bits16(_mm512_cmpgt_epi32_mask(Abs16(v), vlo))} << (16 * g);
    }
    const __m512i packed = _mm512_maskz_compress_epi8(_cvtu64_mask64(m), offsets);
    const __m512i base = _mm512_set1_epi32(static_cast<int>(i));
    _mm512_storeu_si512(
        oi, _mm512_add_epi32(base, _mm512_cvtepu8_epi32(_mm512_castsi512_si128(packed))));
    const int c = std::popcount(m);
    if (c > 16) [[unlikely]] {
      _mm512_storeu_si512(
          oi + 16,
          _mm512_add_epi32(base, _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(packed, 1))));
      _mm512_storeu_si512(
          oi + 32,
          _mm512_add_epi32(base, _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(packed, 2))));
      _mm512_storeu_si512(
          oi + 48,
          _mm512_add_epi32(base, _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(packed, 3))));
    }
    oi += c;
  }
  // The values (a = u + e is in e by now).
  const auto stored = static_cast<size_t>(oi - first);
  const float* src = kMode == PassMode::kRead ? p.in : p.e;
  float* const ov = cur->val;
  // The entries lie in lines last touched a whole pass ago (L3 at best): prefetch ahead.
  constexpr size_t kAhead = 32;
  for (size_t j = 0; j < stored; ++j) {
    if (j + kAhead < stored)
      __builtin_prefetch(src + first[j + kAhead], kMode == PassMode::kAddZero);
    const uint32_t at = first[j];
    const float v = src[at];
    ov[j] = v;
    if constexpr (kMode == PassMode::kAddZero) {
      // Arithmetic, not a branch: whether an entry lies above t_zero is a coin toss near K.
      const uint32_t bits = std::bit_cast<uint32_t>(v);
      const auto above =
          static_cast<uint32_t>(static_cast<int32_t>(bits & 0x7fffffffu) > RawRule(t_zero));
      p.e[at] = std::bit_cast<float>(bits & (above - 1u));
    }
  }
  Commit(cur, oi, ov + stored);
  // The tail (fewer than 64 elements, or too little room for a block).
  return CollectSparse<kMode>(in, i, end, t_lo, t_zero, cur);
}

// Permute variant: the offsets kernel with the values picked in the pass. The 16 offsets fetch
// the values from the four loaded vectors: two vpermt2ps (each picks from a pair of vectors by the
// offset's low five bits) and a blend on bit 5. Only a block with more than 16 survivors (rare
// below about 15%) takes a branch. With kAddZero the pass stores a = u + e with the entries above
// t_zero zeroed.
template <int kQuarter>
SOTTO_AVX512_VBMI2 inline void OffsetsQuarter(__m512i packed, __m512i base, __m512 v0, __m512 v1,
                                              __m512 v2, __m512 v3, uint32_t* oi, float* ov) {
  const __m512i off = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(packed, kQuarter));
  _mm512_storeu_si512(oi + 16 * kQuarter, _mm512_add_epi32(base, off));
  const __m512 lo = _mm512_permutex2var_ps(v0, off, v1);
  const __m512 hi = _mm512_permutex2var_ps(v2, off, v3);
  const __mmask16 upper = _mm512_test_epi32_mask(off, _mm512_set1_epi32(32));
  _mm512_storeu_ps(ov + 16 * kQuarter, _mm512_mask_blend_ps(upper, lo, hi));
}

template <PassMode kMode>
SOTTO_AVX512_VBMI2 size_t CollectPermute(const PassInput& in, size_t i, size_t end, int32_t t_lo,
                                         int32_t t_zero, CollectCursor* cur) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  const __m512i vzero = _mm512_set1_epi32(RawRule(t_zero));
  const __m512i offsets = ByteOffsets64();
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  const uint32_t* const limit = cur->idx + cur->room;
  for (; i + 64 <= end && limit - oi >= static_cast<ptrdiff_t>(kGroup); i += 64) {
    __m512 v[4];
    __mmask16 m[4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const size_t q = i + 16 * static_cast<size_t>(g);
      v[g] = Load16<kMode>(p, q);
      const __m512i key = Abs16(v[g]);
      if constexpr (kMode == PassMode::kAddStore) {
        _mm512_storeu_ps(p.e + q, v[g]);
      } else if constexpr (kMode == PassMode::kAddZero) {
        // key > t_zero as a lane of ones, (t_zero - key) >> 31, with no second mask compare: the
        // compares and the mask moves of the compaction share few ports on Zen 4. The
        // difference cannot overflow (key < 2^31, t_zero >= -1).
        const __m512i above = _mm512_srai_epi32(_mm512_sub_epi32(vzero, key), 31);
        _mm512_storeu_si512(p.e + q, _mm512_andnot_si512(above, _mm512_castps_si512(v[g])));
      }
      m[g] = _mm512_cmpgt_epi32_mask(key, vlo);
    }
    // The 64-bit mask is assembled in mask registers (kunpck), moved to a general one once.
    const __mmask64 m64 = _mm512_kunpackd(_mm512_kunpackw(m[3], m[2]), _mm512_kunpackw(m[1], m[0]));
    const __m512i packed = _mm512_maskz_compress_epi8(m64, offsets);
    const __m512i base = _mm512_set1_epi32(static_cast<int>(i));
    OffsetsQuarter<0>(packed, base, v[0], v[1], v[2], v[3], oi, ov);
    uint64_t bits = _cvtmask64_u64(m64);
    __asm__("" : "+r"(bits));
    const int c = std::popcount(bits);
    if (c > 16) [[unlikely]] {
      OffsetsQuarter<1>(packed, base, v[0], v[1], v[2], v[3], oi, ov);
      OffsetsQuarter<2>(packed, base, v[0], v[1], v[2], v[3], oi, ov);
      OffsetsQuarter<3>(packed, base, v[0], v[1], v[2], v[3], oi, ov);
    }
    oi += c;
    ov += c;
  }
  Commit(cur, oi, ov);
  // The tail (fewer than 64 elements, or too little room for a block).
  return CollectSparse<kMode>(in, i, end, t_lo, t_zero, cur);
}

template <PassMode kMode>
SOTTO_AVX512 void CountT(const PassInput& in, size_t begin, size_t end, int32_t t_lo,
                         size_t* count) {
  const Ptrs p{in.in, in.e};
  const __m512i vlo = _mm512_set1_epi32(RawRule(t_lo));
  size_t c = 0;
  size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    const __m512 v = Load16<kMode>(p, i);
    if constexpr (kMode != PassMode::kRead) _mm512_storeu_ps(p.e + i, v);
    const __m512i key = Abs16(v);
    c += static_cast<size_t>(Popcount16(_mm512_cmpgt_epi32_mask(key, vlo)));
  }
  if (i < end) {
    const auto lanes = FirstLanes(end - i);
    const __m512 v = LoadPart16<kMode>(p, i, lanes);
    if constexpr (kMode != PassMode::kRead) _mm512_mask_storeu_ps(p.e + i, lanes, v);
    const __m512i key = Abs16(v);
    c += static_cast<size_t>(Popcount16(_mm512_mask_cmpgt_epi32_mask(lanes, key, vlo)));
  }
  *count += c;
}

}  // namespace

namespace {

template <PassMode kMode>
size_t CollectStyled(CollectStyle style, const PassInput& in, size_t begin, size_t end,
                     int32_t t_lo, int32_t t_zero, CollectCursor* cur) {
  switch (style) {
    case CollectStyle::kSparse:
      return CollectSparse<kMode>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kDense:
      return CollectDense<kMode>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kBlocked:
      return CollectBlocked<kMode>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kOffsets:
      if (CpuHasAvx512Vbmi2()) return CollectOffsets<kMode>(in, begin, end, t_lo, t_zero, cur);
      return CollectDense<kMode>(in, begin, end, t_lo, t_zero, cur);
    case CollectStyle::kPermute:
      if (CpuHasAvx512Vbmi2()) return CollectPermute<kMode>(in, begin, end, t_lo, t_zero, cur);
      return CollectDense<kMode>(in, begin, end, t_lo, t_zero, cur);
  }
  return begin;
}

}  // namespace

size_t CollectAvx512(PassMode mode, CollectStyle style, const PassInput& in, size_t begin,
                     size_t end, int32_t t_lo, int32_t t_zero, CollectCursor* cur) {
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

void CountAvx512(PassMode mode, const PassInput& in, size_t begin, size_t end, int32_t t_lo,
                 size_t* count) {
  if (mode == PassMode::kRead) {
    CountT<PassMode::kRead>(in, begin, end, t_lo, count);
  } else {
    CountT<PassMode::kAddStore>(in, begin, end, t_lo, count);
  }
}

SOTTO_AVX512 void AddAvx512(const float* u, float* e, size_t begin, size_t end) {
  size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    _mm512_storeu_ps(e + i, _mm512_add_ps(_mm512_loadu_ps(u + i), _mm512_loadu_ps(e + i)));
  }
  if (i < end) {
    const auto lanes = FirstLanes(end - i);
    _mm512_mask_storeu_ps(
        e + i, lanes,
        _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, u + i), _mm512_maskz_loadu_ps(lanes, e + i)));
  }
}

SOTTO_AVX512 size_t EmitBlockAvx512(const uint32_t* bi, const float* bv, size_t cnt,
                                    const EmitArgs& a) {
  // Everything the loop touches is held in locals: the vector stores may alias anything, so
  // fields read through `a` would be reloaded after each of them.
  const __m512i vk = _mm512_set1_epi32(a.cut_key);
  const __m512i vzeroed = _mm512_set1_epi32(a.zeroed_above);
  uint32_t* const out_idx = a.out_idx;
  float* const out_val = a.out_val;
  uint32_t* const fix_idx = a.fix_idx;
  uint32_t* const fix_bits = a.fix_bits;
  const bool restore = a.restore;
  const size_t limit = a.limit;
  size_t ties = *a.ties_left;
  size_t nfix = fix_idx != nullptr ? *a.nfix : 0;
  size_t pos = *a.o;
  size_t j = 0;
  for (; j + 16 <= cnt && pos + 16 <= limit; j += 16) {
    const __m512i idx = _mm512_loadu_si512(bi + j);
    const __m512 val = _mm512_loadu_ps(bv + j);
    const __m512i key = Key16(val);
    uint32_t sel = Bits16(_mm512_cmpgt_epi32_mask(key, vk));
    if (ties > 0) {
      uint32_t eq = Bits16(_mm512_cmpeq_epi32_mask(key, vk));
      if (eq != 0) {
        if (static_cast<size_t>(std::popcount(eq)) > ties) {
          eq = _pdep_u32((1u << ties) - 1, eq);  // the lowest `ties` of them
        }
        ties -= static_cast<size_t>(std::popcount(eq));
        sel |= eq;
      }
    }
    const __mmask16 m = Mask16(sel);
    _mm512_storeu_si512(out_idx + pos, _mm512_maskz_compress_epi32(m, idx));
    if (out_val != nullptr) _mm512_storeu_ps(out_val + pos, _mm512_maskz_compress_ps(m, val));
    if (fix_idx != nullptr) {
      if (restore) {  // not selected, but zeroed by the pass
        const __mmask16 fm = _mm512_mask_cmpgt_epi32_mask(_knot_mask16(m), key, vzeroed);
        _mm512_storeu_si512(fix_idx + nfix, _mm512_maskz_compress_epi32(fm, idx));
        _mm512_storeu_si512(fix_bits + nfix,
                            _mm512_maskz_compress_epi32(fm, _mm512_castps_si512(val)));
        nfix += static_cast<size_t>(Popcount16(fm));
      } else {  // selected, but not zeroed by the pass
        const __mmask16 fm = _mm512_mask_cmple_epi32_mask(m, key, vzeroed);
        _mm512_storeu_si512(fix_idx + nfix, _mm512_maskz_compress_epi32(fm, idx));
        nfix += static_cast<size_t>(Popcount16(fm));
      }
    }
    pos += static_cast<size_t>(std::popcount(sel));
  }
  *a.ties_left = ties;
  if (fix_idx != nullptr) *a.nfix = nfix;
  *a.o = pos;
  return j;
}

SOTTO_AVX512 size_t GatherKeysAvx512(const float* bv, size_t cnt, int32_t t_hi, bool in_window,
                                     uint32_t** w, const uint32_t* w_end) {
  const __m512i vhi = _mm512_set1_epi32(t_hi);
  const __mmask16 flip = Mask16(in_window ? 0xffff : 0);
  uint32_t* out = *w;
  size_t j = 0;
  for (; j + 16 <= cnt && out + 16 <= w_end; j += 16) {
    const __m512i key = Key16(_mm512_loadu_ps(bv + j));
    const __mmask16 m = _kxor_mask16(_mm512_cmpgt_epi32_mask(key, vhi), flip);
    _mm512_storeu_si512(out, _mm512_maskz_compress_epi32(m, key));
    out += Popcount16(m);
  }
  *w = out;
  return j;
}

SOTTO_AVX512 void MinMaxAvx512(const uint32_t* k, size_t m, uint32_t* lo, uint32_t* hi) {
  __m512i vmin = _mm512_set1_epi32(-1);
  __m512i vmax = _mm512_setzero_si512();
  size_t j = 0;
  for (; j + 16 <= m; j += 16) {
    const __m512i x = _mm512_loadu_si512(k + j);
    vmin = _mm512_min_epu32(vmin, x);
    vmax = _mm512_max_epu32(vmax, x);
  }
  uint32_t mn = _mm512_reduce_min_epu32(vmin);
  uint32_t mx = _mm512_reduce_max_epu32(vmax);
  for (; j < m; ++j) {
    mn = k[j] < mn ? k[j] : mn;
    mx = k[j] > mx ? k[j] : mx;
  }
  *lo = mn;
  *hi = mx;
}

SOTTO_AVX512 size_t FilterAvx512(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi,
                                 uint32_t* out, size_t* above) {
  const __m512i vlo = _mm512_set1_epi32(static_cast<int>(lo));
  const __m512i vhi = _mm512_set1_epi32(static_cast<int>(hi));
  size_t c = 0;
  size_t a = 0;
  size_t j = 0;
  for (; j + 16 <= m; j += 16) {
    const __m512i x = _mm512_loadu_si512(in + j);
    const __mmask16 over = _mm512_cmpgt_epu32_mask(x, vhi);
    const __mmask16 keep = _mm512_mask_cmpge_epu32_mask(_knot_mask16(over), x, vlo);
    _mm512_storeu_si512(out + c, _mm512_maskz_compress_epi32(keep, x));  // c <= j: in place ok
    c += static_cast<size_t>(Popcount16(keep));
    a += static_cast<size_t>(Popcount16(over));
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

SOTTO_AVX512 void CountGeAvx512(const uint32_t* k, size_t m, uint32_t key, size_t* greater,
                                size_t* equal) {
  const __m512i vk = _mm512_set1_epi32(static_cast<int>(key));
  size_t gt = 0;
  size_t eq = 0;
  size_t j = 0;
  for (; j + 16 <= m; j += 16) {
    const __m512i x = _mm512_loadu_si512(k + j);
    gt += static_cast<size_t>(Popcount16(_mm512_cmpgt_epu32_mask(x, vk)));
    eq += static_cast<size_t>(Popcount16(_mm512_cmpeq_epu32_mask(x, vk)));
  }
  for (; j < m; ++j) {
    gt += k[j] > key ? 1 : 0;
    eq += k[j] == key ? 1 : 0;
  }
  *greater = gt;
  *equal = eq;
}

SOTTO_AVX512 void SampleKeysAvx512(const float* x, const float* u, const float* e, size_t n,
                                   size_t runs, uint64_t seed, uint32_t* out) {
  const SampleStrata strata(n, runs, seed);
  for (size_t j = 0; j < runs; ++j) {
    const size_t p = strata.Position(j);
    const __m512 v = x != nullptr ? _mm512_loadu_ps(x + p)
                                  : _mm512_add_ps(_mm512_loadu_ps(u + p), _mm512_loadu_ps(e + p));
    _mm512_storeu_si512(out + j * kSampleRun, Key16(v));
  }
}

}  // namespace sotto::kernels::internal
