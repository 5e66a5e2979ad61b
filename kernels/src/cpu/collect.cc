// The one-pass collect kernels and the pool plumbing around them.
//
// Why this shape: on a 2-core VM a scalar histogram costs about 1 ns per element, several times
// the cost of reading it, so the pass that touches every element does only a compare against a
// predicted threshold and a compaction of the few survivors (reference/topk.md, section 3).
// The AVX2 variant tests 32 elements with four compares and one branch; only groups with a
// survivor compact it with a permute from a 256-entry table.

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "cpu/engine.h"

namespace sotto::kernels::internal {
namespace {

// Positions of the set bits of an 8-bit mask, packed as nibbles (lowest first).
constexpr std::array<uint32_t, 256> MakeCompressTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t mask = 0; mask < 256; ++mask) {
    uint32_t packed = 0;
    int out = 0;
    for (uint32_t bit = 0; bit < 8; ++bit) {
      if (mask & (1u << bit)) {
        packed |= bit << (4 * out);
        ++out;
      }
    }
    table[mask] = packed;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCompressTable = MakeCompressTable();

// The same table expanded to one 8-lane permutation per mask (8 KiB): one load instead of a
// broadcast and a shift on the hot path.
struct alignas(32) Perm8 {
  uint32_t lane[8];
};
constexpr std::array<Perm8, 256> MakePermTable() {
  std::array<Perm8, 256> table{};
  for (uint32_t mask = 0; mask < 256; ++mask) {
    for (uint32_t j = 0; j < 8; ++j) table[mask].lane[j] = (kCompressTable[mask] >> (4 * j)) & 7;
  }
  return table;
}
constexpr std::array<Perm8, 256> kPermTable = MakePermTable();

struct RunState {
  uint32_t* idx;  // next free entry
  float* val;
  size_t stored = 0;
  size_t count_hi = 0;
};

// ---- Scalar kernels ----------------------------------------------------------------------------

// Processes [begin, end) appending survivors; the caller guarantees end - begin entries of room.
template <PassMode kMode>
void RunScalar(const PassInput& in, size_t begin, size_t end, int32_t t_lo, int32_t t_hi,
               RunState& st) {
  uint32_t* oi = st.idx;
  float* ov = st.val;
  size_t c = 0;
  size_t hi = 0;
  for (size_t i = begin; i < end; ++i) {
    float v;
    if constexpr (kMode == PassMode::kRead) {
      v = in.in[i];
    } else {
      v = in.in[i] + in.e[i];
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    const bool pass = key > t_lo;
    if constexpr (kMode == PassMode::kAddStore) {
      in.e[i] = v;
    } else if constexpr (kMode == PassMode::kAddZero) {
      in.e[i] = key > t_hi ? 0.0f : v;
    }
    oi[c] = static_cast<uint32_t>(i);
    ov[c] = v;
    c += pass ? 1 : 0;
    hi += key > t_hi ? 1 : 0;
  }
  st.idx += c;
  st.val += c;
  st.stored += c;
  st.count_hi += hi;
}

// Counts only (the pool is full); still performs the mode's stores, never zeroing.
template <PassMode kMode>
void CountScalar(const PassInput& in, size_t begin, size_t end, int32_t t_lo, int32_t t_hi,
                 size_t* count, size_t* count_hi) {
  size_t c = 0;
  size_t hi = 0;
  for (size_t i = begin; i < end; ++i) {
    float v;
    if constexpr (kMode == PassMode::kRead) {
      v = in.in[i];
    } else {
      v = in.in[i] + in.e[i];
      in.e[i] = v;
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    c += key > t_lo ? 1 : 0;
    hi += key > t_hi ? 1 : 0;
  }
  *count += c;
  *count_hi += hi;
}

// ---- AVX2 kernels ------------------------------------------------------------------------------

#define SOTTO_AVX2 __attribute__((target("avx2,popcnt")))

SOTTO_AVX2 inline __m256i Keys8(__m256 v) {
  const __m256i abs_bits = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff));
  return _mm256_min_epu32(abs_bits, _mm256_set1_epi32(static_cast<int>(kNanKey)));
}

template <PassMode kMode>
SOTTO_AVX2 inline __m256 Load8(const PassInput& in, size_t i) {
  if constexpr (kMode == PassMode::kRead) {
    return _mm256_loadu_ps(in.in + i);
  } else {
    return _mm256_add_ps(_mm256_loadu_ps(in.in + i), _mm256_loadu_ps(in.e + i));
  }
}

SOTTO_AVX2 inline void Compress8(__m256 v, __m256i vidx, uint32_t mask, uint32_t*& oi, float*& ov) {
  const __m256i perm = _mm256_load_si256(reinterpret_cast<const __m256i*>(&kPermTable[mask]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi), _mm256_permutevar8x32_epi32(vidx, perm));
  _mm256_storeu_ps(ov, _mm256_permutevar8x32_ps(v, perm));
  const int n = std::popcount(mask);
  oi += n;
  ov += n;
}

// kDense: survivors are common (more than about 1 in 64), so the per-group branch would
// mispredict often; compact every vector unconditionally instead.
template <PassMode kMode, bool kDense>
SOTTO_AVX2 void RunAvx2(const PassInput& in, size_t begin, size_t end, int32_t t_lo, int32_t t_hi,
                        RunState& st) {
  uint32_t* oi = st.idx;
  float* ov = st.val;
  size_t hi = 0;
  const __m256i vlo = _mm256_set1_epi32(t_lo);
  const __m256i vhi = _mm256_set1_epi32(t_hi);
  const __m256i step8 = _mm256_set1_epi32(8);
  const __m256i step32 = _mm256_set1_epi32(32);
  __m256i vidx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(begin)),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  size_t i = begin;
  for (; i + kGroup <= end; i += kGroup) {
    __m256 v[4];
    __m256i k[4];
    __m256i m[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = Load8<kMode>(in, i + 8 * j);
      k[j] = Keys8(v[j]);
      m[j] = _mm256_cmpgt_epi32(k[j], vlo);
    }
    if constexpr (kMode == PassMode::kAddStore) {
      for (int j = 0; j < 4; ++j) _mm256_storeu_ps(in.e + i + 8 * j, v[j]);
    } else if constexpr (kMode == PassMode::kAddZero) {
      for (int j = 0; j < 4; ++j) {
        const __m256i zero = _mm256_cmpgt_epi32(k[j], vhi);
        _mm256_storeu_ps(in.e + i + 8 * j, _mm256_andnot_ps(_mm256_castsi256_ps(zero), v[j]));
      }
    }
    if constexpr (kDense) {
      __m256i vj = vidx;
      for (int j = 0; j < 4; ++j) {
        const auto mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(m[j])));
        Compress8(v[j], vj, mask, oi, ov);
        vj = _mm256_add_epi32(vj, step8);
      }
      vidx = _mm256_add_epi32(vidx, step32);
      continue;  // count_hi is taken from the pool afterwards (CountHiInPool)
    }
    const __m256i any = _mm256_or_si256(_mm256_or_si256(m[0], m[1]), _mm256_or_si256(m[2], m[3]));
    if (!_mm256_testz_si256(any, any)) {
      __m256i vj = vidx;
      for (int j = 0; j < 4; ++j) {
        const auto mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(m[j])));
        if (mask != 0) {
          Compress8(v[j], vj, mask, oi, ov);
          hi += std::popcount(static_cast<uint32_t>(
              _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(k[j], vhi)))));
        }
        vj = _mm256_add_epi32(vj, step8);
      }
    }
    vidx = _mm256_add_epi32(vidx, step32);
  }
  const auto c = static_cast<size_t>(oi - st.idx);
  st.idx = oi;
  st.val = ov;
  st.stored += c;
  st.count_hi += hi;
  if (i < end) RunScalar<kMode>(in, i, end, t_lo, t_hi, st);
}

template <PassMode kMode>
SOTTO_AVX2 void CountAvx2(const PassInput& in, size_t begin, size_t end, int32_t t_lo, int32_t t_hi,
                          size_t* count, size_t* count_hi) {
  const __m256i vlo = _mm256_set1_epi32(t_lo);
  const __m256i vhi = _mm256_set1_epi32(t_hi);
  size_t c = 0;
  size_t hi = 0;
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 v = Load8<kMode>(in, i);
    if constexpr (kMode != PassMode::kRead) _mm256_storeu_ps(in.e + i, v);
    const __m256i k = Keys8(v);
    c += std::popcount(
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(k, vlo)))));
    hi += std::popcount(
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(k, vhi)))));
  }
  *count += c;
  *count_hi += hi;
  if (i < end) CountScalar<kMode>(in, i, end, t_lo, t_hi, count, count_hi);
}

SOTTO_AVX2 void AddInPlaceAvx2(const float* u, float* e, size_t begin, size_t end) {
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    _mm256_storeu_ps(e + i, _mm256_add_ps(_mm256_loadu_ps(u + i), _mm256_loadu_ps(e + i)));
  }
  for (; i < end; ++i) e[i] = u[i] + e[i];
}

// Emits entries of one pool block whose composite is >= (kth_key, cut_index), i.e. key > K or
// key == K and index <= cut. Runs while 8 more outputs fit below `limit` (the stores write 8
// lanes); returns the number of entries consumed, the caller finishes with scalar code.
SOTTO_AVX2 size_t EmitBlockAvx2(const uint32_t* bi, const float* bv, size_t cnt, uint32_t kth_key,
                                uint32_t cut_index, uint32_t* out_idx, float* out_val, float* e,
                                int32_t zeroed_above, size_t* o, size_t limit) {
  const __m256i vk = _mm256_set1_epi32(static_cast<int>(kth_key));
  const __m256i vzeroed = _mm256_set1_epi32(zeroed_above);
  const __m256i vcut = _mm256_set1_epi32(static_cast<int>(cut_index));
  size_t j = 0;
  size_t pos = *o;
  for (; j + 8 <= cnt && pos + 8 <= limit; j += 8) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bi + j));
    const __m256 val = _mm256_loadu_ps(bv + j);
    const __m256i key = Keys8(val);
    const __m256i gt = _mm256_cmpgt_epi32(key, vk);
    const __m256i eq = _mm256_cmpeq_epi32(key, vk);
    const __m256i le = _mm256_cmpeq_epi32(_mm256_min_epu32(idx, vcut), idx);
    const __m256i sel = _mm256_or_si256(gt, _mm256_and_si256(eq, le));
    const auto mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(sel)));
    uint32_t* oi = out_idx + pos;
    float* ov = out_val != nullptr ? out_val + pos : nullptr;
    const __m256i perm = _mm256_load_si256(reinterpret_cast<const __m256i*>(&kPermTable[mask]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi), _mm256_permutevar8x32_epi32(idx, perm));
    if (ov != nullptr) _mm256_storeu_ps(ov, _mm256_permutevar8x32_ps(val, perm));
    const int c = std::popcount(mask);
    if (e != nullptr) {
      auto zm = static_cast<uint32_t>(_mm256_movemask_ps(
          _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_cmpgt_epi32(key, vzeroed), sel))));
      for (; zm != 0; zm &= zm - 1) e[bi[j + static_cast<size_t>(std::countr_zero(zm))]] = 0.0f;
    }
    pos += static_cast<size_t>(c);
  }
  *o = pos;
  return j;
}

// Appends the composites of the entries with (key > t_hi) != in_window, while 8 more fit.
SOTTO_AVX2 size_t GatherBlockAvx2(const uint32_t* bi, const float* bv, size_t cnt, int32_t t_hi,
                                  bool in_window, uint64_t** w, const uint64_t* w_end) {
  const __m256i vhi = _mm256_set1_epi32(t_hi);
  const __m256i flip = in_window ? _mm256_set1_epi32(-1) : _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi32(-1);
  uint64_t* out = *w;
  size_t j = 0;
  for (; j + 8 <= cnt && out + 8 <= w_end; j += 8) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bi + j));
    const __m256i key = Keys8(_mm256_loadu_ps(bv + j));
    const __m256i sel = _mm256_xor_si256(_mm256_cmpgt_epi32(key, vhi), flip);
    const auto mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(sel)));
    const __m256i perm = _mm256_load_si256(reinterpret_cast<const __m256i*>(&kPermTable[mask]));
    const __m256i k = _mm256_permutevar8x32_epi32(key, perm);
    const __m256i ni = _mm256_permutevar8x32_epi32(_mm256_xor_si256(idx, ones), perm);
    const __m256i lo = _mm256_unpacklo_epi32(ni, k);  // composites 0,1 | 4,5
    const __m256i hi = _mm256_unpackhi_epi32(ni, k);  // composites 2,3 | 6,7
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4),
                        _mm256_permute2x128_si256(lo, hi, 0x31));
    out += std::popcount(mask);
  }
  *w = out;
  return j;
}

#undef SOTTO_AVX2

// ---- Lane driver -----------------------------------------------------------------------------

template <PassMode kMode>
void CollectLane(const PassInput& in, size_t begin, size_t end, int32_t t_lo, int32_t t_hi,
                 bool avx2, bool dense, Pool* pool, LaneStream& ls) {
  ls = LaneStream{ls.block_ids, ls.block_counts};
  size_t i = begin;
  size_t room = 0;  // free entries in the current block
  RunState st{nullptr, nullptr};
  size_t block_start_stored = 0;
  auto close_block = [&] {
    if (ls.num_blocks > 0) {
      ls.block_counts[ls.num_blocks - 1] = static_cast<uint32_t>(st.stored - block_start_stored);
    }
  };
  while (i < end) {
    if (room < kGroup) {
      close_block();
      const size_t id = pool->next_block.fetch_add(1, std::memory_order_relaxed);
      if (id >= pool->num_blocks) {
        ls.overflow = true;
        break;
      }
      ls.block_ids[ls.num_blocks++] = static_cast<uint32_t>(id);
      st.idx = pool->idx + id * kBlockEntries;
      st.val = pool->val + id * kBlockEntries;
      block_start_stored = st.stored;
      room = kBlockEntries;
    }
    const size_t len = std::min(end - i, room / kGroup * kGroup);
    const size_t before = st.stored;
    if (avx2 && dense) {
      RunAvx2<kMode, true>(in, i, i + len, t_lo, t_hi, st);
    } else if (avx2) {
      RunAvx2<kMode, false>(in, i, i + len, t_lo, t_hi, st);
    } else {
      RunScalar<kMode>(in, i, i + len, t_lo, t_hi, st);
    }
    room -= st.stored - before;
    i += len;
  }
  close_block();
  ls.stored = st.stored;
  ls.count = st.stored;
  ls.count_hi = st.count_hi;
  if (i < end) {
    // Out of blocks: count the rest (and keep e = u + e without zeroing).
    constexpr PassMode kCountMode =
        kMode == PassMode::kRead ? PassMode::kRead : PassMode::kAddStore;
    if (avx2) {
      CountAvx2<kCountMode>(in, i, end, t_lo, t_hi, &ls.count, &ls.count_hi);
    } else {
      CountScalar<kCountMode>(in, i, end, t_lo, t_hi, &ls.count, &ls.count_hi);
    }
  }
}

}  // namespace

int MaxLanes(const ExecOptions& options) { return std::clamp(NumThreads(options), 1, kMaxLanes); }

int LanesFor(size_t n, const ExecOptions& options) {
  const size_t by_size = std::max<size_t>(1, n / kMinElementsPerLane);
  return static_cast<int>(std::min<size_t>(by_size, static_cast<size_t>(MaxLanes(options))));
}

size_t ChunkBegin(size_t n, int lanes, int lane) {
  if (lane <= 0) return 0;
  if (lane >= lanes) return n;
  // n < 2^32 and lane <= 64, so the product fits in 64 bits.
  const size_t raw = static_cast<size_t>(static_cast<uint64_t>(n) * static_cast<uint64_t>(lane) /
                                         static_cast<uint64_t>(lanes));
  return std::min(n, raw / kChunkAlign * kChunkAlign);
}

bool UseAvx2(const ExecOptions& options) { return options.use_simd && CpuHasAvx2(); }

size_t Pool::TotalCount() const {
  size_t total = 0;
  for (int l = 0; l < lanes; ++l) total += lane[l].count;
  return total;
}
size_t Pool::TotalStored() const {
  size_t total = 0;
  for (int l = 0; l < lanes; ++l) total += lane[l].stored;
  return total;
}
size_t Pool::TotalCountHi() const {
  size_t total = 0;
  for (int l = 0; l < lanes; ++l) total += lane[l].count_hi;
  return total;
}
bool Pool::AnyOverflow() const {
  for (int l = 0; l < lanes; ++l) {
    if (lane[l].overflow) return true;
  }
  return false;
}

size_t PoolBlocks(size_t capacity, int lanes) {
  return (capacity + (kBlockEntries - kGroup) - 1) / (kBlockEntries - kGroup) +
         static_cast<size_t>(lanes);
}

void CarvePool(Arena& arena, size_t capacity, int lanes, Pool* pool) {
  const size_t blocks = PoolBlocks(capacity, lanes);
  pool->num_blocks = blocks;
  pool->lanes = lanes;
  pool->next_block.store(0, std::memory_order_relaxed);
  pool->idx = arena.Take<uint32_t>(blocks * kBlockEntries);
  pool->val = arena.Take<float>(blocks * kBlockEntries);
  for (int l = 0; l < lanes; ++l) {
    pool->lane[l] = LaneStream{};
    pool->lane[l].block_ids = arena.Take<uint32_t>(blocks);
    pool->lane[l].block_counts = arena.Take<uint32_t>(blocks);
  }
}

void CollectPass(PassMode mode, const PassInput& input, size_t n, int32_t t_lo, int32_t t_hi,
                 size_t expected, Pool* pool, const ExecOptions& options) {
  const int lanes = pool->lanes;
  const bool avx2 = UseAvx2(options);
  const bool dense = expected * 64 > n;  // more than ~1.5% survive
  pool->hi_counted = !(avx2 && dense);
  pool->next_block.store(0, std::memory_order_relaxed);
  RunLanes(options, lanes, [&](int lane) {
    const size_t begin = ChunkBegin(n, lanes, lane);
    const size_t end = ChunkBegin(n, lanes, lane + 1);
    LaneStream& ls = pool->lane[lane];
    switch (mode) {
      case PassMode::kRead:
        CollectLane<PassMode::kRead>(input, begin, end, t_lo, t_hi, avx2, dense, pool, ls);
        break;
      case PassMode::kAddStore:
        CollectLane<PassMode::kAddStore>(input, begin, end, t_lo, t_hi, avx2, dense, pool, ls);
        break;
      case PassMode::kAddZero:
        CollectLane<PassMode::kAddZero>(input, begin, end, t_lo, t_hi, avx2, dense, pool, ls);
        break;
    }
  });
}

void EmitFromPool(const Pool& pool, uint64_t c_star, const size_t* lane_offset, uint32_t* out_idx,
                  float* out_val, float* e, int32_t zeroed_above, const ExecOptions& options) {
  const bool avx2 = UseAvx2(options);
  RunLanes(options, pool.lanes, [&](int lane) {
    const LaneStream& ls = pool.lane[lane];
    size_t o = lane_offset[lane];
    const size_t limit = lane_offset[lane + 1];
    for (size_t b = 0; b < ls.num_blocks && o < limit; ++b) {
      const uint32_t* bi = pool.idx + size_t{ls.block_ids[b]} * kBlockEntries;
      const float* bv = pool.val + size_t{ls.block_ids[b]} * kBlockEntries;
      const size_t cnt = ls.block_counts[b];
      if (c_star == 0) {
        const size_t take = std::min(cnt, limit - o);
        std::memcpy(out_idx + o, bi, take * sizeof(uint32_t));
        if (out_val != nullptr) std::memcpy(out_val + o, bv, take * sizeof(float));
        if (e != nullptr) {
          for (size_t j = 0; j < take; ++j) {
            if (static_cast<int32_t>(MagnitudeKey(bv[j])) <= zeroed_above) e[bi[j]] = 0.0f;
          }
        }
        o += take;
        continue;
      }
      size_t j = 0;
      if (avx2) {
        j = EmitBlockAvx2(bi, bv, cnt, static_cast<uint32_t>(c_star >> 32),
                          ~static_cast<uint32_t>(c_star), out_idx, out_val, e, zeroed_above, &o,
                          limit);
      }
      for (; j < cnt && o < limit; ++j) {
        if (CompositeOf(bv[j], bi[j]) >= c_star) {
          out_idx[o] = bi[j];
          if (out_val != nullptr) out_val[o] = bv[j];
          if (e != nullptr && static_cast<int32_t>(MagnitudeKey(bv[j])) <= zeroed_above) {
            e[bi[j]] = 0.0f;
          }
          ++o;
        }
      }
    }
  });
}

void AddInPlace(const float* u, float* e, size_t n, const ExecOptions& options) {
  const int lanes = LanesFor(n, options);
  const bool avx2 = UseAvx2(options);
  RunLanes(options, lanes, [&](int lane) {
    const size_t begin = ChunkBegin(n, lanes, lane);
    const size_t end = ChunkBegin(n, lanes, lane + 1);
    if (avx2) {
      AddInPlaceAvx2(u, e, begin, end);
    } else {
      for (size_t i = begin; i < end; ++i) e[i] = u[i] + e[i];
    }
  });
}

void RestoreFromPool(const Pool& pool, float* e) {
  for (int l = 0; l < pool.lanes; ++l) {
    const LaneStream& ls = pool.lane[l];
    for (size_t b = 0; b < ls.num_blocks; ++b) {
      const uint32_t* bi = pool.idx + size_t{ls.block_ids[b]} * kBlockEntries;
      const float* bv = pool.val + size_t{ls.block_ids[b]} * kBlockEntries;
      for (size_t j = 0; j < ls.block_counts[b]; ++j) e[bi[j]] = bv[j];
    }
  }
}

}  // namespace sotto::kernels::internal

namespace sotto::kernels::internal {

void GatherComposites(const Pool& pool, int lane, int32_t t_hi, bool in_window, uint64_t* w,
                      uint64_t* w_end, const ExecOptions& options) {
  const bool avx2 = UseAvx2(options);
  const LaneStream& ls = pool.lane[lane];
  uint64_t sink;  // takes the branch-free store once the lane's slots are full
  for (size_t b = 0; b < ls.num_blocks; ++b) {
    const uint32_t* bi = pool.idx + size_t{ls.block_ids[b]} * kBlockEntries;
    const float* bv = pool.val + size_t{ls.block_ids[b]} * kBlockEntries;
    const size_t cnt = ls.block_counts[b];
    size_t j = avx2 ? GatherBlockAvx2(bi, bv, cnt, t_hi, in_window, &w, w_end) : 0;
    for (; j < cnt; ++j) {
      const uint32_t key = MagnitudeKey(bv[j]);
      *(w < w_end ? w : &sink) = Composite(key, bi[j]);
      w += (static_cast<int32_t>(key) > t_hi) != in_window ? 1 : 0;
    }
  }
}

}  // namespace sotto::kernels::internal

namespace sotto::kernels::internal {
namespace {

__attribute__((target("avx2,popcnt"))) size_t CountHiAvx2(const float* v, size_t cnt, int32_t t_hi,
                                                          size_t* j_out) {
  const __m256i vhi = _mm256_set1_epi32(t_hi);
  size_t c = 0;
  size_t j = 0;
  for (; j + 8 <= cnt; j += 8) {
    const __m256i key = Keys8(_mm256_loadu_ps(v + j));
    c += std::popcount(static_cast<uint32_t>(
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(key, vhi)))));
  }
  *j_out = j;
  return c;
}

}  // namespace

void CountHiInPool(Pool* pool, int32_t t_hi, const ExecOptions& options) {
  const bool avx2 = UseAvx2(options);
  RunLanes(options, pool->lanes, [&](int lane) {
    LaneStream& ls = pool->lane[lane];
    size_t hi = 0;
    for (size_t b = 0; b < ls.num_blocks; ++b) {
      const float* bv = pool->val + size_t{ls.block_ids[b]} * kBlockEntries;
      const size_t cnt = ls.block_counts[b];
      size_t j = 0;
      if (avx2) hi += CountHiAvx2(bv, cnt, t_hi, &j);
      for (; j < cnt; ++j) hi += static_cast<int32_t>(MagnitudeKey(bv[j])) > t_hi ? 1 : 0;
    }
    ls.count_hi = hi;
  });
  pool->hi_counted = true;
}

}  // namespace sotto::kernels::internal
