#pragma once

// Randomness, behind interfaces so tests are reproducible.
//
// - Random: a source of random bytes for keys, nonces and seeds. SystemRandom reads the
//   kernel's CSPRNG (getrandom); SeededRandom is a deterministic stand-in for tests only.
// - Prng: a fast, seeded, platform-independent generator for learning and simulation
//   (xoshiro256**, seeded by splitmix64). Distributions are implemented here rather than taken
//   from <random>, whose distributions differ between standard libraries; the same seed gives
//   the same numbers everywhere. Not cryptographic.
//
// None of these types is thread-safe; give each thread its own.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/status.h"

namespace sotto {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. Fails only if the OS source fails.
  virtual Status Fill(std::span<uint8_t> out) = 0;
};

// The kernel CSPRNG via getrandom(2).
class SystemRandom final : public Random {
 public:
  Status Fill(std::span<uint8_t> out) override;
};

// Deterministic bytes from a seed. For tests and simulations that must replay exactly; never
// for production keys.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  Status Fill(std::span<uint8_t> out) override;

 private:
  std::array<uint64_t, 4> state_;
};

// splitmix64 finaliser: a strong 64-bit mixer, used to derive independent seeds.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A seed for stream `stream` derived from `seed`: DeriveSeed(seed, client_id), etc.
constexpr uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  return Mix64(Mix64(seed) ^ Mix64(stream + 0x632be59bd9b4e019ULL));
}

class Prng {
 public:
  explicit Prng(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, n), unbiased (Lemire's method). n must be > 0.
  uint64_t UniformInt(uint64_t n);
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Standard normal (Marsaglia polar method).
  double Normal();
  // Gamma(shape, 1) for shape > 0 (Marsaglia-Tsang).
  double Gamma(double shape);

  // Fisher-Yates shuffle of `items`.
  template <typename T>
  void Shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(UniformInt(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  std::array<uint64_t, 4> s_;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

}  // namespace sotto
