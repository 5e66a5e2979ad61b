#pragma once

// LinearModel: a single affine score z = w.x + b under one of two losses.
//
// - kSquared, linear regression:    loss = (1/n) sum 0.5 * (z - y)^2 + (l2/2) ||w||^2.
//   Evaluate reports that mean squared-error loss (without the regulariser) and accuracy 0.
// - kLogistic, binary logistic regression, labels in {0, 1}, s = 2y - 1:
//   loss = (1/n) sum log(1 + exp(-s z)) + (l2/2) ||w||^2, computed as a stable softplus.
//   The predicted class is 1 when z > 0.
//
// Parameter layout: [w_0, ..., w_{d-1}, b] (d + 1 floats); the bias is not regularised. These
// formulas and the layout are fixed: the synthetic-data generator computes exact optima for them.
// Initialize() sets every parameter to zero (the problems are convex, so no symmetry to break;
// the seed is unused).
//
// Built by MakeModel(). Not thread-safe: the per-batch score buffer is shared scratch.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sotto/core/learn/model.h"

namespace sotto::learn {

class LinearModel final : public Model {
 public:
  enum class Loss { kSquared, kLogistic };

  // `input_dim` > 0 and `l2` >= 0 are checked by MakeModel().
  LinearModel(Loss loss, size_t input_dim, double l2);

  std::string Name() const override;
  size_t NumParameters() const override { return input_dim_ + 1; }
  size_t InputDim() const override { return input_dim_; }
  int NumClasses() const override { return loss_ == Loss::kLogistic ? 2 : 0; }

  void Initialize(uint64_t seed, std::span<float> params) const override;
  double LossAndGradient(std::span<const float> params, const Batch& batch,
                         std::span<float> grad) override;
  EvalResult Evaluate(std::span<const float> params, const Batch& batch) override;
  std::unique_ptr<Model> Clone() const override;

 private:
  // Writes z = X w + b for the batch into scores_ (grown to the batch).
  void ComputeScores(std::span<const float> params, const Batch& batch);

  Loss loss_;
  size_t input_dim_;
  double l2_;
  std::vector<float> scores_;  // per-sample z, then d loss / d z
};

}  // namespace sotto::learn
