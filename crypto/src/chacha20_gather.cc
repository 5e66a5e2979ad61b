#include "chacha20_gather.h"

#include <sodium.h>

#include <bit>
#include <cstring>
#include <initializer_list>

namespace sotto::crypto::internal {

static_assert(std::endian::native == std::endian::little,
              "chacha20_gather.cc loads key words with memcpy; add byte swaps for big-endian");

#if defined(__x86_64__) || defined(__i386__)
#define SOTTO_GATHER_X86 1
#else
#define SOTTO_GATHER_X86 0
#endif

namespace {

// GCC vector extension: eight 32-bit lanes. Compiled as two SSE2 halves by default and as one
// AVX2 / AVX-512VL register inside the target-specific wrappers below.
typedef uint32_t Lanes __attribute__((vector_size(kGatherLanes * sizeof(uint32_t))));

#define SOTTO_CHACHA_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define SOTTO_CHACHA_QR(a, b, c, d)     \
  do {                                  \
    x[a] += x[b];                       \
    x[d] ^= x[a];                       \
    x[d] = SOTTO_CHACHA_ROTL(x[d], 16); \
    x[c] += x[d];                       \
    x[b] ^= x[c];                       \
    x[b] = SOTTO_CHACHA_ROTL(x[b], 12); \
    x[a] += x[b];                       \
    x[d] ^= x[a];                       \
    x[d] = SOTTO_CHACHA_ROTL(x[d], 8);  \
    x[c] += x[d];                       \
    x[b] ^= x[c];                       \
    x[b] = SOTTO_CHACHA_ROTL(x[b], 7);  \
  } while (false)

// The body, inlined into each ISA wrapper so that it is compiled for that ISA.
__attribute__((always_inline)) inline void GatherBody(const ChaChaKey& key,
                                                      const uint32_t* counters, uint32_t* out) {
  static constexpr uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  Lanes s[16];
  for (size_t i = 0; i < 4; ++i) {
    s[i] = Lanes{} + kSigma[i];
  }
  for (size_t i = 0; i < 8; ++i) {
    s[4 + i] = Lanes{} + key.key[i];
  }
  std::memcpy(&s[12], counters, sizeof(Lanes));
  for (size_t i = 0; i < 3; ++i) {
    s[13 + i] = Lanes{} + key.nonce[i];
  }
  Lanes x[16];
  for (size_t i = 0; i < 16; ++i) {
    x[i] = s[i];
  }
  for (int round = 0; round < 10; ++round) {
    SOTTO_CHACHA_QR(0, 4, 8, 12);
    SOTTO_CHACHA_QR(1, 5, 9, 13);
    SOTTO_CHACHA_QR(2, 6, 10, 14);
    SOTTO_CHACHA_QR(3, 7, 11, 15);
    SOTTO_CHACHA_QR(0, 5, 10, 15);
    SOTTO_CHACHA_QR(1, 6, 11, 12);
    SOTTO_CHACHA_QR(2, 7, 8, 13);
    SOTTO_CHACHA_QR(3, 4, 9, 14);
  }
  for (size_t i = 0; i < 16; ++i) {
    x[i] += s[i];
  }
  std::memcpy(out, x, sizeof(x));
  sodium_memzero(x, sizeof(x));
  sodium_memzero(s, sizeof(s));
}

#undef SOTTO_CHACHA_QR
#undef SOTTO_CHACHA_ROTL

void GatherBaseline(const ChaChaKey& key, const uint32_t* counters, uint32_t* out) {
  GatherBody(key, counters, out);
}

#if SOTTO_GATHER_X86
__attribute__((target("avx2"))) void GatherAvx2(const ChaChaKey& key, const uint32_t* counters,
                                                uint32_t* out) {
  GatherBody(key, counters, out);
}

__attribute__((target("avx2,avx512f,avx512vl"))) void GatherAvx512(const ChaChaKey& key,
                                                                   const uint32_t* counters,
                                                                   uint32_t* out) {
  GatherBody(key, counters, out);
}
#endif

bool Supported(GatherIsa isa) {
  switch (isa) {
    case GatherIsa::kBaseline:
      return true;
#if SOTTO_GATHER_X86
    case GatherIsa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case GatherIsa::kAvx512:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512vl");
#else
    case GatherIsa::kAvx2:
    case GatherIsa::kAvx512:
      return false;
#endif
  }
  return false;
}

using GatherFunction = void (*)(const ChaChaKey&, const uint32_t*, uint32_t*);

GatherFunction FunctionFor(GatherIsa isa) {
  switch (isa) {
#if SOTTO_GATHER_X86
    case GatherIsa::kAvx512:
      return &GatherAvx512;
    case GatherIsa::kAvx2:
      return &GatherAvx2;
#else
    case GatherIsa::kAvx512:
    case GatherIsa::kAvx2:
#endif
    case GatherIsa::kBaseline:
      break;
  }
  return &GatherBaseline;
}

}  // namespace

ChaChaKey MakeChaChaKey(const uint8_t* key, uint64_t stream) {
  ChaChaKey out;
  std::memcpy(out.key, key, sizeof(out.key));
  out.nonce[0] = static_cast<uint32_t>(stream);
  out.nonce[1] = static_cast<uint32_t>(stream >> 32);
  out.nonce[2] = 0;
  return out;
}

GatherIsa BestGatherIsa() {
  static const GatherIsa best = [] {
    for (GatherIsa isa : {GatherIsa::kAvx512, GatherIsa::kAvx2}) {
      if (Supported(isa)) {
        return isa;
      }
    }
    return GatherIsa::kBaseline;
  }();
  return best;
}

void ChaCha20Gather(const ChaChaKey& key, const uint32_t* counters, uint32_t* out) {
  static const GatherFunction function = FunctionFor(BestGatherIsa());
  function(key, counters, out);
}

bool ChaCha20GatherWith(GatherIsa isa, const ChaChaKey& key, const uint32_t* counters,
                        uint32_t* out) {
  if (!Supported(isa)) {
    return false;
  }
  FunctionFor(isa)(key, counters, out);
  return true;
}

}  // namespace sotto::crypto::internal
