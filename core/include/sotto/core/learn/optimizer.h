#pragma once

// Local optimisers: the loops a client runs on its own data between rounds.
//
// - Sgd: mini-batch SGD with momentum (heavy ball) and decoupled-from-loss weight decay
//   (added to the gradient: g += weight_decay * w), over shuffled epochs.
// - GradientDescent: full-batch GD (GD-SEC and the convex experiments use it).
//
// Both own their buffers (gradient, momentum, shuffled index order, batch gather) and reuse
// them across calls, so the steady state does not allocate. Not thread-safe; one per client.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/model.h"

namespace sotto::learn {

struct SgdOptions {
  double learning_rate = 0.05;
  double momentum = 0.0;  // 0 disables momentum
  double weight_decay = 0.0;
  size_t batch_size = 32;
  double epochs = 1.0;         // may be fractional: ceil(epochs * n / min(batch, n)) steps
  bool reset_momentum = true;  // clear the momentum buffer at the start of every Train() call
};

struct TrainStats {
  double mean_loss = 0.0;  // mean of the per-step batch losses
  size_t steps = 0;
  size_t samples = 0;  // samples visited (with repetition)
};

// InvalidArgument naming the field for a non-positive rate or batch, momentum outside [0, 1).
Status ValidateSgdOptions(const SgdOptions& options);

class Sgd {
 public:
  // `model` is not owned and must outlive the optimiser.
  Sgd(Model* model, SgdOptions options);

  // Trains `params` in place on `data`; the shuffling order comes from `rng`.
  // FailedPrecondition for an empty dataset; InvalidArgument if the data does not fit the model.
  // Aborted ("training diverged") at the first non-finite batch loss; params are then partial.
  StatusOr<TrainStats> Train(std::span<float> params, const Dataset& data, Prng& rng);

  const SgdOptions& options() const { return options_; }

 private:
  Model* model_;
  SgdOptions options_;
  std::vector<float> grad_;
  std::vector<float> velocity_;
  std::vector<size_t> order_;
  Dataset batch_;  // gathered rows of one shuffled batch
};

class GradientDescent {
 public:
  GradientDescent(Model* model, double learning_rate);

  // `steps` full-batch steps on `data`, params updated in place. Aborted on a non-finite loss.
  StatusOr<TrainStats> Train(std::span<float> params, const Dataset& data, int steps);

  // One full-batch gradient at `params` into `grad` (what GD-SEC's clients send). Returns the loss.
  double Gradient(std::span<const float> params, const Dataset& data, std::span<float> grad);

 private:
  Model* model_;
  double learning_rate_;
  std::vector<float> grad_;
  std::vector<float> chunk_grad_;  // Gradient() accumulates large datasets chunk by chunk
};

}  // namespace sotto::learn
