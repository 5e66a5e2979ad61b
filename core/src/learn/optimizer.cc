#include "sotto/core/learn/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>

#include "sotto/base/check.h"
#include "sotto/base/status_macros.h"

namespace sotto::learn {
namespace {

// Training stops at the first non-finite loss: continuing would only spread NaNs through the
// parameters, and the caller (a client) should drop out of the round rather than send them.
std::string DivergedMessage(size_t step, double learning_rate) {
  return "training diverged: the loss is not finite at step " + std::to_string(step) +
         " (learning rate " + std::to_string(learning_rate) + "; try a smaller one)";
}

// Full-batch gradients are accumulated over chunks of this many rows, so a model's scratch
// stays bounded however large the client's dataset is.
constexpr size_t kGradientChunkRows = 8192;

// More local epochs than this in one call is a configuration error, and the sample count must
// stay far from overflowing size_t.
constexpr double kMaxEpochs = 1e6;

Status CheckTrainable(const Model& model, std::span<const float> params, const Dataset& data) {
  if (data.num_samples == 0) {
    return FailedPreconditionError("cannot train on an empty dataset");
  }
  RETURN_IF_ERROR(model.CheckCompatible(data));
  if (params.size() != model.NumParameters()) {
    return InvalidArgumentError("params has " + std::to_string(params.size()) + " floats, model " +
                                model.Name() + " has " + std::to_string(model.NumParameters()));
  }
  return OkStatus();
}

Status CheckLearningRate(double learning_rate) {
  if (!std::isfinite(learning_rate) || learning_rate <= 0) {
    return InvalidArgumentError("learning_rate must be finite and > 0, got " +
                                std::to_string(learning_rate));
  }
  return OkStatus();
}

// Samples one Train() call visits: ceil(epochs * n), robust to epochs * n landing a rounding
// error above an integer (0.3 * 10 is 3.0000000000000004 in binary floating point).
size_t TotalSamples(double epochs, size_t n) {
  const double exact = epochs * static_cast<double>(n);
  return static_cast<size_t>(std::ceil(exact - 1e-9 * std::max(1.0, exact)));
}

}  // namespace

Status ValidateSgdOptions(const SgdOptions& options) {
  RETURN_IF_ERROR(CheckLearningRate(options.learning_rate));
  if (!std::isfinite(options.momentum) || options.momentum < 0 || options.momentum >= 1) {
    return InvalidArgumentError("momentum must be in [0, 1), got " +
                                std::to_string(options.momentum));
  }
  if (!std::isfinite(options.weight_decay) || options.weight_decay < 0) {
    return InvalidArgumentError("weight_decay must be finite and >= 0, got " +
                                std::to_string(options.weight_decay));
  }
  if (options.batch_size == 0) {
    return InvalidArgumentError("batch_size must be > 0");
  }
  if (!std::isfinite(options.epochs) || options.epochs < 0 || options.epochs > kMaxEpochs) {
    return InvalidArgumentError("epochs must be in [0, " + std::to_string(kMaxEpochs) + "], got " +
                                std::to_string(options.epochs));
  }
  return OkStatus();
}

Sgd::Sgd(Model* model, SgdOptions options) : model_(model), options_(options) {
  SOTTO_CHECK(model_ != nullptr);
}

StatusOr<TrainStats> Sgd::Train(std::span<float> params, const Dataset& data, Prng& rng) {
  RETURN_IF_ERROR(ValidateSgdOptions(options_));
  RETURN_IF_ERROR(CheckTrainable(*model_, params, data));

  const size_t n = data.num_samples;
  const size_t dim = data.dim;
  const size_t num_params = params.size();
  grad_.resize(num_params);
  if (options_.reset_momentum || velocity_.size() != num_params) {
    velocity_.assign(num_params, 0.0f);
  }
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), size_t{0});
  rng.Shuffle(std::span<size_t>(order_));
  size_t cursor = 0;  // next position in order_; a new shuffled epoch starts when it hits n

  batch_.dim = dim;
  batch_.num_classes = data.num_classes;
  if (data.is_classification()) {
    batch_.targets.clear();
  } else {
    batch_.labels.clear();
  }

  // A batch never holds more rows than the dataset, so it never repeats a sample.
  const size_t batch_size = std::min(options_.batch_size, n);
  const size_t total = TotalSamples(options_.epochs, n);
  const float lr = static_cast<float>(options_.learning_rate);
  const float momentum = static_cast<float>(options_.momentum);
  const float weight_decay = static_cast<float>(options_.weight_decay);

  TrainStats stats;
  double loss_sum = 0.0;
  while (stats.samples < total) {
    // Gather the next rows of the shuffled stream; the vectors keep their capacity, so after
    // the first full batch this does not allocate.
    const size_t rows = std::min(batch_size, total - stats.samples);
    batch_.num_samples = rows;
    batch_.features.resize(rows * dim);
    if (data.is_classification()) {
      batch_.labels.resize(rows);
    } else {
      batch_.targets.resize(rows);
    }
    for (size_t r = 0; r < rows; ++r) {
      if (cursor == n) {
        rng.Shuffle(std::span<size_t>(order_));
        cursor = 0;
      }
      const size_t i = order_[cursor++];
      std::memcpy(batch_.features.data() + r * dim, data.row(i), dim * sizeof(float));
      if (data.is_classification()) {
        batch_.labels[r] = data.labels[i];
      } else {
        batch_.targets[r] = data.targets[i];
      }
    }

    const double loss = model_->LossAndGradient(params, BatchOf(batch_, 0, rows), grad_);
    if (!std::isfinite(loss)) {
      return AbortedError(DivergedMessage(stats.steps, options_.learning_rate));
    }
    loss_sum += loss;

    // Heavy ball: v = momentum * v + g; w -= lr * v, with g = grad + weight_decay * w.
    float* w = params.data();
    const float* g = grad_.data();
    if (momentum > 0.0f) {
      float* v = velocity_.data();
      for (size_t j = 0; j < num_params; ++j) {
        v[j] = momentum * v[j] + (g[j] + weight_decay * w[j]);
        w[j] -= lr * v[j];
      }
    } else {
      for (size_t j = 0; j < num_params; ++j) {
        w[j] -= lr * (g[j] + weight_decay * w[j]);
      }
    }
    ++stats.steps;
    stats.samples += rows;
  }
  stats.mean_loss = stats.steps > 0 ? loss_sum / static_cast<double>(stats.steps) : 0.0;
  return stats;
}

GradientDescent::GradientDescent(Model* model, double learning_rate)
    : model_(model), learning_rate_(learning_rate) {
  SOTTO_CHECK(model_ != nullptr);
}

StatusOr<TrainStats> GradientDescent::Train(std::span<float> params, const Dataset& data,
                                            int steps) {
  RETURN_IF_ERROR(CheckLearningRate(learning_rate_));
  if (steps < 0) {
    return InvalidArgumentError("steps must be >= 0, got " + std::to_string(steps));
  }
  RETURN_IF_ERROR(CheckTrainable(*model_, params, data));
  grad_.resize(params.size());
  const float lr = static_cast<float>(learning_rate_);
  TrainStats stats;
  double loss_sum = 0.0;
  for (int s = 0; s < steps; ++s) {
    const double loss = Gradient(params, data, grad_);
    if (!std::isfinite(loss)) return AbortedError(DivergedMessage(stats.steps, learning_rate_));
    loss_sum += loss;
    for (size_t j = 0; j < params.size(); ++j) {
      params[j] -= lr * grad_[j];
    }
    ++stats.steps;
    stats.samples += data.num_samples;
  }
  stats.mean_loss = stats.steps > 0 ? loss_sum / static_cast<double>(stats.steps) : 0.0;
  return stats;
}

double GradientDescent::Gradient(std::span<const float> params, const Dataset& data,
                                 std::span<float> grad) {
  SOTTO_CHECK(data.num_samples > 0) << "full-batch gradient of an empty dataset";
  SOTTO_CHECK(grad.size() == model_->NumParameters())
      << grad.size() << " vs " << model_->NumParameters();
  const size_t n = data.num_samples;
  if (n <= kGradientChunkRows) {
    return model_->LossAndGradient(params, WholeBatch(data), grad);
  }
  // Each chunk's value is its mean loss plus the whole regulariser, so weighting the chunks by
  // their share of the rows gives the full-batch loss and gradient exactly (up to rounding).
  chunk_grad_.resize(grad.size());
  std::fill(grad.begin(), grad.end(), 0.0f);
  double loss = 0.0;
  for (size_t begin = 0; begin < n; begin += kGradientChunkRows) {
    const size_t rows = std::min(kGradientChunkRows, n - begin);
    const double weight = static_cast<double>(rows) / static_cast<double>(n);
    loss += weight * model_->LossAndGradient(params, BatchOf(data, begin, rows), chunk_grad_);
    const float w = static_cast<float>(weight);
    for (size_t j = 0; j < grad.size(); ++j) {
      grad[j] += w * chunk_grad_[j];
    }
  }
  return loss;
}

}  // namespace sotto::learn
