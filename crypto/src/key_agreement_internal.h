#pragma once

// Private to sotto_crypto: the batch functions of sotto/crypto/key_agreement.h with a chosen
// X25519 variant (x25519_batch.h), so that tests can run the libsodium fallback on a CPU that
// would pick AVX-512 IFMA, and benchmarks can time both in one run. The public functions call
// these with BestX25519Isa().

#include <cstddef>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/secret_bytes.h"
#include "x25519_batch.h"

namespace sotto::crypto::internal {

// As GenerateX25519KeyPairs / DerivePairSeeds. FailedPrecondition if this CPU cannot run `isa`.
StatusOr<std::vector<X25519KeyPair>> GenerateX25519KeyPairsWith(X25519Isa isa, Random& random,
                                                                size_t count);
StatusOr<std::vector<Seed>> DerivePairSeedsWith(X25519Isa isa,
                                                std::span<const PairSeedRequest> requests);

}  // namespace sotto::crypto::internal
