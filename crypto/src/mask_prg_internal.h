#pragma once

// Private to sotto_crypto (and its tests and benchmarks): MaskPrg's dense path through a chosen
// variant, so that every variant this CPU can run is checked against the others and timed.

#include <cstdint>
#include <span>

#include "chacha20_dense.h"
#include "sotto/base/status.h"
#include "sotto/crypto/mask_prg.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto::internal {

// MaskPrg(seed, stream).ApplyDense(begin, values, op) with variant `isa`: the same checks and
// errors, plus FailedPrecondition (nothing written) if this CPU cannot run `isa`.
Status ApplyDenseWith(DenseIsa isa, const Seed& seed, uint64_t stream, uint64_t begin,
                      std::span<uint32_t> values, MaskOp op);
Status ApplyDenseWith(DenseIsa isa, const Seed& seed, uint64_t stream, uint64_t begin,
                      std::span<uint64_t> values, MaskOp op);

}  // namespace sotto::crypto::internal
