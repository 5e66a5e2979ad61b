#pragma once

// Private to sotto_crypto: ChaCha20 (RFC 8439 section 2.3) on eight blocks with independent
// counters at once, one block per vector lane. MaskPrg's sparse path uses it, where touched
// blocks are isolated and a libsodium call per 64-byte block would cost several times the block.
//
// The same source is compiled for three instruction sets and the best one the CPU supports is
// chosen once, at first use: AVX-512 (VL: single-instruction rotates), AVX2, and the x86-64
// baseline (SSE2; also the only variant on other architectures).
//
// Secrets: the key and the output keystream; callers wipe both. Thread-safe.

#include <cstddef>
#include <cstdint>

namespace sotto::crypto::internal {

inline constexpr size_t kGatherLanes = 8;
inline constexpr size_t kGatherOutputWords = 16 * kGatherLanes;

// The state words shared by all lanes: key and nonce, little-endian.
struct ChaChaKey {
  uint32_t key[8];
  uint32_t nonce[3];
};

// key: 32 bytes; nonce = LE64(stream) || 0^4 (MaskPrg's layout).
ChaChaKey MakeChaChaKey(const uint8_t* key, uint64_t stream);

// Keystream block counters[l] (l < kGatherLanes) into out[w * kGatherLanes + l] for its words
// w = 0..15.
void ChaCha20Gather(const ChaChaKey& key, const uint32_t* counters, uint32_t* out);

enum class GatherIsa { kBaseline, kAvx2, kAvx512 };

// The variant ChaCha20Gather uses on this CPU.
GatherIsa BestGatherIsa();
// Runs a chosen variant; false (nothing written) if this CPU cannot run it. For tests.
bool ChaCha20GatherWith(GatherIsa isa, const ChaChaKey& key, const uint32_t* counters,
                        uint32_t* out);

}  // namespace sotto::crypto::internal
