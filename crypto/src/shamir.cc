#include "sotto/crypto/shamir.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "sodium_util.h"
#include "sotto/base/status_macros.h"

namespace sotto::crypto {
namespace {

// GCC/Clang 128-bit integer, marked as an extension so -Wpedantic accepts it.
__extension__ typedef unsigned __int128 U128;

// The field: p = 2^127 - 1. Elements are kept canonical (< p) between operations.
constexpr U128 kP = (static_cast<U128>(1) << 127) - 1;
constexpr size_t kChunks = 3;
constexpr size_t kElementBytes = 16;
// The secret's byte ranges [kChunkBegin[c], kChunkBegin[c + 1]), each well below 2^127.
constexpr std::array<size_t, kChunks + 1> kChunkBegin = {0, 11, 22, 32};
static_assert(kChunkBegin[kChunks] == kShamirSecretBytes);
static_assert(kChunks * kElementBytes == kShamirShareBytes);
// Points evaluated together in Horner's loop: independent dependency chains for the CPU.
constexpr size_t kLanes = 8;

// x mod p for any x < 2^128: x = hi * 2^127 + lo == hi + lo (mod p), then one subtraction.
inline U128 Reduce(U128 x) {
  U128 y = (x & kP) + (x >> 127);
  return y >= kP ? y - kP : y;
}

inline U128 AddMod(U128 a, U128 b) { return Reduce(a + b); }

inline U128 SubMod(U128 a, U128 b) { return a >= b ? a - b : a + (kP - b); }

inline U128 NegMod(U128 a) { return a == 0 ? 0 : kP - a; }

// a * x + c modulo p, lazily: for a < 2^128, x < 2^32 and c < 2^127 the result is below
// 2^128 and congruent to a * x + c, but not necessarily below p. Horner's step and the Lagrange
// products (one factor a small integer: an evaluation point or a difference of two) chain it
// without reducing, and Reduce once at the end.
inline U128 MulSmallAddLazy(U128 a, uint64_t x, U128 c) {
  const U128 t = static_cast<U128>(static_cast<uint64_t>(a)) * x + c;  // < 2^96 + 2^127
  // a * x + c = u * 2^64 + (t mod 2^64), u < 2^97.
  const U128 u = (t >> 64) + static_cast<U128>(static_cast<uint64_t>(a >> 64)) * x;
  // Fold at bit 127 (2^127 == 1 mod p): the low 127 bits plus the rest (u >> 63 < 2^34).
  const U128 low = (static_cast<U128>(static_cast<uint64_t>(u) & 0x7fffffffffffffffULL) << 64) |
                   static_cast<uint64_t>(t);
  return low + (u >> 63);
}

// a * x mod p for a < 2^128 and x < 2^32, canonical.
inline U128 MulSmall(U128 a, uint64_t x) { return Reduce(MulSmallAddLazy(a, x, 0)); }

// a * b mod p for a, b < p (so their high 64-bit halves are below 2^63).
inline U128 Mul(U128 a, U128 b) {
  const uint64_t a0 = static_cast<uint64_t>(a);
  const uint64_t a1 = static_cast<uint64_t>(a >> 64);
  const uint64_t b0 = static_cast<uint64_t>(b);
  const uint64_t b1 = static_cast<uint64_t>(b >> 64);
  const U128 p00 = static_cast<U128>(a0) * b0;
  const U128 p01 = static_cast<U128>(a0) * b1;
  const U128 p10 = static_cast<U128>(a1) * b0;
  const U128 p11 = static_cast<U128>(a1) * b1;  // < 2^126
  const U128 mid = p01 + p10;                   // < 2^128
  const U128 lo = p00 + (mid << 64);
  const U128 carry = lo < p00 ? 1 : 0;
  const U128 hi = p11 + (mid >> 64) + carry;     // product >> 128, < 2^127
  const U128 shifted = (hi << 1) | (lo >> 127);  // product >> 127, < 2^127
  return Reduce((lo & kP) + shifted);
}

// a^(p-2) = 1/a for a != 0 (Fermat).
U128 Inverse(U128 a) {
  U128 result = 1;
  U128 base = a;
  U128 e = kP - 2;
  while (e != 0) {
    if ((e & 1) != 0) {
      result = Mul(result, base);
    }
    base = Mul(base, base);
    e >>= 1;
  }
  return result;
}

// Replaces every element of `values` (all non-zero) by its inverse with one field inversion
// (Montgomery's trick). `scratch` is resized and overwritten.
void BatchInverse(std::vector<U128>& values, std::vector<U128>& scratch) {
  const size_t n = values.size();
  if (n == 0) {
    return;
  }
  scratch.resize(n);
  U128 acc = 1;
  for (size_t i = 0; i < n; ++i) {
    scratch[i] = acc;  // product of values[0..i)
    acc = Mul(acc, values[i]);
  }
  U128 inv = Inverse(acc);  // 1 / product of all
  for (size_t i = n; i-- > 0;) {
    const U128 value = values[i];
    values[i] = Mul(inv, scratch[i]);
    inv = Mul(inv, value);
  }
}

U128 LoadLe(const uint8_t* bytes, size_t size) {
  U128 v = 0;
  for (size_t i = size; i-- > 0;) {
    v = (v << 8) | bytes[i];
  }
  return v;
}

void StoreLe(U128 v, uint8_t* out, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

// Zeroes a vector of field elements that held secret values.
void Wipe(std::vector<U128>& values) {
  if (!values.empty()) {
    sodium_memzero(values.data(), values.size() * sizeof(U128));
  }
}

// Draws `out.size()` uniform field elements from `random` (16 bytes each, top bit cleared,
// the single value p redrawn).
Status DrawUniform(Random& random, std::span<U128> out) {
  std::array<uint8_t, 4096> buffer;
  internal::ScopedWipe wipe_buffer(buffer.data(), buffer.size());
  size_t filled = 0;
  while (filled < out.size()) {
    const size_t want = std::min(out.size() - filled, buffer.size() / kElementBytes);
    RETURN_IF_ERROR(random.Fill(std::span<uint8_t>(buffer.data(), want * kElementBytes)));
    for (size_t i = 0; i < want; ++i) {
      const U128 v = LoadLe(buffer.data() + i * kElementBytes, kElementBytes) & kP;
      if (v != kP) {
        out[filled++] = v;
      }
    }
  }
  return OkStatus();
}

// A signed small integer as a field element.
U128 FromSigned(int64_t v) { return v >= 0 ? static_cast<U128>(v) : NegMod(static_cast<U128>(-v)); }

}  // namespace

StatusOr<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t> secret, uint32_t threshold,
                                               uint32_t num_shares, Random& random) {
  internal::EnsureSodium();
  if (secret.size() != kShamirSecretBytes) {
    return InvalidArgumentError("Shamir secret has " + std::to_string(secret.size()) +
                                " bytes, want " + std::to_string(kShamirSecretBytes));
  }
  if (threshold == 0) {
    return InvalidArgumentError("Shamir threshold must be at least 1");
  }
  if (num_shares > kShamirMaxShares) {
    return InvalidArgumentError("Shamir share count " + std::to_string(num_shares) +
                                " exceeds the limit of " + std::to_string(kShamirMaxShares));
  }
  if (threshold > num_shares) {
    return InvalidArgumentError("Shamir threshold " + std::to_string(threshold) +
                                " exceeds the share count " + std::to_string(num_shares));
  }

  // coefficients[c * t + k] is the coefficient of x^k of chunk c's polynomial.
  const size_t t = threshold;
  std::vector<U128> coefficients(kChunks * t);
  for (size_t c = 0; c < kChunks; ++c) {
    coefficients[c * t] =
        LoadLe(secret.data() + kChunkBegin[c], kChunkBegin[c + 1] - kChunkBegin[c]);
    if (t > 1) {
      Status drawn = DrawUniform(random, std::span<U128>(&coefficients[c * t + 1], t - 1));
      if (!drawn.ok()) {
        Wipe(coefficients);
        return drawn;
      }
    }
  }

  std::vector<ShamirShare> shares(num_shares);
  for (uint32_t first = 1; first <= num_shares; first += kLanes) {
    const size_t lanes = std::min<size_t>(kLanes, num_shares - first + 1);
    std::array<U128, kLanes * kChunks> values{};
    for (size_t c = 0; c < kChunks; ++c) {
      const U128* coeff = &coefficients[c * t];
      std::array<U128, kLanes> acc;
      acc.fill(coeff[t - 1]);
      std::array<uint64_t, kLanes> points;
      for (size_t l = 0; l < kLanes; ++l) {
        points[l] = first + l;
      }
      // Horner: acc = acc * x + coeff[k], all lanes at once (lanes past the end are dummies),
      // reduced lazily.
      for (size_t k = t - 1; k-- > 0;) {
        for (size_t l = 0; l < kLanes; ++l) {
          acc[l] = MulSmallAddLazy(acc[l], points[l], coeff[k]);
        }
      }
      for (size_t l = 0; l < kLanes; ++l) {
        values[l * kChunks + c] = Reduce(acc[l]);
      }
      sodium_memzero(acc.data(), sizeof(acc));
    }
    for (size_t l = 0; l < lanes; ++l) {
      ShamirShare& share = shares[first - 1 + l];
      share.x = static_cast<uint32_t>(first + l);
      share.value = SecretBytes(kShamirShareBytes);
      uint8_t* out = share.value.mutable_bytes().data();
      for (size_t c = 0; c < kChunks; ++c) {
        StoreLe(values[l * kChunks + c], out + c * kElementBytes, kElementBytes);
      }
    }
    sodium_memzero(values.data(), sizeof(values));
  }
  Wipe(coefficients);
  return shares;
}

StatusOr<SecretBytes> ShamirReconstruct(std::span<const ShamirShare> shares, uint32_t threshold) {
  internal::EnsureSodium();
  if (threshold == 0) {
    return InvalidArgumentError("Shamir threshold must be at least 1");
  }
  if (shares.size() < threshold) {
    return InvalidArgumentError("Shamir reconstruction needs " + std::to_string(threshold) +
                                " shares, got " + std::to_string(shares.size()));
  }
  const size_t m = shares.size();
  const size_t t = threshold;

  // Validate every share before using any.
  std::vector<uint32_t> xs(m);
  for (size_t i = 0; i < m; ++i) {
    const ShamirShare& share = shares[i];
    if (share.x == 0) {
      return InvalidArgumentError("Shamir share " + std::to_string(i) + " has x = 0");
    }
    if (share.value.size() != kShamirShareBytes) {
      return InvalidArgumentError("Shamir share x = " + std::to_string(share.x) + " has " +
                                  std::to_string(share.value.size()) + " bytes, want " +
                                  std::to_string(kShamirShareBytes));
    }
    for (size_t c = 0; c < kChunks; ++c) {
      // Compare without keeping the element: p = 7f ff .. ff (little-endian: ff .. ff 7f).
      const uint8_t* e = share.value.bytes().data() + c * kElementBytes;
      bool at_least_p = (e[kElementBytes - 1] & 0x80) != 0;
      if (!at_least_p && e[kElementBytes - 1] == 0x7f) {
        at_least_p = std::all_of(e, e + kElementBytes - 1, [](uint8_t b) { return b == 0xff; });
      }
      if (at_least_p) {
        return InvalidArgumentError("Shamir share x = " + std::to_string(share.x) +
                                    " holds a value outside the field");
      }
    }
    xs[i] = share.x;
  }
  {
    std::vector<uint32_t> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) {
      return InvalidArgumentError("Shamir shares repeat x = " + std::to_string(*dup));
    }
  }

  // ys[c * m + i] = chunk c of share i.
  std::vector<U128> ys(kChunks * m);
  for (size_t i = 0; i < m; ++i) {
    for (size_t c = 0; c < kChunks; ++c) {
      ys[c * m + i] = LoadLe(shares[i].value.bytes().data() + c * kElementBytes, kElementBytes);
    }
  }

  // Lagrange at 0 over the first t points: lambda_i = prod_{j != i} x_j / (x_j - x_i)
  //   = N / (x_i * D_i) with N = prod_j x_j and D_i = prod_{j != i} (x_j - x_i).
  // |x_j - x_i| < 2^32, so D_i is a chain of cheap multiplications by small integers; its sign
  // is tracked apart.
  std::vector<U128> denominators(t);  // x_i * |D_i|, then inverted
  std::vector<uint8_t> negative(t, 0);
  for (size_t first = 0; first < t; first += kLanes) {
    const size_t lanes = std::min(kLanes, t - first);
    std::array<U128, kLanes> acc;
    std::array<uint32_t, kLanes> sign{};
    for (size_t l = 0; l < kLanes; ++l) {
      acc[l] = l < lanes ? static_cast<U128>(xs[first + l]) : 1;
    }
    for (size_t j = 0; j < t; ++j) {
      const int64_t xj = xs[j];
      for (size_t l = 0; l < lanes; ++l) {
        const size_t i = first + l;
        if (i == j) {
          continue;
        }
        const int64_t diff = xj - static_cast<int64_t>(xs[i]);
        sign[l] ^= diff < 0 ? 1u : 0u;
        acc[l] = MulSmallAddLazy(acc[l], static_cast<uint64_t>(diff < 0 ? -diff : diff), 0);
      }
    }
    for (size_t l = 0; l < lanes; ++l) {
      denominators[first + l] = Reduce(acc[l]);
      negative[first + l] = static_cast<uint8_t>(sign[l]);
    }
  }
  std::vector<U128> scratch;
  BatchInverse(denominators, scratch);  // now 1 / (x_i * |D_i|)
  U128 numerator = 1;
  for (size_t j = 0; j < t; ++j) {
    numerator = MulSmall(numerator, xs[j]);
  }
  std::vector<U128> lambda(t);
  for (size_t i = 0; i < t; ++i) {
    const U128 l = Mul(numerator, denominators[i]);
    lambda[i] = negative[i] != 0 ? NegMod(l) : l;
  }

  std::array<U128, kChunks> chunk{};
  for (size_t c = 0; c < kChunks; ++c) {
    U128 acc = 0;
    for (size_t i = 0; i < t; ++i) {
      acc = AddMod(acc, Mul(lambda[i], ys[c * m + i]));
    }
    chunk[c] = acc;
  }

  Status status = OkStatus();
  // Every extra share must lie on the same polynomials. Barycentric form:
  //   f(z) = l(z) * sum_i w_i y_i / (z - x_i),  l(z) = prod_i (z - x_i),
  //   w_i = 1 / prod_{j != i} (x_i - x_j) = (-1)^(t-1) / D_i = (-1)^(t-1) x_i * denominators[i].
  if (m > t) {
    std::vector<U128> weighted(kChunks * t);  // w_i * y_{c,i}
    for (size_t i = 0; i < t; ++i) {
      U128 w = MulSmall(denominators[i], xs[i]);  // 1 / |D_i|
      const bool w_negative = ((negative[i] != 0) != ((t - 1) % 2 != 0));
      if (w_negative) {
        w = NegMod(w);
      }
      for (size_t c = 0; c < kChunks; ++c) {
        weighted[c * t + i] = Mul(w, ys[c * m + i]);
      }
    }
    std::vector<U128> inverse_gaps(t);
    for (size_t k = t; k < m && status.ok(); ++k) {
      const int64_t z = xs[k];
      U128 ell = 1;
      for (size_t i = 0; i < t; ++i) {
        const U128 gap = FromSigned(z - static_cast<int64_t>(xs[i]));
        inverse_gaps[i] = gap;
        ell = Mul(ell, gap);
      }
      BatchInverse(inverse_gaps, scratch);
      for (size_t c = 0; c < kChunks && status.ok(); ++c) {
        U128 sum = 0;
        for (size_t i = 0; i < t; ++i) {
          sum = AddMod(sum, Mul(weighted[c * t + i], inverse_gaps[i]));
        }
        if (Mul(ell, sum) != ys[c * m + k]) {
          status = DataLossError("Shamir share x = " + std::to_string(z) +
                                 " is inconsistent with the others (corrupt shares)");
        }
      }
    }
    Wipe(weighted);
  }

  // Chunks of a genuine secret are below 2^(8 * chunk size).
  for (size_t c = 0; c < kChunks && status.ok(); ++c) {
    const size_t bits = 8 * (kChunkBegin[c + 1] - kChunkBegin[c]);
    if ((chunk[c] >> bits) != 0) {
      status = DataLossError("Shamir reconstruction is out of range (corrupt shares)");
    }
  }

  SecretBytes secret(kShamirSecretBytes);
  if (status.ok()) {
    for (size_t c = 0; c < kChunks; ++c) {
      StoreLe(chunk[c], secret.mutable_bytes().data() + kChunkBegin[c],
              kChunkBegin[c + 1] - kChunkBegin[c]);
    }
  }
  Wipe(ys);
  Wipe(lambda);
  sodium_memzero(chunk.data(), sizeof(chunk));
  if (!status.ok()) {
    return status;
  }
  return secret;
}

}  // namespace sotto::crypto
