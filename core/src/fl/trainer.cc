#include "sotto/core/trainer.h"

#include <algorithm>
#include <utility>

#include "sotto/base/status_macros.h"

namespace sotto::core {

StatusOr<std::unique_ptr<ModelTrainer>> ModelTrainer::Create(std::unique_ptr<learn::Model> model,
                                                             learn::Dataset data,
                                                             learn::SgdOptions options) {
  if (model == nullptr) return InvalidArgumentError("ModelTrainer needs a model");
  RETURN_IF_ERROR(learn::ValidateSgdOptions(options));
  if (data.num_samples == 0) return FailedPreconditionError("client has an empty dataset");
  RETURN_IF_ERROR(model->CheckCompatible(data));
  return std::unique_ptr<ModelTrainer>(
      new ModelTrainer(std::move(model), std::move(data), options));  // private constructor
}

ModelTrainer::ModelTrainer(std::unique_ptr<learn::Model> model, learn::Dataset data,
                           learn::SgdOptions options)
    : model_(std::move(model)),
      data_(std::move(data)),
      sgd_(model_.get(), options),
      local_(model_->NumParameters()) {}

StatusOr<TrainOutput> ModelTrainer::Train(std::span<const float> global,
                                          const RoundContext& context, std::span<float> update) {
  const size_t n = NumParameters();
  if (global.size() != n || update.size() != n) {
    return InvalidArgumentError("Train: parameter vector has the wrong length");
  }
  std::copy(global.begin(), global.end(), local_.begin());
  // The shuffling stream depends only on (seed, round): a resumed run replays a round exactly.
  Prng rng(context.seed);
  ASSIGN_OR_RETURN(learn::TrainStats stats, sgd_.Train(local_, data_, rng));
  for (size_t i = 0; i < n; ++i) update[i] = global[i] - local_[i];
  return TrainOutput{data_.num_samples, stats.mean_loss};
}

StatusOr<learn::EvalResult> ModelTrainer::Evaluate(std::span<const float> params) {
  if (params.size() != NumParameters()) {
    return InvalidArgumentError("Evaluate: parameter vector has the wrong length");
  }
  return learn::EvaluateDataset(*model_, params, data_);
}

}  // namespace sotto::core
