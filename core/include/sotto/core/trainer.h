#pragma once

// Trainer: the client-side seam between an application's training code and a federation.
//
// Each round a client receives the global parameters and returns an *update*: the
// pseudo-gradient `global - local` after its local training (FedOpt's convention; for
// FedSGD/GD-SEC the update is the gradient itself). The coordinator's strategy then moves the
// model by `params -= server_lr * aggregate(update)`. Everything after Train() — compression,
// error feedback, secure aggregation, the network — is the framework's job, not the trainer's.
//
// A Trainer is driven by one thread at a time; the simulator runs different clients' trainers
// on different threads.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/learn/optimizer.h"

namespace sotto::core {

struct RoundContext {
  uint64_t round = 0;  // 1-based round number
  uint64_t seed = 0;   // this client's randomness for this round (shuffling, dropout, ...)
};

struct TrainOutput {
  uint64_t num_examples = 0;  // the client's weight in a weighted mean
  double train_loss = 0.0;    // mean local training loss
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  virtual size_t NumParameters() const = 0;

  // Trains from `global` and writes the pseudo-gradient (global - local) into `update`. Both
  // spans hold NumParameters() floats.
  virtual StatusOr<TrainOutput> Train(std::span<const float> global, const RoundContext& context,
                                      std::span<float> update) = 0;

  // Loss and accuracy of `params` on the trainer's own data.
  virtual StatusOr<learn::EvalResult> Evaluate(std::span<const float> params) = 0;
};

// The stock trainer: a learn::Model trained by mini-batch SGD on an in-memory dataset.
class ModelTrainer final : public Trainer {
 public:
  // InvalidArgument when the data does not fit the model or the options are invalid;
  // FailedPrecondition when `data` is empty.
  static StatusOr<std::unique_ptr<ModelTrainer>> Create(std::unique_ptr<learn::Model> model,
                                                        learn::Dataset data,
                                                        learn::SgdOptions options);

  size_t NumParameters() const override { return model_->NumParameters(); }
  StatusOr<TrainOutput> Train(std::span<const float> global, const RoundContext& context,
                              std::span<float> update) override;
  StatusOr<learn::EvalResult> Evaluate(std::span<const float> params) override;

  const learn::Dataset& data() const { return data_; }

 private:
  ModelTrainer(std::unique_ptr<learn::Model> model, learn::Dataset data, learn::SgdOptions options);

  std::unique_ptr<learn::Model> model_;
  learn::Dataset data_;
  learn::Sgd sgd_;
  std::vector<float> local_;
};

}  // namespace sotto::core
