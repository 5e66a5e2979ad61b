#pragma once

// Private to sotto_crypto: the dense path of MaskPrg (ApplyDense) and its variants.
//
// Two variants produce the same masks (mask_prg.h's layout):
//   kSodium  libsodium's crypto_stream_chacha20_ietf_xor_ic (its AVX2 / SSSE3 / reference code)
//            into a 4 KiB keystream buffer, which is then combined into the ring vector. Runs
//            everywhere; the fallback.
//   kAvx512  sixteen consecutive ChaCha20 blocks at once, block b in 32-bit lane b of sixteen
//            zmm registers (one register per state word, rotations by `vprold`), transposed in
//            registers and set / added / subtracted straight into the ring vector: no keystream
//            buffer and no second pass over it. Compiled with a target attribute (the build has
//            no -march) and chosen at run time where the CPU and the OS support AVX-512F.
// BestDenseIsa() picks once, at first use.
//
// Secrets: the key and the keystream. The AVX-512 core keeps the keystream in registers and
// writes it only into the caller's vector, except for the partial groups at the two ends of a
// range, which go through a 1 KiB stack buffer that is wiped before return. Register contents
// and compiler spills are not wiped (libsodium does not wipe them either). Thread-safe.

#include <cstddef>
#include <cstdint>

#include "chacha20_gather.h"
#include "sotto/crypto/mask_prg.h"

namespace sotto::crypto::internal {

enum class DenseIsa { kSodium, kAvx512 };

// Whether this CPU (and OS) can run the variant. kSodium: always.
bool DenseIsaSupported(DenseIsa isa);
// The variant MaskPrg::ApplyDense uses on this CPU.
DenseIsa BestDenseIsa();

// values[i] op= mask(begin + i) for i < n, with the AVX-512 core. Preconditions, checked by the
// caller: DenseIsaSupported(kAvx512), begin + n <= kMaxMaskCoordinates, op is a known MaskOp.
void DenseMaskAvx512(const ChaChaKey& key, uint64_t begin, uint32_t* values, size_t n, MaskOp op);
void DenseMaskAvx512(const ChaChaKey& key, uint64_t begin, uint64_t* values, size_t n, MaskOp op);

}  // namespace sotto::crypto::internal
