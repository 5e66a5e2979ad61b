#pragma once

// Rebuilding a secret from Shamir shares that may be corrupt (BAD_INPUTS row 18; private to
// sotto_secagg).
//
// ShamirReconstruct alone cannot be trusted: with exactly t shares a crafted corruption
// rebuilds a different secret without an error. So every candidate is checked by `accept`
// (the seed against its commitment, the key against its advertised public key), and a
// candidate that fails is never used. Candidates, in order:
//   1. all shares (ShamirReconstruct checks every share beyond t against the polynomial);
//   2. with m > t shares, each leave-one-out set (finds one corrupt share in m attempts);
//   3. t-subsets drawn with Prng(subset_seed) (public, so reruns repeat),
// until max_attempts candidates have been tried. DataLoss when none is accepted; the secrets
// the failed candidates produced are wiped.

#include <cstdint>
#include <functional>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/crypto/shamir.h"

namespace sotto::secagg::internal {

StatusOr<crypto::SecretBytes> ReconstructChecked(
    std::span<const crypto::ShamirShare> shares, uint32_t threshold, uint32_t max_attempts,
    uint64_t subset_seed, const std::function<bool(const crypto::SecretBytes&)>& accept);

}  // namespace sotto::secagg::internal
