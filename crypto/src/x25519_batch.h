#pragma once

// Private to sotto_crypto: X25519 (RFC 7748) on many (scalar, u-coordinate) pairs at once, the
// engine behind the batch functions of sotto/crypto/key_agreement.h.
//
// Two variants give the same 32 bytes as libsodium's crypto_scalarmult for every input:
//   kSodium      crypto_scalarmult, one pair at a time. Runs everywhere; the fallback.
//   kAvx512Ifma  eight Montgomery ladders side by side, ladder i in 64-bit lane i of zmm
//                registers (a tail of at most four pairs runs four side by side in ymm registers,
//                which on CPUs that split 512-bit operations in two, like Zen 4, costs half).
//                Field elements are five 52-bit limbs multiplied with AVX-512 IFMA
//                (vpmadd52luq / vpmadd52huq). Compiled with target attributes (the build has no
//                -march) and chosen at run time where the CPU and the OS support AVX-512F,
//                AVX-512VL and AVX-512IFMA.
// BestX25519Isa() picks once, at first use.
//
// Semantics, both variants (RFC 7748 section 5, as libsodium implements it): the scalar is
// clamped (bits 0, 1, 2 and 255 cleared, bit 254 set); the top bit of u is ignored; a u >= p is
// accepted and taken mod p; the result is the fully reduced u-coordinate, 32 bytes
// little-endian. For a low-order u the result is 32 zero bytes (libsodium's crypto_scalarmult
// returns -1 there; X25519Batch writes the zeros itself, so both variants agree): callers that
// refuse an all-zero shared point check the bytes.
//
// Constant time in the scalars and in u: no branch and no memory index depends on them; the
// ladder's conditional swaps are masked blends whose mask holds one scalar bit per lane. Lanes
// not used by a partial batch run on zero inputs. The stack buffers that hold scalar bits or
// limbs of results are wiped before return; register contents and compiler spills are not
// (libsodium does not wipe them either). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>

namespace sotto::crypto::internal {

// Bytes of a scalar, a u-coordinate and a result.
inline constexpr size_t kX25519Bytes = 32;

enum class X25519Isa { kSodium, kAvx512Ifma };

// Whether this CPU (and OS) can run the variant. kSodium: always.
bool X25519IsaSupported(X25519Isa isa);
// The variant the batch functions of key_agreement.h use on this CPU.
X25519Isa BestX25519Isa();

// out[i] = X25519(scalars[i], points[i]), kX25519Bytes each, for every i. Each pointer points at
// kX25519Bytes bytes; pointers may repeat (one scalar against many points), but an output must
// not overlap any input. Preconditions (checked, aborting: a violation is our own bug): the three
// spans have the same length and X25519IsaSupported(isa).
void X25519Batch(X25519Isa isa, std::span<const uint8_t* const> scalars,
                 std::span<const uint8_t* const> points, std::span<uint8_t* const> out);

}  // namespace sotto::crypto::internal
