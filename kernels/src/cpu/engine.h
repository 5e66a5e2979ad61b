#pragma once

// Internal building blocks of the CPU path: scratch carving, work splitting, the candidate
// pool with its one-pass "collect" kernels (scalar, AVX2 and AVX-512, chosen at run time), the
// selection of one key among candidates, and the selection engines that TopK, the threshold
// rules and the error-feedback step share.
//
// Keys: MagnitudeKey (selection.h) is < 2^31, so keys compare correctly as signed int32, which
// the SIMD code relies on. A rule "key > t" uses t in [-1, kNanKey]; t = -1 passes everything.
// Composite: (key << 32) | ~index orders by the magnitude order (larger first) as an unsigned
// 64-bit integer, so "the k-th largest composite" is the exact top-k boundary. The sampled
// path never forms composites: it finds the k-th largest key K and then takes, in index order,
// every entry above K and the first entries equal to K (a Cut).

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/status.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/selection.h"
#include "sotto/kernels/thread_pool.h"

namespace sotto::kernels::internal {

inline uint64_t Composite(uint32_t key, uint32_t index) {
  return (uint64_t{key} << 32) | uint64_t{~index};
}
inline uint64_t CompositeOf(float value, uint32_t index) {
  return Composite(MagnitudeKey(value), index);
}
inline float KeyToMagnitude(uint32_t key) { return std::bit_cast<float>(key); }

// ---- Scratch carving ------------------------------------------------------------------------
// Carves 64-byte aligned arrays out of a byte span. With no span it only measures, so the
// *ScratchBytes functions and the kernels share one carving sequence.
class Arena {
 public:
  Arena() = default;  // measuring only
  explicit Arena(std::span<std::byte> bytes) : base_(bytes.data()), size_(bytes.size()) {
    if (base_ != nullptr) {
      const auto addr = reinterpret_cast<uintptr_t>(base_);
      offset_ = (64 - (addr & 63)) & 63;
    }
  }

  // Returns nullptr when measuring or when the span is too small (see fits()).
  template <typename T>
  T* Take(size_t count) {
    used_ = (used_ + 63) & ~size_t{63};
    const size_t start = used_;
    used_ += count * sizeof(T);
    if (base_ == nullptr || offset_ + used_ > size_) return nullptr;
    return reinterpret_cast<T*>(base_ + offset_ + start);
  }
  // Bytes a caller must provide for everything taken so far (64 bytes of alignment slack).
  size_t required() const { return used_ + 64; }
  bool fits() const { return base_ != nullptr && offset_ + used_ <= size_; }
  // Lets a phase reuse memory that an earlier phase no longer needs.
  size_t mark() const { return used_; }
  void reset(size_t mark) { used_ = mark; }

 private:
  std::byte* base_ = nullptr;
  size_t size_ = 0;
  size_t offset_ = 0;
  size_t used_ = 0;
};

// ---- Work splitting ---------------------------------------------------------------------------
// Lanes get contiguous chunks whose borders are multiples of kChunkAlign, so per-block sums
// (Gaussian-k statistics) and every output are the same for every thread count.
inline constexpr size_t kChunkAlign = 16384;
inline constexpr size_t kMinElementsPerLane = 65536;
inline constexpr int kMaxLanes = 64;
inline constexpr int kLanesPerThread = 4;

int MaxLanes(const ExecOptions& options);
int LanesFor(size_t n, const ExecOptions& options);
size_t ChunkBegin(size_t n, int lanes, int lane);

// Wakes the pool's workers at the start of a call over n elements that will run lanes on
// them, so that their wake-up overlaps the call's serial start (sampling, planning).
inline void WakeLanes(size_t n, const ExecOptions& options) {
  if (options.pool != nullptr && LanesFor(n, options) > 1) options.pool->Wake();
}

template <typename Fn>
void RunLanes(const ExecOptions& options, int lanes, Fn&& fn) {
  if (lanes <= 1 || options.pool == nullptr) {
    for (int lane = 0; lane < lanes; ++lane) fn(lane);
    return;
  }
  options.pool->Run(lanes, fn);
}

// The SIMD path a call takes (backend.h EffectiveSimdLevel).
inline SimdLevel SimdFor(const ExecOptions& options) { return EffectiveSimdLevel(options); }

// ---- Candidate pool ---------------------------------------------------------------------------
// Lanes append (index, value) entries to fixed-size blocks claimed from a shared pool with one
// atomic add per block; each lane records its blocks in order, so a lane's entries read back in
// ascending index order and the lanes concatenate in lane order.
inline constexpr size_t kBlockEntries = 8192;
// The collect kernels stop when fewer than this many entries of room are left in a block (each
// SIMD group may write a whole vector past the last entry it keeps, never past this margin).
inline constexpr size_t kGroup = 64;

struct LaneStream {
  uint32_t* block_ids = nullptr;  // capacity Pool::num_blocks
  uint32_t* block_counts = nullptr;
  size_t num_blocks = 0;
  size_t stored = 0;  // entries stored
  size_t count = 0;   // elements that passed key > t_lo (stored or not)
  bool overflow = false;
};

struct Pool {
  uint32_t* idx = nullptr;
  float* val = nullptr;
  size_t num_blocks = 0;
  std::atomic<size_t> next_block{0};
  int lanes = 0;
  LaneStream lane[kMaxLanes];

  size_t TotalCount() const;
  size_t TotalStored() const;
  bool AnyOverflow() const;
};

// Blocks guaranteeing that `capacity` entries fit however they spread over `lanes`.
size_t PoolBlocks(size_t capacity, int lanes);
// Carves the pool's arrays (nullptr members when measuring).
void CarvePool(Arena& arena, size_t capacity, int lanes, Pool* pool);

// One pass over [0, n) on `lanes` lanes; appends every element with key > t_lo to the pool and
// counts them (past a full pool too). Modes:
//   kRead      x = in
//   kAddStore  x = u + e; e = x                      (error feedback, selection unknown yet)
//   kAddZero   x = u + e; e = key > t_zero ? 0 : x   (error feedback: the elements likely to
//                                                     be selected leave e at once; they are
//                                                     always stored, so EmitFromPool or
//                                                     RestoreFromPool can undo it)
enum class PassMode { kRead, kAddStore, kAddZero };
struct PassInput {
  const float* in = nullptr;  // kRead: x; otherwise u
  float* e = nullptr;         // kAdd*: error memory
};
// `expected` (an estimate of the survivors) only picks the faster kernel variant. t_zero
// matters to kAddZero only; it is raised to t_lo when below it (every zeroed element is also
// stored).
void CollectPass(PassMode mode, const PassInput& input, size_t n, int32_t t_lo, int32_t t_zero,
                 size_t expected, Pool* pool, const ExecOptions& options);

// How a collect kernel walks the data (CollectPass picks one from the SIMD level, the input's
// size and the expected density; all give the same pool).
enum class CollectStyle {
  kSparse,   // one sweep; only 16-element groups with a survivor are compacted
  kDense,    // one sweep; every group is compacted, with at most one branch per 32 elements
  kBlocked,  // per 512 elements: a sweep that only compares (and stores e), then a sweep over
             // the L1-resident block compacting the groups with a survivor. Keeps the loads
             // of a DRAM-resident input streaming: the stores of the compaction no longer wait
             // on them.
  kOffsets,  // one sweep with no branch on the data: per 64 elements one byte compress of the
             // survivors' offsets, widened to indices in registers; the values are read back
             // afterwards in one loop over the entries. AVX-512 with VBMI2 only (elsewhere the
             // kernels run kDense instead).
  kPermute,  // as kOffsets, but the values are picked from the loaded vectors in the sweep (two
             // vpermt2ps and a blend per 16 survivors), with no read-back. AVX-512 with VBMI2
             // only (elsewhere kDense).
};

// CollectPass with a given style (white-box tests reach every kernel with it).
void CollectPassWithStyleForTesting(CollectStyle style, PassMode mode, const PassInput& input,
                                    size_t n, int32_t t_lo, int32_t t_zero, Pool* pool,
                                    const ExecOptions& options);

// Which pool entries an emission writes: every entry with key > `key`, and in lane l the first
// ties[l] entries (in index order) with key == `key`. key < 0 writes every entry.
struct Cut {
  int32_t key = -1;
  size_t ties[kMaxLanes] = {};
};

// Writes each lane's entries selected by `cut` to the outputs, lane after lane, lane l starting
// at lane_offset[l] (lane_offset has pool.lanes + 1 entries, the last is the total). With e set,
// it leaves e exact for error feedback: zero at the selected entries, the pool's value (a = u + e)
// at the others. The pass has already zeroed e at the entries with key > zeroed_above (kAddZero;
// INT32_MAX: none), so the emission zeroes the selected entries at or below that line and restores
// the unselected ones above it (only when the line lies below cut.key). With fix_idx and fix_bits
// (EmitFixScratch(pool) entries each) those stores are deferred to one prefetched sweep per lane
// instead of scattered stores during the emission.
void EmitFromPool(const Pool& pool, const Cut& cut, const size_t* lane_offset, uint32_t* out_idx,
                  float* out_val, float* e, int32_t zeroed_above, const ExecOptions& options,
                  uint32_t* fix_idx = nullptr, uint32_t* fix_bits = nullptr);
// Entries of each of EmitFromPool's fix arrays: the pool's entries plus vector slack.
inline size_t EmitFixScratch(size_t pool_entries) { return pool_entries + 16 * kMaxLanes; }

// Writes the keys of lane `lane`'s entries with (key > t_hi) != in_window to [w, w_end), in pool
// order, and returns how many it wrote (those beyond w_end are dropped).
size_t GatherKeys(const Pool& pool, int lane, int32_t t_hi, bool in_window, uint32_t* w,
                  uint32_t* w_end, SimdLevel simd);

// The rank-th largest (1-based, 1 <= rank <= m) of keys[0, m) (keys <= kNanKey): from 2048 keys
// a Floyd-Rivest bracketing sweep first, then radix select with up to 10 bits per level over the
// range actually present, nth_element once few remain. Leaves keys intact and works in
// tmp[0, m).
uint32_t SelectKthKey(const uint32_t* keys, size_t m, size_t rank, uint32_t* tmp, SimdLevel simd);

// Copies the keys of in[0, m) that lie in [lo, hi] (hi <= kNanKey) to out, in order; returns
// how many, and counts the keys above hi into *above when set. out may equal in.
size_t FilterKeys(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi, uint32_t* out,
                  SimdLevel simd, size_t* above = nullptr);

// Counts keys[0, m) greater than and equal to `key`.
void CountGreaterEqual(const uint32_t* keys, size_t m, uint32_t key, size_t* greater, size_t* equal,
                       SimdLevel simd);

// e[i] = u[i] + e[i] over [0, n).
void AddInPlace(const float* u, float* e, size_t n, const ExecOptions& options);

// For e[idx[j]] = val[j], j < count: undoes kAddZero's zeroing.
void RestoreFromPool(const Pool& pool, float* e);

// ---- Exact top-k engine -----------------------------------------------------------------------
// Input of a selection: plain (x), error feedback before the add (u, e: a = u + e is computed,
// stored in e, and the selected coordinates of e are zeroed), or after the add (e only: x = e,
// selected coordinates zeroed).
struct SelectInput {
  const float* x = nullptr;
  const float* u = nullptr;
  float* e = nullptr;
};

size_t TopKCpuScratchBytes(size_t n, size_t k, const ExecOptions& options);
// Arguments already validated: 0 <= k <= n, outputs large enough (out_val may be null).
// `arena` must be sized by TopKCpuScratchBytes (it is carved from its current mark).
SelectResult TopKCpu(const SelectInput& input, size_t n, size_t k, uint32_t* out_idx,
                     float* out_val, Arena& arena, const ExecOptions& options);

// The kSampled path with a given window instead of the sampled one (1 <= k < n, n >= 256;
// scratch as for kSampled), falling back to kRadix like TopKCpu. White-box tests use it to
// force every outcome of the window: a hit, more than k above t_hi, fewer than k above t_lo,
// and a full pool; with error feedback, t_zero (clamped to the window) is the line above which
// the pass zeroes e, on either side of the k-th key.
SelectResult TopKCpuWithWindowForTesting(const SelectInput& input, size_t n, size_t k, int32_t t_lo,
                                         int32_t t_hi, int32_t t_zero, uint32_t* out_idx,
                                         float* out_val, Arena& arena, const ExecOptions& options);

// ---- Threshold rules ----------------------------------------------------------------------------
// The key rule for |x| > tau (tau not NaN): key > ThresholdRule(tau).
int32_t ThresholdRule(float tau);

// Selects {key > rule} capped at `capacity` (top-capacity when more pass), zeroing e as above.
size_t ThresholdCpuScratchBytes(size_t n, size_t capacity, const ExecOptions& options);
SelectResult ThresholdCpu(const SelectInput& input, size_t n, int32_t rule, size_t capacity,
                          uint32_t* out_idx, float* out_val, Arena& arena,
                          const ExecOptions& options);

// Gaussian-k (select.h) with the same input forms; capacity >= 1.
size_t GaussianKCpuScratchBytes(size_t n, size_t capacity, const ExecOptions& options);
SelectResult GaussianKCpu(const SelectInput& input, size_t n, size_t k, size_t capacity,
                          uint32_t* out_idx, float* out_val, Arena& arena,
                          const ExecOptions& options);

// Gaussian-k's threshold correction from the (tau, count) pairs seen so far (num >= 1).
double GaussianCorrectTau(const double* taus, const size_t* counts, int num, size_t k, size_t n);

// Standard normal quantile, |relative error| < 1e-12 on (0, 1).
double NormalQuantile(double p);

}  // namespace sotto::kernels::internal
