// The one-pass collect driver, the pool plumbing around it, and the selection of one key among
// candidates; the scalar kernels live here, the SIMD ones in collect_avx2.cc and
// collect_avx512.cc (cpu/simd.h).
//
// Why this shape: on a 2-core VM a scalar histogram costs about 1 ns per element, several times
// the cost of reading it, so the pass that touches every element does only a compare against a
// predicted threshold and a compaction of the few survivors (reference/topk.md, section 3).
// Histograms run only over candidates (SelectKthKey).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>

#include "cpu/engine.h"
#include "cpu/simd.h"

namespace sotto::kernels::internal {
namespace {

// Inputs up to this many bytes are treated as cache-resident when picking a collect kernel
// (this VM's L3 is 32 MiB; a DRAM-resident input wants the blocked kernel).
constexpr size_t kCacheResidentBytes = size_t{16} << 20;

// ---- Scalar kernels ----------------------------------------------------------------------------

// Processes [i, i + min(end - i, room)) appending survivors (it writes one entry per element
// at most, so it stays within the room).
template <PassMode kMode>
size_t CollectScalarT(const PassInput& in, size_t i, size_t end, int32_t t_lo, int32_t t_zero,
                      CollectCursor* cur) {
  const size_t stop = i + std::min(end - i, cur->room);
  uint32_t* oi = cur->idx;
  float* ov = cur->val;
  size_t c = 0;
  for (; i < stop; ++i) {
    float v;
    if constexpr (kMode == PassMode::kRead) {
      v = in.in[i];
    } else {
      v = in.in[i] + in.e[i];
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    if constexpr (kMode == PassMode::kAddStore) {
      in.e[i] = v;
    } else if constexpr (kMode == PassMode::kAddZero) {
      in.e[i] = key > t_zero ? 0.0f : v;
    }
    oi[c] = static_cast<uint32_t>(i);
    ov[c] = v;
    c += key > t_lo ? 1 : 0;
  }
  cur->idx += c;
  cur->val += c;
  cur->room -= c;
  cur->stored += c;
  return stop;
}

size_t CollectScalar(PassMode mode, const PassInput& in, size_t i, size_t end, int32_t t_lo,
                     int32_t t_zero, CollectCursor* cur) {
  switch (mode) {
    case PassMode::kRead:
      return CollectScalarT<PassMode::kRead>(in, i, end, t_lo, t_zero, cur);
    case PassMode::kAddStore:
      return CollectScalarT<PassMode::kAddStore>(in, i, end, t_lo, t_zero, cur);
    case PassMode::kAddZero:
      return CollectScalarT<PassMode::kAddZero>(in, i, end, t_lo, t_zero, cur);
  }
  return end;
}

// Counts only (the pool is full); kAddStore stores e = u + e, never zeroing.
void CountScalar(PassMode mode, const PassInput& in, size_t begin, size_t end, int32_t t_lo,
                 size_t* count) {
  size_t c = 0;
  for (size_t i = begin; i < end; ++i) {
    float v;
    if (mode == PassMode::kRead) {
      v = in.in[i];
    } else {
      v = in.in[i] + in.e[i];
      in.e[i] = v;
    }
    const auto key = static_cast<int32_t>(MagnitudeKey(v));
    c += key > t_lo ? 1 : 0;
  }
  *count += c;
}

// ---- Lane driver -------------------------------------------------------------------------------

void CollectLane(PassMode mode, CollectStyle style, SimdLevel simd, const PassInput& in,
                 size_t begin, size_t end, int32_t t_lo, int32_t t_zero, Pool* pool,
                 LaneStream& ls) {
  ls = LaneStream{ls.block_ids, ls.block_counts};
  CollectCursor cur;
  size_t block_start = 0;  // cur.stored when the current block was claimed
  auto close_block = [&] {
    if (ls.num_blocks > 0) {
      ls.block_counts[ls.num_blocks - 1] = static_cast<uint32_t>(cur.stored - block_start);
    }
  };
  size_t i = begin;
  while (i < end) {
    if (cur.room < kGroup) {
      close_block();
      const size_t id = pool->next_block.fetch_add(1, std::memory_order_relaxed);
      if (id >= pool->num_blocks) {
        ls.overflow = true;
        break;
      }
      ls.block_ids[ls.num_blocks++] = static_cast<uint32_t>(id);
      cur.idx = pool->idx + id * kBlockEntries;
      cur.val = pool->val + id * kBlockEntries;
      cur.room = kBlockEntries;
      block_start = cur.stored;
    }
    switch (simd) {
      case SimdLevel::kAvx512:
        i = CollectAvx512(mode, style, in, i, end, t_lo, t_zero, &cur);
        break;
      case SimdLevel::kAvx2:
        i = CollectAvx2(mode, style, in, i, end, t_lo, t_zero, &cur);
        break;
      case SimdLevel::kScalar:
        i = CollectScalar(mode, in, i, end, t_lo, t_zero, &cur);
        break;
    }
  }
  close_block();
  ls.stored = cur.stored;
  ls.count = cur.stored;
  if (i < end) {
    // Out of blocks: count the rest (and keep e = u + e without zeroing).
    const PassMode count_mode = mode == PassMode::kRead ? PassMode::kRead : PassMode::kAddStore;
    switch (simd) {
      case SimdLevel::kAvx512:
        CountAvx512(count_mode, in, i, end, t_lo, &ls.count);
        break;
      case SimdLevel::kAvx2:
        CountAvx2(count_mode, in, i, end, t_lo, &ls.count);
        break;
      case SimdLevel::kScalar:
        CountScalar(count_mode, in, i, end, t_lo, &ls.count);
        break;
    }
  }
}

// Measured on Zen 4 with a new arrangement of the data for every call (docs/BENCHMARKS.md): a
// branch per group on whether it holds a survivor mispredicts at every density between about
// 0.5% and 50%, so the kernels chosen here have no such branch. AVX-512 with VBMI2: the offsets
// kernel while survivors are rare (below about 1.5%, with or without error feedback; above,
// reading the values back costs more: the EF step at 1% measured 1-4% faster with the permute
// kernel in interleaved A/B runs, at 0.7% 1-2% slower), the permute kernel above, up to 20%, and
// the dense one beyond (the permute kernel's branch on more than 16 survivors per 64 then
// mispredicts).
// Without VBMI2 the blocked kernel (its branches are on 32-group masks held in L1) below 2%,
// dense above. AVX2: the blocked kernel when only reading x, the dense one when it also stores e,
// except for rare survivors from DRAM.
CollectStyle ChooseStyle(SimdLevel simd, PassMode mode, size_t n, size_t expected) {
  const size_t bytes = n * (mode == PassMode::kRead ? sizeof(float) : 2 * sizeof(float));
  const bool in_cache = bytes <= kCacheResidentBytes;
  // Survivors per 1000 elements.
  const size_t per_mille = n == 0 ? 0 : static_cast<size_t>(uint64_t{expected} * 1000 / n);
  if (simd == SimdLevel::kAvx512) {
    if (CpuHasAvx512Vbmi2()) {
      if (per_mille < 15) return CollectStyle::kOffsets;
      return per_mille < 200 ? CollectStyle::kPermute : CollectStyle::kDense;
    }
    return per_mille < 20 ? CollectStyle::kBlocked : CollectStyle::kDense;
  }
  if (mode == PassMode::kRead && per_mille < 60) return CollectStyle::kBlocked;
  if (!in_cache && per_mille < 20) return CollectStyle::kBlocked;
  return CollectStyle::kDense;
}

}  // namespace

bool CpuHasAvx512Vbmi2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi2") != 0;
  }();
  return has;
}

int MaxLanes(const ExecOptions& options) {
  const int threads = NumThreads(options);
  if (threads <= 1) return 1;
  // Several lanes per thread: the pool hands lanes out dynamically, so when a worker is slow
  // to get a CPU (a busy shared machine) the calling thread takes the lanes it has not started
  // instead of waiting for one large lane.
  return std::clamp(threads * kLanesPerThread, 1, kMaxLanes);
}

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

void CollectPass(PassMode mode, const PassInput& input, size_t n, int32_t t_lo, int32_t t_zero,
                 size_t expected, Pool* pool, const ExecOptions& options) {
  CollectPassWithStyleForTesting(ChooseStyle(SimdFor(options), mode, n, expected), mode, input, n,
                                 t_lo, t_zero, pool, options);
}

void CollectPassWithStyleForTesting(CollectStyle style, PassMode mode, const PassInput& input,
                                    size_t n, int32_t t_lo, int32_t t_zero, Pool* pool,
                                    const ExecOptions& options) {
  t_zero = std::max(t_zero, t_lo);
  const int lanes = pool->lanes;
  const SimdLevel simd = SimdFor(options);
  pool->next_block.store(0, std::memory_order_relaxed);
  RunLanes(options, lanes, [&](int lane) {
    CollectLane(mode, style, simd, input, ChunkBegin(n, lanes, lane),
                ChunkBegin(n, lanes, lane + 1), t_lo, t_zero, pool, pool->lane[lane]);
  });
}

void EmitFromPool(const Pool& pool, const Cut& cut, const size_t* lane_offset, uint32_t* out_idx,
                  float* out_val, float* e, int32_t zeroed_above, const ExecOptions& options,
                  uint32_t* fix_idx, uint32_t* fix_bits) {
  const SimdLevel simd = SimdFor(options);
  // Unselected entries lie at or below cut.key (cut.key >= 0), so only a zero line below it
  // leaves some of them zeroed; then every selected entry lies above the line (already zero).
  // With cut.key < 0 the entries past a lane's quota are unselected whatever their key.
  const bool restore =
      e != nullptr && zeroed_above < INT32_MAX && (cut.key < 0 || zeroed_above < cut.key);
  // Lane l's fix list starts after the entries (and slack) of the lanes before it.
  size_t fix_begin[kMaxLanes];
  size_t at = 0;
  for (int l = 0; l < pool.lanes; ++l) {
    fix_begin[l] = at;
    at += pool.lane[l].stored + 16;
  }
  const bool deferred = e != nullptr && fix_idx != nullptr && fix_bits != nullptr;
  RunLanes(options, pool.lanes, [&](int lane) {
    const LaneStream& ls = pool.lane[lane];
    size_t o = lane_offset[lane];
    const size_t limit = lane_offset[lane + 1];
    size_t ties = cut.ties[lane];
    uint32_t* fi = deferred ? fix_idx + fix_begin[lane] : nullptr;
    uint32_t* fb = deferred ? fix_bits + fix_begin[lane] : nullptr;
    size_t nfix = 0;
    // Entry (i, v) with key `key`, selected or not, leaves e exact (fix_bits is read only when
    // restoring; the zero list's values are all zero).
    auto fix = [&](uint32_t i, float v, int32_t key, bool sel) {
      if (e == nullptr || sel == (key > zeroed_above)) return;
      if (fi != nullptr) {
        fi[nfix] = i;
        fb[nfix] = sel ? 0u : std::bit_cast<uint32_t>(v);
        ++nfix;
      } else {
        e[i] = sel ? 0.0f : v;
      }
    };
    for (size_t b = 0; b < ls.num_blocks && (o < limit || restore); ++b) {
      const uint32_t* bi = pool.idx + size_t{ls.block_ids[b]} * kBlockEntries;
      const float* bv = pool.val + size_t{ls.block_ids[b]} * kBlockEntries;
      const size_t cnt = ls.block_counts[b];
      if (cut.key < 0) {
        const size_t take = std::min(cnt, limit - o);
        std::memcpy(out_idx + o, bi, take * sizeof(uint32_t));
        if (out_val != nullptr) std::memcpy(out_val + o, bv, take * sizeof(float));
        if (e != nullptr) {
          for (size_t j = 0; j < cnt; ++j) {
            fix(bi[j], bv[j], static_cast<int32_t>(MagnitudeKey(bv[j])), j < take);
          }
        }
        o += take;
        continue;
      }
      const EmitArgs args{cut.key, &ties,        out_idx, out_val, fi,   fb,
                          &nfix,   zeroed_above, restore, &o,      limit};
      size_t j = 0;
      if (o < limit) {
        if (simd == SimdLevel::kAvx512) {
          j = EmitBlockAvx512(bi, bv, cnt, args);
        } else if (simd == SimdLevel::kAvx2) {
          j = EmitBlockAvx2(bi, bv, cnt, args);
        }
      }
      for (; j < cnt && (o < limit || restore); ++j) {
        const auto key = static_cast<int32_t>(MagnitudeKey(bv[j]));
        bool sel = o < limit && key > cut.key;
        if (o < limit && key == cut.key && ties > 0) {
          sel = true;
          --ties;
        }
        if (sel) {
          out_idx[o] = bi[j];
          if (out_val != nullptr) out_val[o] = bv[j];
          ++o;
        }
        fix(bi[j], bv[j], key, sel);
      }
    }
    // The indices ascend but are far apart (one cache line each): prefetch ahead so the
    // stores do not wait for their lines one at a time.
    constexpr size_t kAhead = 16;
    for (size_t t = 0; t < nfix; ++t) {
      if (t + kAhead < nfix) __builtin_prefetch(e + fi[t + kAhead], 1);
      e[fi[t]] = restore ? std::bit_cast<float>(fb[t]) : 0.0f;
    }
  });
}

size_t GatherKeys(const Pool& pool, int lane, int32_t t_hi, bool in_window, uint32_t* w,
                  uint32_t* w_end, SimdLevel simd) {
  const LaneStream& ls = pool.lane[lane];
  uint32_t* const first = w;
  uint32_t sink;  // takes the branch-free store once the lane's slots are full
  for (size_t b = 0; b < ls.num_blocks; ++b) {
    const float* bv = pool.val + size_t{ls.block_ids[b]} * kBlockEntries;
    const size_t cnt = ls.block_counts[b];
    size_t j = 0;
    if (simd == SimdLevel::kAvx512) {
      j = GatherKeysAvx512(bv, cnt, t_hi, in_window, &w, w_end);
    } else if (simd == SimdLevel::kAvx2) {
      j = GatherKeysAvx2(bv, cnt, t_hi, in_window, &w, w_end);
    }
    for (; j < cnt; ++j) {
      const uint32_t key = MagnitudeKey(bv[j]);
      *(w < w_end ? w : &sink) = key;
      w += (static_cast<int32_t>(key) > t_hi) != in_window ? 1 : 0;
    }
  }
  return static_cast<size_t>(std::min(w, w_end) - first);
}

void AddInPlace(const float* u, float* e, size_t n, const ExecOptions& options) {
  const int lanes = LanesFor(n, options);
  const SimdLevel simd = SimdFor(options);
  RunLanes(options, lanes, [&](int lane) {
    const size_t begin = ChunkBegin(n, lanes, lane);
    const size_t end = ChunkBegin(n, lanes, lane + 1);
    switch (simd) {
      case SimdLevel::kAvx512:
        AddAvx512(u, e, begin, end);
        break;
      case SimdLevel::kAvx2:
        AddAvx2(u, e, begin, end);
        break;
      case SimdLevel::kScalar:
        for (size_t i = begin; i < end; ++i) e[i] = u[i] + e[i];
        break;
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

// ---- Selecting one key among candidates ---------------------------------------------------------

namespace {

void MinMaxKeys(const uint32_t* k, size_t m, uint32_t* lo, uint32_t* hi, SimdLevel simd) {
  if (simd == SimdLevel::kAvx512) return MinMaxAvx512(k, m, lo, hi);
  if (simd == SimdLevel::kAvx2) return MinMaxAvx2(k, m, lo, hi);
  uint32_t mn = 0xffffffffu;
  uint32_t mx = 0;
  for (size_t j = 0; j < m; ++j) {
    mn = std::min(mn, k[j]);
    mx = std::max(mx, k[j]);
  }
  *lo = mn;
  *hi = mx;
}

}  // namespace

size_t FilterKeys(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi, uint32_t* out,
                  SimdLevel simd, size_t* above) {
  size_t unused;
  size_t* const a = above != nullptr ? above : &unused;
  if (simd == SimdLevel::kAvx512) return FilterAvx512(in, m, lo, hi, out, a);
  if (simd == SimdLevel::kAvx2) return FilterAvx2(in, m, lo, hi, out, a);
  size_t c = 0;
  *a = 0;
  for (size_t j = 0; j < m; ++j) {
    const uint32_t x = in[j];
    out[c] = x;
    c += x >= lo && x <= hi ? 1 : 0;
    *a += x > hi ? 1 : 0;
  }
  return c;
}

namespace {

// Radix levels below this many keys; above, one bracketing sweep first (SelectKthKey).
constexpr size_t kBracketMinKeys = 2048;

// Floyd-Rivest's narrowing step: a strided sample of about 5 sqrt(m) keys (256 to 1024) gives two
// pivots that hold the rank-th key between them unless the sample is off by more than 3.5
// standard deviations of its quantile; one sweep then counts the keys above the upper pivot and
// copies those between the pivots to out. Returns false (out clobbered) when the rank-th key is
// not among the copied ones: a miss, rare on any data but a sample's bad luck or ties.
bool BracketKeys(const uint32_t* keys, size_t m, size_t* rank, uint32_t* out, size_t* kept,
                 SimdLevel simd) {
  constexpr size_t kMaxSample = 1024;
  uint32_t sample[kMaxSample];
  uint32_t sample_tmp[kMaxSample];
  const auto want = static_cast<size_t>(5.0 * std::sqrt(static_cast<double>(m)));
  const size_t s = std::clamp<size_t>(std::bit_floor(want), 256, kMaxSample);
  const uint64_t step = (uint64_t{m} << 32) / s;  // m < 2^32
  for (size_t j = 0; j < s; ++j) sample[j] = keys[(j * step) >> 32];
  const double p = (static_cast<double>(*rank) - 0.5) / static_cast<double>(m);
  const double centre = p * static_cast<double>(s);
  const double margin = 3.5 * std::sqrt(static_cast<double>(s) * p * (1.0 - p)) + 3.0;
  const double rank_hi = std::floor(centre - margin);  // 1-based sample ranks, descending
  const double rank_lo = std::ceil(centre + margin);
  const uint32_t hi = rank_hi >= 1.0
                          ? SelectKthKey(sample, s, static_cast<size_t>(rank_hi), sample_tmp, simd)
                          : kNanKey;
  const uint32_t lo = rank_lo <= static_cast<double>(s)
                          ? SelectKthKey(sample, s, static_cast<size_t>(rank_lo), sample_tmp, simd)
                          : 0;
  size_t above = 0;
  *kept = FilterKeys(keys, m, lo, hi, out, simd, &above);
  if (above >= *rank || *rank > above + *kept) return false;
  *rank -= above;
  return true;
}

}  // namespace

uint32_t SelectKthKey(const uint32_t* keys, size_t m, size_t rank, uint32_t* tmp, SimdLevel simd) {
  // Radix select over the range actually present, with about m/8 bins (at most 1024) so that
  // smooth data shrinks about 8- to 1000-fold per level while the per-level work (clearing and
  // scanning the bins) stays small next to the keys; two interleaved sub-histograms keep runs
  // of equal keys from serialising on one counter. The first level reads `keys`, later ones
  // filter tmp in place. Many keys are first narrowed by BracketKeys: its sweep of compares and
  // compress-stores costs a fraction of a histogram level per key and leaves about a tenth of
  // the keys (25 000 keys: the whole select about twice as fast).
  constexpr int kMaxBits = 10;
  constexpr size_t kDirect = 64;
  const uint32_t* src = keys;
  if (m >= kBracketMinKeys) {
    size_t kept = 0;
    if (BracketKeys(keys, m, &rank, tmp, &kept, simd)) {
      src = tmp;
      m = kept;
    }
  }
  uint32_t h0[size_t{1} << kMaxBits];
  uint32_t h1[size_t{1} << kMaxBits];
  for (;;) {
    if (m <= kDirect) {
      if (src != tmp) std::memcpy(tmp, src, m * sizeof(uint32_t));
      std::nth_element(tmp, tmp + (rank - 1), tmp + m, std::greater<uint32_t>());
      return tmp[rank - 1];
    }
    uint32_t lo;
    uint32_t hi;
    MinMaxKeys(src, m, &lo, &hi, simd);
    if (lo == hi) return lo;
    const int bits = std::clamp(static_cast<int>(std::bit_width(m)) - 3, 4, kMaxBits);
    const size_t bins = size_t{1} << bits;
    const int width = std::bit_width(hi - lo);
    const int shift = width > bits ? width - bits : 0;
    std::memset(h0, 0, bins * sizeof(uint32_t));
    std::memset(h1, 0, bins * sizeof(uint32_t));
    size_t j = 0;
    for (; j + 2 <= m; j += 2) {
      ++h0[(src[j] - lo) >> shift];
      ++h1[(src[j + 1] - lo) >> shift];
    }
    if (j < m) ++h0[(src[j] - lo) >> shift];
    size_t above = 0;
    uint32_t bucket = (hi - lo) >> shift;
    for (;; --bucket) {
      const size_t c = size_t{h0[bucket]} + h1[bucket];
      if (above + c >= rank) break;
      above += c;
    }
    rank -= above;
    const uint32_t blo = lo + (bucket << shift);
    if (shift == 0) return blo;
    const uint32_t bhi = std::min(hi, blo + ((uint32_t{1} << shift) - 1));
    m = FilterKeys(src, m, blo, bhi, tmp, simd);
    src = tmp;
  }
}

void CountGreaterEqual(const uint32_t* keys, size_t m, uint32_t key, size_t* greater, size_t* equal,
                       SimdLevel simd) {
  if (simd == SimdLevel::kAvx512) return CountGeAvx512(keys, m, key, greater, equal);
  if (simd == SimdLevel::kAvx2) return CountGeAvx2(keys, m, key, greater, equal);
  size_t gt = 0;
  size_t eq = 0;
  for (size_t j = 0; j < m; ++j) {
    gt += keys[j] > key ? 1 : 0;
    eq += keys[j] == key ? 1 : 0;
  }
  *greater = gt;
  *equal = eq;
}

}  // namespace sotto::kernels::internal
