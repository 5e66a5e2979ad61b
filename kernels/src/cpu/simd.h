#pragma once

// The per-instruction-set kernels behind collect.cc and topk_cpu.cc. Each exists three times:
// scalar (collect.cc), AVX2 (collect_avx2.cc) and AVX-512 (collect_avx512.cc). The SIMD ones are
// compiled with __attribute__((target(...))) inside an otherwise portable translation unit, so
// nothing outside them uses the wider instructions, and they run only after SimdFor(options)
// has checked the CPU. All three produce bit-identical outputs: they compare integer keys and
// add floats exactly as the scalar code does (the library is built with -ffp-contract=off).

#include <cstddef>
#include <cstdint>

#include "cpu/engine.h"

namespace sotto::kernels::internal {

// A threshold t in [-1, kNanKey] for "MagnitudeKey(v) > t", turned into one that compares the
// raw |v| bits (which skips the clamp of NaN payloads): every NaN has |bits| >= kNanKey, and
// "key > kNanKey" is never true.
inline int32_t RawRule(int32_t t) { return t >= static_cast<int32_t>(kNanKey) ? INT32_MAX : t; }

// Output cursor of a collect kernel. The kernel appends entries at idx/val and never writes at
// or beyond idx + room (vector stores included); it returns early when room < kGroup.
struct CollectCursor {
  uint32_t* idx = nullptr;
  float* val = nullptr;
  size_t room = 0;
  size_t stored = 0;  // incremented by the entries appended
};

// Collects [begin, end) into cur (PassMode as in engine.h; t_lo <= t_zero, raw rules not yet
// applied). Returns where it stopped: end, or earlier when cur->room fell below kGroup.
size_t CollectAvx512(PassMode mode, CollectStyle style, const PassInput& in, size_t begin,
                     size_t end, int32_t t_lo, int32_t t_zero, CollectCursor* cur);
size_t CollectAvx2(PassMode mode, CollectStyle style, const PassInput& in, size_t begin, size_t end,
                   int32_t t_lo, int32_t t_zero, CollectCursor* cur);

// True where the CPU has AVX512_VBMI2 (the byte compress of CollectStyle::kOffsets) on top of
// what SimdLevel::kAvx512 needs.
bool CpuHasAvx512Vbmi2();

// Counts only (the pool is full). mode is kRead or kAddStore (e = u + e, never zeroed).
void CountAvx512(PassMode mode, const PassInput& in, size_t begin, size_t end, int32_t t_lo,
                 size_t* count);
void CountAvx2(PassMode mode, const PassInput& in, size_t begin, size_t end, int32_t t_lo,
               size_t* count);

// e[i] = u[i] + e[i] over [begin, end).
void AddAvx512(const float* u, float* e, size_t begin, size_t end);
void AddAvx2(const float* u, float* e, size_t begin, size_t end);

// Emission of one pool block under a Cut (engine.h): entries with key > cut_key, and entries
// with key == cut_key while *ties_left > 0 (decremented). Writes at out[*o] onward and runs
// while a vector of outputs fits below `limit`; returns the entries consumed (the caller finishes
// the block in scalar code). When fix_idx is set, appends at fix_idx[*nfix] (vector stores: 16
// entries of slack past the list) the entries whose e must change (EmitFromPool): with `restore`
// false the written entries with key <= zeroed_above (to be zeroed), with `restore` true the
// entries not written with key > zeroed_above, whose values go to fix_bits.
struct EmitArgs {
  int32_t cut_key;
  size_t* ties_left;
  uint32_t* out_idx;
  float* out_val;     // may be null
  uint32_t* fix_idx;  // may be null
  uint32_t* fix_bits;
  size_t* nfix;
  int32_t zeroed_above;
  bool restore;
  size_t* o;
  size_t limit;
};
size_t EmitBlockAvx512(const uint32_t* bi, const float* bv, size_t cnt, const EmitArgs& a);
size_t EmitBlockAvx2(const uint32_t* bi, const float* bv, size_t cnt, const EmitArgs& a);

// Appends the keys of entries with (key > t_hi) != in_window while a vector fits before w_end;
// returns the entries consumed.
size_t GatherKeysAvx512(const float* bv, size_t cnt, int32_t t_hi, bool in_window, uint32_t** w,
                        const uint32_t* w_end);
size_t GatherKeysAvx2(const float* bv, size_t cnt, int32_t t_hi, bool in_window, uint32_t** w,
                      const uint32_t* w_end);

// Key-array helpers of SelectKthKey / CountGreaterEqual (keys < 2^31).
void MinMaxAvx512(const uint32_t* k, size_t m, uint32_t* lo, uint32_t* hi);
void MinMaxAvx2(const uint32_t* k, size_t m, uint32_t* lo, uint32_t* hi);
// Copies the keys in [lo, hi] (hi <= kNanKey) to out in order and counts those above hi into
// *above; returns how many it copied. out may equal in.
size_t FilterAvx512(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi, uint32_t* out,
                    size_t* above);
size_t FilterAvx2(const uint32_t* in, size_t m, uint32_t lo, uint32_t hi, uint32_t* out,
                  size_t* above);
void CountGeAvx512(const uint32_t* k, size_t m, uint32_t key, size_t* greater, size_t* equal);
void CountGeAvx2(const uint32_t* k, size_t m, uint32_t key, size_t* greater, size_t* equal);

// The sample of the sampled top-k: `runs` runs of kSampleRun contiguous elements, run j at
// SampleStrata::Position(j), keys written to out[j * kSampleRun + t]. x is the input, or (u, e)
// for a = u + e (x null).
inline constexpr size_t kSampleRun = 16;
class SampleStrata {
 public:
  // n < 2^32, 1 <= runs <= n / 32.
  SampleStrata(size_t n, size_t runs, uint64_t seed)
      : step_((uint64_t{n} << 32) / runs), seed_(seed) {}
  // Stratum j is [j step, (j + 1) step) rounded down, step = n / runs in 32.32 fixed point (one
  // division per sample, not two per run); the run starts at a hashed offset in it, rounded down
  // to a multiple of 16 (one aligned vector when x is aligned).
  size_t Position(size_t j) const {
    const size_t begin = (j * step_) >> 32;
    const size_t end = ((j + 1) * step_) >> 32;
    uint64_t z = seed_ + 0x9e3779b97f4a7c15ULL * (j + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const uint64_t span = end - begin - kSampleRun + 1;
    const auto off = static_cast<size_t>(((z >> 32) * span) >> 32);  // span < 2^32
    return (begin + off) & ~size_t{15};
  }

 private:
  uint64_t step_;
  uint64_t seed_;
};
void SampleKeysAvx512(const float* x, const float* u, const float* e, size_t n, size_t runs,
                      uint64_t seed, uint32_t* out);
void SampleKeysAvx2(const float* x, const float* u, const float* e, size_t n, size_t runs,
                    uint64_t seed, uint32_t* out);

}  // namespace sotto::kernels::internal
