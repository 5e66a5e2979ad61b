#include "chacha20_dense.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "sotto/base/check.h"

#if defined(__x86_64__) || defined(__i386__)
#define SOTTO_DENSE_X86 1
#include <immintrin.h>
#else
#define SOTTO_DENSE_X86 0
#endif

namespace sotto::crypto::internal {

static_assert(std::endian::native == std::endian::little,
              "chacha20_dense.cc stores keystream words as they lie in registers");

namespace {

// Blocks per group: one 32-bit lane of a zmm register each.
constexpr size_t kGroupBlocks = 16;
constexpr size_t kBlockBytes = 64;
constexpr size_t kGroupBytes = kGroupBlocks * kBlockBytes;

}  // namespace

#if SOTTO_DENSE_X86

// GCC 12's avx512fintrin.h implements _mm512_undefined_epi32 (the pass-through operand of
// _mm512_shuffle_i32x4 and others) as a self-initialised variable, which -Wmaybe-uninitialized
// reports inside every caller. The operand is fully masked; the warning is a false positive.
#pragma GCC diagnostic push
#if defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#endif
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

// Every function that touches a zmm register carries the target attribute; the helpers are
// always inlined into the loop, which keeps the sixteen state rows in registers.
#define SOTTO_AVX512 __attribute__((target("avx512f")))
#define SOTTO_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline

#define SOTTO_DENSE_QR(a, b, c, d)       \
  do {                                   \
    x[a] = _mm512_add_epi32(x[a], x[b]); \
    x[d] = _mm512_xor_si512(x[d], x[a]); \
    x[d] = _mm512_rol_epi32(x[d], 16);   \
    x[c] = _mm512_add_epi32(x[c], x[d]); \
    x[b] = _mm512_xor_si512(x[b], x[c]); \
    x[b] = _mm512_rol_epi32(x[b], 12);   \
    x[a] = _mm512_add_epi32(x[a], x[b]); \
    x[d] = _mm512_xor_si512(x[d], x[a]); \
    x[d] = _mm512_rol_epi32(x[d], 8);    \
    x[c] = _mm512_add_epi32(x[c], x[d]); \
    x[b] = _mm512_xor_si512(x[b], x[c]); \
    x[b] = _mm512_rol_epi32(x[b], 7);    \
  } while (false)

// Keystream blocks first_block .. first_block + 15 into out[b] (block first_block + b, its 64
// bytes in keystream order).
SOTTO_AVX512_INLINE void Blocks16(const ChaChaKey& key, uint32_t first_block, __m512i out[16]) {
  static constexpr uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  const __m512i counters =
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first_block)),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __m512i x[16];
  for (size_t i = 0; i < 4; ++i) {
    x[i] = _mm512_set1_epi32(static_cast<int>(kSigma[i]));
  }
  for (size_t i = 0; i < 8; ++i) {
    x[4 + i] = _mm512_set1_epi32(static_cast<int>(key.key[i]));
  }
  x[12] = counters;
  for (size_t i = 0; i < 3; ++i) {
    x[13 + i] = _mm512_set1_epi32(static_cast<int>(key.nonce[i]));
  }
  for (int round = 0; round < 10; ++round) {
    SOTTO_DENSE_QR(0, 4, 8, 12);
    SOTTO_DENSE_QR(1, 5, 9, 13);
    SOTTO_DENSE_QR(2, 6, 10, 14);
    SOTTO_DENSE_QR(3, 7, 11, 15);
    SOTTO_DENSE_QR(0, 5, 10, 15);
    SOTTO_DENSE_QR(1, 6, 11, 12);
    SOTTO_DENSE_QR(2, 7, 8, 13);
    SOTTO_DENSE_QR(3, 4, 9, 14);
  }
  // Feed-forward: the input state, rebuilt from the key (cheaper than keeping it live).
  for (size_t i = 0; i < 4; ++i) {
    x[i] = _mm512_add_epi32(x[i], _mm512_set1_epi32(static_cast<int>(kSigma[i])));
  }
  for (size_t i = 0; i < 8; ++i) {
    x[4 + i] = _mm512_add_epi32(x[4 + i], _mm512_set1_epi32(static_cast<int>(key.key[i])));
  }
  x[12] = _mm512_add_epi32(x[12], counters);
  for (size_t i = 0; i < 3; ++i) {
    x[13 + i] = _mm512_add_epi32(x[13 + i], _mm512_set1_epi32(static_cast<int>(key.nonce[i])));
  }

  // Transpose 16 x 16 words: x[w] lane b (word w of block b) -> out[b] lane w.
  // 1. 32-bit interleave of row pairs; 2. 64-bit interleave: u[4g + k] then holds, in its
  //    128-bit lane j, words 4g .. 4g + 3 of block 4j + k.
  __m512i t[16];
  for (size_t i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(x[i], x[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(x[i], x[i + 1]);
  }
  __m512i u[16];
  for (size_t g = 0; g < 4; ++g) {
    const size_t i = 4 * g;
    u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // 3. For each k, a 4 x 4 transpose of 128-bit lanes over u[k], u[4 + k], u[8 + k],
  //    u[12 + k] gives blocks k, 4 + k, 8 + k, 12 + k.
  for (size_t k = 0; k < 4; ++k) {
    const __m512i s0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);       // A0 A1 B0 B1
    const __m512i s1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xee);       // A2 A3 B2 B3
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);  // C0 C1 D0 D1
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xee);  // C2 C3 D2 D3
    out[k] = _mm512_shuffle_i32x4(s0, s2, 0x88);                         // A0 B0 C0 D0
    out[4 + k] = _mm512_shuffle_i32x4(s0, s2, 0xdd);                     // A1 B1 C1 D1
    out[8 + k] = _mm512_shuffle_i32x4(s1, s3, 0x88);                     // A2 B2 C2 D2
    out[12 + k] = _mm512_shuffle_i32x4(s1, s3, 0xdd);                    // A3 B3 C3 D3
  }
}

#undef SOTTO_DENSE_QR

// dst (16 blocks = 1024 bytes of ring elements) op= the blocks. A block is 16 elements of
// 2^32 or 8 of 2^64, in the keystream's little-endian order either way.
template <typename Word, MaskOp kOp>
SOTTO_AVX512_INLINE void Combine16(Word* dst, const __m512i blocks[16]) {
  constexpr size_t kPerBlock = kBlockBytes / sizeof(Word);
  for (size_t b = 0; b < kGroupBlocks; ++b) {
    void* p = dst + b * kPerBlock;
    if constexpr (kOp == MaskOp::kSet) {
      _mm512_storeu_si512(p, blocks[b]);
    } else {
      const __m512i v = _mm512_loadu_si512(p);
      __m512i r;
      if constexpr (sizeof(Word) == 4) {
        r = kOp == MaskOp::kAdd ? _mm512_add_epi32(v, blocks[b]) : _mm512_sub_epi32(v, blocks[b]);
      } else {
        r = kOp == MaskOp::kAdd ? _mm512_add_epi64(v, blocks[b]) : _mm512_sub_epi64(v, blocks[b]);
      }
      _mm512_storeu_si512(p, r);
    }
  }
}

template <typename Word, MaskOp kOp>
SOTTO_AVX512 void DenseLoop(const ChaChaKey& key, uint64_t begin, Word* values, size_t n) {
  constexpr uint64_t kPerBlock = kBlockBytes / sizeof(Word);
  constexpr uint64_t kPerGroup = kPerBlock * kGroupBlocks;
  const uint64_t end = begin + n;
  uint64_t block = begin / kPerBlock;  // < 2^29: coordinates are below 2^32
  uint64_t pos = begin;
  alignas(64) uint8_t scratch[kGroupBytes];
  bool scratch_used = false;
  __m512i blocks[16];
  while (pos < end) {
    const uint64_t group_begin = block * kPerBlock;
    const uint64_t group_end = group_begin + kPerGroup;
    Blocks16(key, static_cast<uint32_t>(block), blocks);
    if (group_begin == pos && group_end <= end) {
      Combine16<Word, kOp>(values + (pos - begin), blocks);
    } else {
      // A partial group (the range's first or last): through the stack buffer.
      for (size_t b = 0; b < kGroupBlocks; ++b) {
        _mm512_store_si512(scratch + b * kBlockBytes, blocks[b]);
      }
      scratch_used = true;
      const uint64_t stop = std::min(end, group_end);
      const uint8_t* masks = scratch + (pos - group_begin) * sizeof(Word);
      Word* out = values + (pos - begin);
      for (uint64_t i = 0; i < stop - pos; ++i) {
        Word mask;
        std::memcpy(&mask, masks + i * sizeof(Word), sizeof(Word));
        if constexpr (kOp == MaskOp::kSet) {
          out[i] = mask;
        } else if constexpr (kOp == MaskOp::kAdd) {
          out[i] += mask;
        } else {
          out[i] -= mask;
        }
      }
    }
    pos = std::min(end, group_end);
    block += kGroupBlocks;
  }
  if (scratch_used) {
    sodium_memzero(scratch, sizeof(scratch));
  }
}

#undef SOTTO_AVX512_INLINE
#undef SOTTO_AVX512

template <typename Word>
void DenseMaskAvx512Impl(const ChaChaKey& key, uint64_t begin, Word* values, size_t n, MaskOp op) {
  switch (op) {
    case MaskOp::kSet:
      DenseLoop<Word, MaskOp::kSet>(key, begin, values, n);
      return;
    case MaskOp::kAdd:
      DenseLoop<Word, MaskOp::kAdd>(key, begin, values, n);
      return;
    case MaskOp::kSubtract:
      DenseLoop<Word, MaskOp::kSubtract>(key, begin, values, n);
      return;
  }
  SOTTO_CHECK(false) << "unknown mask op";
}

}  // namespace

bool DenseIsaSupported(DenseIsa isa) {
  switch (isa) {
    case DenseIsa::kSodium:
      return true;
    case DenseIsa::kAvx512:
      // GCC's check includes the OS's XSAVE support for the zmm state.
      return __builtin_cpu_supports("avx512f");
  }
  return false;
}

void DenseMaskAvx512(const ChaChaKey& key, uint64_t begin, uint32_t* values, size_t n, MaskOp op) {
  DenseMaskAvx512Impl(key, begin, values, n, op);
}

void DenseMaskAvx512(const ChaChaKey& key, uint64_t begin, uint64_t* values, size_t n, MaskOp op) {
  DenseMaskAvx512Impl(key, begin, values, n, op);
}

#pragma GCC diagnostic pop

#else  // !SOTTO_DENSE_X86

bool DenseIsaSupported(DenseIsa isa) { return isa == DenseIsa::kSodium; }

void DenseMaskAvx512(const ChaChaKey&, uint64_t, uint32_t*, size_t, MaskOp) {
  SOTTO_CHECK(false) << "AVX-512 dense mask on a non-x86 CPU";
}

void DenseMaskAvx512(const ChaChaKey&, uint64_t, uint64_t*, size_t, MaskOp) {
  SOTTO_CHECK(false) << "AVX-512 dense mask on a non-x86 CPU";
}

#endif  // SOTTO_DENSE_X86

DenseIsa BestDenseIsa() {
  static const DenseIsa best =
      DenseIsaSupported(DenseIsa::kAvx512) ? DenseIsa::kAvx512 : DenseIsa::kSodium;
  return best;
}

}  // namespace sotto::crypto::internal
