#pragma once

// Shamir t-of-n secret sharing of 32-byte secrets (the SecAgg self-mask seed b_u and the mask
// secret key s_u^SK), for n up to kShamirMaxShares clients.
//
// Field and encoding. Arithmetic is in GF(p), p = 2^127 - 1 (a Mersenne prime: a product
// reduces with a shift and an add, and the Horner step "times a small x" costs two 64x64-bit
// multiplications). The 256-bit secret is cut into three chunks, read as little-endian
// integers:
//   chunk 0 = secret bytes [0, 11)   (< 2^88)
//   chunk 1 = secret bytes [11, 22)  (< 2^88)
//   chunk 2 = secret bytes [22, 32)  (< 2^80)
// Each chunk c is the constant term of its own polynomial f_c of degree t - 1 whose other
// t - 1 coefficients are uniform in GF(p) (16 bytes from `random`, top bit cleared, the one
// value p rejected and redrawn). Share i has x = i (1..n) and the value
//   f_0(i) || f_1(i) || f_2(i)     (three 16-byte little-endian field elements, 48 bytes).
// Any t - 1 shares are uniformly distributed whatever the secret, so they reveal nothing.
//
// Reconstruction interpolates at 0 from the first `threshold` shares (Lagrange, O(t^2) cheap
// multiplications by small integers plus one field inversion). Every further share given is
// checked to lie on the same polynomials (O(t) per extra share): pass exactly t shares for the
// fastest rebuild, t + 1 or more to detect corruption.
//
// Errors:
//   ShamirSplit: InvalidArgument if the secret is not kShamirSecretBytes bytes, threshold is 0,
//     threshold > num_shares, or num_shares > kShamirMaxShares; errors of `random`.
//   ShamirReconstruct (shares are untrusted input): InvalidArgument if threshold is 0, fewer
//     than `threshold` shares are given, an x is 0 or repeated, a value is not
//     kShamirShareBytes long, or a value holds a field element >= p. DataLoss if the shares are
//     inconsistent: an extra share off the polynomial, or a rebuilt chunk outside its range
//     (a random corruption of one share is caught this way except with probability about
//     2^-39). A corruption that is crafted to stay in range, with exactly t shares, rebuilds a
//     *different* secret without an error: the protocol must still check the result against
//     the advertised public key or the seed's commitment (BAD_INPUTS row 18).
//
// Cost (docs/BENCHMARKS.md): split is O(n t) multiplications by small integers (Horner,
// reduced lazily, eight points at a time): about 0.27 s for n = 10,000, t = 5,001 and 10-30 us
// for a SecAgg+ neighbourhood (k = 31..61). Reconstruction is O(t^2 + t (m - t)) for m shares:
// about 70 ms for t = 5,001.
//
// Threshold 1 is allowed and makes every share equal the secret (a 1-of-n "sharing" hides
// nothing; the caller chooses t).
//
// Secrets: the secret, the polynomial coefficients (wiped after use) and the share values
// (SecretBytes). Thread-safety: the functions are thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto {

inline constexpr size_t kShamirSecretBytes = 32;
// Three field elements of 16 bytes each.
inline constexpr size_t kShamirShareBytes = 48;
inline constexpr uint32_t kShamirMaxShares = uint32_t{1} << 20;

struct ShamirShare {
  uint32_t x = 0;     // the evaluation point, 1..n; public
  SecretBytes value;  // kShamirShareBytes bytes; secret
};

// Shares 1..num_shares of `secret`, any `threshold` of which rebuild it.
StatusOr<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t> secret, uint32_t threshold,
                                               uint32_t num_shares, Random& random);

// The secret (kShamirSecretBytes bytes) from at least `threshold` shares, in any order.
StatusOr<SecretBytes> ShamirReconstruct(std::span<const ShamirShare> shares, uint32_t threshold);

}  // namespace sotto::crypto
