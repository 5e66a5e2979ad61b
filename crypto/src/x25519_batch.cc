#include "x25519_batch.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "sodium_util.h"
#include "sotto/base/check.h"

#if defined(__x86_64__) || defined(__i386__)
#define SOTTO_X25519_X86 1
#include <immintrin.h>
#else
#define SOTTO_X25519_X86 0
#endif

namespace sotto::crypto::internal {

static_assert(kX25519Bytes == crypto_scalarmult_BYTES);
static_assert(kX25519Bytes == crypto_scalarmult_SCALARBYTES);

namespace {

void X25519Sodium(std::span<const uint8_t* const> scalars, std::span<const uint8_t* const> points,
                  std::span<uint8_t* const> out) {
  EnsureSodium();
  for (size_t i = 0; i < out.size(); ++i) {
    // -1 means the product is the all-zero point; libsodium's reference code then leaves the
    // output untouched, so write the zeros that the ladder computes.
    if (crypto_scalarmult(out[i], scalars[i], points[i]) != 0) {
      sodium_memzero(out[i], kX25519Bytes);
    }
  }
}

}  // namespace

#if SOTTO_X25519_X86

// The field is GF(p), p = 2^255 - 19. An element is five limbs of 52 bits, l0 + l1 2^52 + ...
// + l4 2^208, one element per 64-bit lane. vpmadd52luq / vpmadd52huq multiply the low 52 bits
// of two lanes and add the low / high 52 bits of the 104-bit product to a 64-bit accumulator, so
// with this radix a product's high half lands exactly on the next limb, and a multiplication by a
// constant below 2^52 (19, 608, 121665) is two instructions. They ignore bits 52-63 of their
// inputs, which is why every value that enters a multiplication has limbs below 2^52.
//
// Two forms, by what the limbs are known to satisfy:
//   reduced  l0..l3 < 2^52 and l4 < 2^47 + 2^11 (value < 2^255 + 2^219 < 2p): the output of
//            every multiplication, and what additions and subtractions take;
//   loose    l0..l4 < 2^52 (value < 2^260): the output of an addition or subtraction, which only
//            ever goes into a multiplication.
// Reduction uses 2^255 = 19 and 2^260 = 32 * 19 = 608 (mod p).

// GCC 12's avx512fintrin.h implements _mm512_undefined_epi32 (the pass-through operand of
// _mm512_srli_epi64 and others) as a self-initialised variable, which -Wuninitialized and
// -Wmaybe-uninitialized report inside every caller. The operand is fully masked; the warnings
// are false positives (as in chacha20_dense.cc).
#pragma GCC diagnostic push
#if defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

// Every function that touches a vector register carries the target attribute; the arithmetic
// is always inlined into the ladder, which keeps the field elements in registers.
#define SOTTO_IFMA __attribute__((target("avx512f,avx512vl,avx512ifma")))
#define SOTTO_IFMA_INLINE \
  __attribute__((target("avx512f,avx512vl,avx512ifma"), always_inline)) inline

constexpr uint64_t kMask52 = (uint64_t{1} << 52) - 1;
constexpr uint64_t kMask47 = (uint64_t{1} << 47) - 1;
constexpr size_t kLimbs = 5;
constexpr size_t kMaxLanes = 8;
// Ladder steps: bits 254 .. 0 of the clamped scalar (bit 255 is always clear).
constexpr int kScalarBits = 255;
// (A - 2) / 4 for Curve25519's A = 486662 (RFC 7748 section 5).
constexpr uint64_t kA24 = 121665;

// The lane operations, for eight lanes (zmm) and four (ymm). Blend(m, a, b) takes b in the
// lanes whose bit of m is set.
struct Zmm {
  using V = __m512i;
  static constexpr size_t kLanes = 8;
  SOTTO_IFMA_INLINE static V Set1(uint64_t x) {
    return _mm512_set1_epi64(static_cast<long long>(x));
  }
  SOTTO_IFMA_INLINE static V Zero() { return _mm512_setzero_si512(); }
  SOTTO_IFMA_INLINE static V Add(V a, V b) { return _mm512_add_epi64(a, b); }
  SOTTO_IFMA_INLINE static V Sub(V a, V b) { return _mm512_sub_epi64(a, b); }
  SOTTO_IFMA_INLINE static V And(V a, V b) { return _mm512_and_si512(a, b); }
  template <unsigned kBits>
  SOTTO_IFMA_INLINE static V Shr(V a) {
    return _mm512_srli_epi64(a, kBits);
  }
  SOTTO_IFMA_INLINE static V MulLo(V acc, V a, V b) { return _mm512_madd52lo_epu64(acc, a, b); }
  SOTTO_IFMA_INLINE static V MulHi(V acc, V a, V b) { return _mm512_madd52hi_epu64(acc, a, b); }
  SOTTO_IFMA_INLINE static V Blend(__mmask8 m, V a, V b) {
    return _mm512_mask_blend_epi64(m, a, b);
  }
  SOTTO_IFMA_INLINE static V Load(const uint64_t* p) { return _mm512_loadu_si512(p); }
  SOTTO_IFMA_INLINE static void Store(uint64_t* p, V v) { _mm512_storeu_si512(p, v); }
};

struct Ymm {
  using V = __m256i;
  static constexpr size_t kLanes = 4;
  SOTTO_IFMA_INLINE static V Set1(uint64_t x) {
    return _mm256_set1_epi64x(static_cast<long long>(x));
  }
  SOTTO_IFMA_INLINE static V Zero() { return _mm256_setzero_si256(); }
  SOTTO_IFMA_INLINE static V Add(V a, V b) { return _mm256_add_epi64(a, b); }
  SOTTO_IFMA_INLINE static V Sub(V a, V b) { return _mm256_sub_epi64(a, b); }
  SOTTO_IFMA_INLINE static V And(V a, V b) { return _mm256_and_si256(a, b); }
  template <unsigned kBits>
  SOTTO_IFMA_INLINE static V Shr(V a) {
    return _mm256_srli_epi64(a, kBits);
  }
  SOTTO_IFMA_INLINE static V MulLo(V acc, V a, V b) { return _mm256_madd52lo_epu64(acc, a, b); }
  SOTTO_IFMA_INLINE static V MulHi(V acc, V a, V b) { return _mm256_madd52hi_epu64(acc, a, b); }
  SOTTO_IFMA_INLINE static V Blend(__mmask8 m, V a, V b) {
    return _mm256_mask_blend_epi64(m, a, b);
  }
  SOTTO_IFMA_INLINE static V Load(const uint64_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  SOTTO_IFMA_INLINE static void Store(uint64_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  }
};

template <class S>
struct Fe {
  typename S::V l[kLimbs];
};

// hi += lo >> 52, lo &= 2^52 - 1: moves everything above bit 52 of one limb to the next.
template <class S>
SOTTO_IFMA_INLINE void Carry(typename S::V& lo, typename S::V& hi) {
  hi = S::Add(hi, S::template Shr<52>(lo));
  lo = S::And(lo, S::Set1(kMask52));
}

// Limbs below 2^62 -> reduced. A first pass carries every limb at once, which keeps the chain of
// dependent instructions short: the bits of l4 from 47 up (bit 255 and above of the value) come
// back into l0 times 19, which leaves l0 below 2^52 + 2^20, l1..l3 below 2^52 + 2^10 and l4
// below 2^47 + 2^10. A second pass, in order, then leaves l0..l3 below 2^52 and puts the last
// carry (at most 1) into l4, which has room.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Reduce(typename S::V c[kLimbs]) {
  using V = typename S::V;
  const V mask52 = S::Set1(kMask52);
  const V carry0 = S::template Shr<52>(c[0]);
  const V carry1 = S::template Shr<52>(c[1]);
  const V carry2 = S::template Shr<52>(c[2]);
  const V carry3 = S::template Shr<52>(c[3]);
  const V top = S::template Shr<47>(c[4]);
  c[0] = S::MulLo(S::And(c[0], mask52), top, S::Set1(19));
  c[1] = S::Add(S::And(c[1], mask52), carry0);
  c[2] = S::Add(S::And(c[2], mask52), carry1);
  c[3] = S::Add(S::And(c[3], mask52), carry2);
  c[4] = S::Add(S::And(c[4], S::Set1(kMask47)), carry3);
  Carry<S>(c[0], c[1]);
  Carry<S>(c[1], c[2]);
  Carry<S>(c[2], c[3]);
  Carry<S>(c[3], c[4]);
  return {{c[0], c[1], c[2], c[3], c[4]}};
}

// Ten product columns (each below 10 * 2^52) -> reduced. Columns 5..9 are first carried to
// below 2^52 (the carry out of column 9, at most a few units, is column 10), so they can be
// multiplied by 608 = 2^260 mod p with IFMA: the low half of 608 c[5 + k] goes to column k, the
// high half to column k + 1. The high half of column 9's product and column 10 (weight 2^520 =
// 608^2) meet in position 5 again and are folded once more into column 0.
template <class S>
SOTTO_IFMA_INLINE Fe<S> ReduceWide(typename S::V c[2 * kLimbs]) {
  using V = typename S::V;
  Carry<S>(c[5], c[6]);
  Carry<S>(c[6], c[7]);
  Carry<S>(c[7], c[8]);
  Carry<S>(c[8], c[9]);
  const V c10 = S::template Shr<52>(c[9]);
  c[9] = S::And(c[9], S::Set1(kMask52));
  const V k608 = S::Set1(608);
  const V wrap = S::MulHi(S::MulLo(S::Zero(), c10, k608), c[9], k608);
#pragma GCC unroll 5
  for (size_t k = 0; k < kLimbs; ++k) {
    c[k] = S::MulLo(c[k], c[k + 5], k608);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k + 1 < kLimbs; ++k) {
    c[k + 1] = S::MulHi(c[k + 1], c[k + 5], k608);
  }
  c[0] = S::MulLo(c[0], wrap, k608);
  return Reduce<S>(c);
}

// a * b for loose or reduced a, b; the result is reduced. The low and the high halves of the
// products accumulate in separate registers, which halves the chains of dependent IFMAs.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Mul(const Fe<S>& a, const Fe<S>& b) {
  typename S::V lo[2 * kLimbs], hi[2 * kLimbs];
#pragma GCC unroll 10
  for (size_t k = 0; k < 2 * kLimbs; ++k) {
    lo[k] = S::Zero();
    hi[k] = S::Zero();
  }
#pragma GCC unroll 5
  for (size_t i = 0; i < kLimbs; ++i) {
#pragma GCC unroll 5
    for (size_t j = 0; j < kLimbs; ++j) {
      lo[i + j] = S::MulLo(lo[i + j], a.l[i], b.l[j]);
      hi[i + j + 1] = S::MulHi(hi[i + j + 1], a.l[i], b.l[j]);
    }
  }
#pragma GCC unroll 10
  for (size_t k = 0; k < 2 * kLimbs; ++k) {
    lo[k] = S::Add(lo[k], hi[k]);
  }
  return ReduceWide<S>(lo);
}

// a^2: the ten cross products once, doubled, then the five squares.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Square(const Fe<S>& a) {
  typename S::V lo[2 * kLimbs], hi[2 * kLimbs];
#pragma GCC unroll 10
  for (size_t k = 0; k < 2 * kLimbs; ++k) {
    lo[k] = S::Zero();
    hi[k] = S::Zero();
  }
#pragma GCC unroll 5
  for (size_t i = 0; i < kLimbs; ++i) {
#pragma GCC unroll 5
    for (size_t j = i + 1; j < kLimbs; ++j) {
      lo[i + j] = S::MulLo(lo[i + j], a.l[i], a.l[j]);
      hi[i + j + 1] = S::MulHi(hi[i + j + 1], a.l[i], a.l[j]);
    }
  }
#pragma GCC unroll 10
  for (size_t k = 0; k < 2 * kLimbs; ++k) {
    lo[k] = S::Add(lo[k], hi[k]);
    lo[k] = S::Add(lo[k], lo[k]);
  }
#pragma GCC unroll 5
  for (size_t i = 0; i < kLimbs; ++i) {
    lo[2 * i] = S::MulLo(lo[2 * i], a.l[i], a.l[i]);
    lo[2 * i + 1] = S::MulHi(lo[2 * i + 1], a.l[i], a.l[i]);
  }
  return ReduceWide<S>(lo);
}

// a^(2^n).
template <class S>
SOTTO_IFMA_INLINE Fe<S> SquareTimes(Fe<S> a, int n) {
  for (int i = 0; i < n; ++i) {
    a = Square<S>(a);
  }
  return a;
}

// a + b for reduced a, b; loose. One carry pass in order: the value is below 2^256, so l4
// (below 2^49 + 1) keeps the top.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Add(const Fe<S>& a, const Fe<S>& b) {
  typename S::V c[kLimbs];
#pragma GCC unroll 5
  for (size_t k = 0; k < kLimbs; ++k) {
    c[k] = S::Add(a.l[k], b.l[k]);
  }
  Carry<S>(c[0], c[1]);
  Carry<S>(c[1], c[2]);
  Carry<S>(c[2], c[3]);
  Carry<S>(c[3], c[4]);
  return {{c[0], c[1], c[2], c[3], c[4]}};
}

// a - b for reduced a, b; loose. Computed as a + 16p - b with 16p = 2^259 - 304 written as
// (2^53 - 304, 2^53 - 2, 2^53 - 2, 2^53 - 2, 2^51 - 2), each limb above the largest limb of a
// reduced b, so no lane goes negative; the sum is below 2^260 and l4 stays below 2^52.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Sub(const Fe<S>& a, const Fe<S>& b) {
  constexpr uint64_t kSixteenP[kLimbs] = {(uint64_t{1} << 53) - 304, (uint64_t{1} << 53) - 2,
                                          (uint64_t{1} << 53) - 2, (uint64_t{1} << 53) - 2,
                                          (uint64_t{1} << 51) - 2};
  typename S::V c[kLimbs];
#pragma GCC unroll 5
  for (size_t k = 0; k < kLimbs; ++k) {
    c[k] = S::Sub(S::Add(a.l[k], S::Set1(kSixteenP[k])), b.l[k]);
  }
  Carry<S>(c[0], c[1]);
  Carry<S>(c[1], c[2]);
  Carry<S>(c[2], c[3]);
  Carry<S>(c[3], c[4]);
  return {{c[0], c[1], c[2], c[3], c[4]}};
}

// aa + 121665 e for reduced aa and loose e; reduced. The product's column 5 (below 2^17) is
// folded into column 0 times 608.
template <class S>
SOTTO_IFMA_INLINE Fe<S> AddA24Times(const Fe<S>& aa, const Fe<S>& e) {
  const typename S::V a24 = S::Set1(kA24);
  typename S::V c[kLimbs];
#pragma GCC unroll 5
  for (size_t k = 0; k < kLimbs; ++k) {
    c[k] = S::MulLo(aa.l[k], e.l[k], a24);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k + 1 < kLimbs; ++k) {
    c[k + 1] = S::MulHi(c[k + 1], e.l[k], a24);
  }
  const typename S::V c5 = S::MulHi(S::Zero(), e.l[4], a24);
  c[0] = S::MulLo(c[0], c5, S::Set1(608));
  return Reduce<S>(c);
}

// Swaps a and b in the lanes whose bit of m is set.
template <class S>
SOTTO_IFMA_INLINE void Swap(__mmask8 m, Fe<S>& a, Fe<S>& b) {
#pragma GCC unroll 5
  for (size_t k = 0; k < kLimbs; ++k) {
    const typename S::V new_a = S::Blend(m, a.l[k], b.l[k]);
    b.l[k] = S::Blend(m, b.l[k], a.l[k]);
    a.l[k] = new_a;
  }
}

// z^(p - 2) = z^(2^255 - 21) = 1 / z (0 for z = 0), by the usual chain of 254 squarings and 11
// multiplications: 2^255 - 21 = (2^250 - 1) * 2^5 + 11.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Invert(const Fe<S>& z) {
  const Fe<S> z2 = Square<S>(z);                               // z^2
  const Fe<S> z9 = Mul<S>(SquareTimes<S>(z2, 2), z);           // z^9
  const Fe<S> z11 = Mul<S>(z9, z2);                            // z^11
  const Fe<S> e5 = Mul<S>(Square<S>(z11), z9);                 // z^(2^5 - 1)
  const Fe<S> e10 = Mul<S>(SquareTimes<S>(e5, 5), e5);         // z^(2^10 - 1)
  const Fe<S> e20 = Mul<S>(SquareTimes<S>(e10, 10), e10);      // z^(2^20 - 1)
  const Fe<S> e40 = Mul<S>(SquareTimes<S>(e20, 20), e20);      // z^(2^40 - 1)
  const Fe<S> e50 = Mul<S>(SquareTimes<S>(e40, 10), e10);      // z^(2^50 - 1)
  const Fe<S> e100 = Mul<S>(SquareTimes<S>(e50, 50), e50);     // z^(2^100 - 1)
  const Fe<S> e200 = Mul<S>(SquareTimes<S>(e100, 100), e100);  // z^(2^200 - 1)
  const Fe<S> e250 = Mul<S>(SquareTimes<S>(e200, 50), e50);    // z^(2^250 - 1)
  return Mul<S>(SquareTimes<S>(e250, 5), z11);                 // z^(2^255 - 21)
}

// A reduced value (below 2p) -> the canonical one, below p, with l0..l3 < 2^52 and l4 < 2^47.
// q = 1 exactly when value + 19 >= 2^255, i.e. value >= p; then value + 19 q - q 2^255.
template <class S>
SOTTO_IFMA_INLINE Fe<S> Canonical(Fe<S> a) {
  using V = typename S::V;
  V carry = S::template Shr<52>(S::Add(a.l[0], S::Set1(19)));
  carry = S::template Shr<52>(S::Add(a.l[1], carry));
  carry = S::template Shr<52>(S::Add(a.l[2], carry));
  carry = S::template Shr<52>(S::Add(a.l[3], carry));
  const V q = S::template Shr<47>(S::Add(a.l[4], carry));
  a.l[0] = S::MulLo(a.l[0], q, S::Set1(19));
  Carry<S>(a.l[0], a.l[1]);
  Carry<S>(a.l[1], a.l[2]);
  Carry<S>(a.l[2], a.l[3]);
  Carry<S>(a.l[3], a.l[4]);
  a.l[4] = S::And(a.l[4], S::Set1(kMask47));
  return a;
}

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; --i) {
    x = (x << 8) | p[i];
  }
  return x;
}

// Up to S::kLanes ladders, lane i for pair i < count; the other lanes run on zero inputs.
template <class S>
SOTTO_IFMA void LadderLanes(const uint8_t* const* scalars, const uint8_t* const* points,
                            uint8_t* const* out, size_t count) {
  static_assert(S::kLanes <= kMaxLanes);
  // limbs[k][i]: limb k of lane i (u on the way in, the result on the way out).
  alignas(64) uint64_t limbs[kLimbs][kMaxLanes] = {};
  // bits[t]: bit t of the clamped scalar of every lane, lane i in bit i.
  uint8_t bits[kScalarBits + 1] = {};
  for (size_t i = 0; i < count; ++i) {
    uint64_t w[4];
    for (size_t j = 0; j < 4; ++j) {
      w[j] = LoadLe64(points[i] + 8 * j);
    }
    w[3] &= ~(uint64_t{1} << 63);  // the unused top bit of u
    limbs[0][i] = w[0] & kMask52;
    limbs[1][i] = ((w[0] >> 52) | (w[1] << 12)) & kMask52;
    limbs[2][i] = ((w[1] >> 40) | (w[2] << 24)) & kMask52;
    limbs[3][i] = ((w[2] >> 28) | (w[3] << 36)) & kMask52;
    limbs[4][i] = w[3] >> 16;
    for (int t = 0; t <= kScalarBits; ++t) {
      uint8_t byte = scalars[i][t / 8];
      if (t / 8 == 0) {
        byte &= 248;
      } else if (t / 8 == 31) {
        byte = static_cast<uint8_t>((byte & 127) | 64);
      }
      bits[t] = static_cast<uint8_t>(bits[t] | (((byte >> (t % 8)) & 1) << i));
    }
  }

  Fe<S> x1;
  for (size_t k = 0; k < kLimbs; ++k) {
    x1.l[k] = S::Load(limbs[k]);
  }
  const typename S::V zero = S::Zero();
  const typename S::V one = S::Set1(1);
  Fe<S> x2 = {{one, zero, zero, zero, zero}};
  Fe<S> z2 = {{zero, zero, zero, zero, zero}};
  Fe<S> x3 = x1;
  Fe<S> z3 = x2;
  // RFC 7748 section 5: before step t, swap where bit t differs from bit t + 1 (the pair was
  // left swapped after step t + 1 where bit t + 1 was set).
  uint8_t previous = 0;
  for (int t = kScalarBits - 1; t >= 0; --t) {
    const __mmask8 swap = static_cast<__mmask8>(bits[t] ^ previous);
    previous = bits[t];
    Swap<S>(swap, x2, x3);
    Swap<S>(swap, z2, z3);
    const Fe<S> a = Add<S>(x2, z2);
    const Fe<S> b = Sub<S>(x2, z2);
    const Fe<S> c = Add<S>(x3, z3);
    const Fe<S> d = Sub<S>(x3, z3);
    const Fe<S> aa = Square<S>(a);
    const Fe<S> bb = Square<S>(b);
    const Fe<S> da = Mul<S>(d, a);
    const Fe<S> cb = Mul<S>(c, b);
    const Fe<S> e = Sub<S>(aa, bb);
    x3 = Square<S>(Add<S>(da, cb));
    z3 = Mul<S>(x1, Square<S>(Sub<S>(da, cb)));
    x2 = Mul<S>(aa, bb);
    z2 = Mul<S>(e, AddA24Times<S>(aa, e));
  }
  Swap<S>(static_cast<__mmask8>(previous), x2, x3);
  Swap<S>(static_cast<__mmask8>(previous), z2, z3);

  const Fe<S> result = Canonical<S>(Mul<S>(x2, Invert<S>(z2)));
  for (size_t k = 0; k < kLimbs; ++k) {
    S::Store(limbs[k], result.l[k]);
  }
  // The canonical value in four little-endian words: limbs of 52, 52, 52, 52 and 47 bits.
  uint64_t words[4];
  for (size_t i = 0; i < count; ++i) {
    words[0] = limbs[0][i] | (limbs[1][i] << 52);
    words[1] = (limbs[1][i] >> 12) | (limbs[2][i] << 40);
    words[2] = (limbs[2][i] >> 24) | (limbs[3][i] << 28);
    words[3] = (limbs[3][i] >> 36) | (limbs[4][i] << 16);
    for (size_t j = 0; j < 4; ++j) {
      for (size_t b = 0; b < 8; ++b) {
        out[i][8 * j + b] = static_cast<uint8_t>(words[j] >> (8 * b));
      }
    }
  }
  sodium_memzero(words, sizeof(words));
  sodium_memzero(limbs, sizeof(limbs));
  sodium_memzero(bits, sizeof(bits));
}

#undef SOTTO_IFMA_INLINE
#undef SOTTO_IFMA

void X25519Ifma(std::span<const uint8_t* const> scalars, std::span<const uint8_t* const> points,
                std::span<uint8_t* const> out) {
  size_t done = 0;
  // Eight lanes while more than four pairs remain, then at most four in ymm registers.
  while (out.size() - done > Ymm::kLanes) {
    const size_t count = std::min(Zmm::kLanes, out.size() - done);
    LadderLanes<Zmm>(scalars.data() + done, points.data() + done, out.data() + done, count);
    done += count;
  }
  if (done < out.size()) {
    LadderLanes<Ymm>(scalars.data() + done, points.data() + done, out.data() + done,
                     out.size() - done);
  }
}

}  // namespace

#pragma GCC diagnostic pop

bool X25519IsaSupported(X25519Isa isa) {
  switch (isa) {
    case X25519Isa::kSodium:
      return true;
    case X25519Isa::kAvx512Ifma:
      // GCC's checks include the OS's XSAVE support for the zmm state.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512ifma");
  }
  return false;
}

#else  // !SOTTO_X25519_X86

namespace {

void X25519Ifma(std::span<const uint8_t* const>, std::span<const uint8_t* const>,
                std::span<uint8_t* const>) {
  SOTTO_CHECK(false) << "AVX-512 IFMA X25519 on a non-x86 CPU";
}

}  // namespace

bool X25519IsaSupported(X25519Isa isa) { return isa == X25519Isa::kSodium; }

#endif  // SOTTO_X25519_X86

X25519Isa BestX25519Isa() {
  static const X25519Isa best =
      X25519IsaSupported(X25519Isa::kAvx512Ifma) ? X25519Isa::kAvx512Ifma : X25519Isa::kSodium;
  return best;
}

void X25519Batch(X25519Isa isa, std::span<const uint8_t* const> scalars,
                 std::span<const uint8_t* const> points, std::span<uint8_t* const> out) {
  SOTTO_CHECK(scalars.size() == out.size() && points.size() == out.size())
      << "X25519Batch: " << scalars.size() << " scalars, " << points.size() << " points, "
      << out.size() << " outputs";
  SOTTO_CHECK(X25519IsaSupported(isa)) << "X25519Batch: variant not supported on this CPU";
  switch (isa) {
    case X25519Isa::kSodium:
      X25519Sodium(scalars, points, out);
      return;
    case X25519Isa::kAvx512Ifma:
      X25519Ifma(scalars, points, out);
      return;
  }
  SOTTO_CHECK(false) << "unknown X25519 variant";
}

}  // namespace sotto::crypto::internal
