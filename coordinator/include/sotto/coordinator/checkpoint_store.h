#pragma once

// Durable checkpoints for the coordinator: whole files, written so that a crash at any instant
// leaves either the previous checkpoint or the new one, never a torn file that loads.
//
// Save(round, payload):
//   1. write <dir>/.ckpt-<round>.tmp: header, payload, checksum;
//   2. fsync the file; 3. rename it to <dir>/ckpt-<round>.sotto (atomic on POSIX);
//   4. fsync the directory, so the rename itself survives a power loss;
//   5. delete all but the newest `keep` checkpoints (and stale temporary files).
// The payload is opaque here (the coordinator stores a serialized proto Checkpoint: model, round,
// strategy and GD-SEC state, and a fingerprint of the config).
//
// File layout (integers little-endian):
//   magic "SOTTOCKP" (8 bytes) | version u32 (= kCheckpointVersion) | round u64 |
//   payload length u64 | payload | BLAKE2b-256 of everything before it (32 bytes)
//
// LoadLatest() returns the newest checkpoint that verifies. Files that do not (BAD_INPUTS row 22:
// a bad checksum or truncation is DataLoss, an unknown version FailedPrecondition, a round in the
// header that differs from the name DataLoss) are skipped, and each skip is reported in
// Loaded::skipped with its Status, so the caller can log it and count it; the store falls back
// to the previous checkpoint. A file is never read past the length its header claims, and a
// length larger than the file is refused before allocating.
//
// Errors: Open: the directory cannot be created or is not writable (Unavailable); Save: any
// I/O failure (Unavailable; the previous checkpoints are untouched), a round not above the newest
// saved one (FailedPrecondition: checkpoints only move forward).
// Thread-safety: thread-compatible; one coordinator owns a store and its directory.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::coordinator {

inline constexpr uint32_t kCheckpointVersion = 1;

class CheckpointStore {
 public:
  // Creates `dir` if needed. keep >= 1 checkpoints are retained.
  static StatusOr<CheckpointStore> Open(std::string dir, int keep = 3);

  Status Save(uint64_t round, std::span<const uint8_t> payload);

  struct Skipped {
    std::string path;
    Status status;
  };
  struct Loaded {
    uint64_t round = 0;
    std::vector<uint8_t> payload;
    std::string path;
    std::vector<Skipped> skipped;  // newer files that did not verify
  };
  // The newest checkpoint that verifies, or nullopt when there is none (a fresh start; `skipped`
  // is then lost, so LoadLatest reports it through the error only when every file is bad:
  // DataLoss naming each).
  StatusOr<std::optional<Loaded>> LoadLatest() const;

  // Reads and verifies one file (for tools and tests).
  static StatusOr<Loaded> ReadFile(const std::string& path);

  const std::string& dir() const { return dir_; }

 private:
  CheckpointStore(std::string dir, int keep) : dir_(std::move(dir)), keep_(keep) {}
  // Rounds of the checkpoint files present, ascending.
  StatusOr<std::vector<uint64_t>> ListRounds() const;
  std::string PathFor(uint64_t round) const;

  std::string dir_;
  int keep_;
};

}  // namespace sotto::coordinator
