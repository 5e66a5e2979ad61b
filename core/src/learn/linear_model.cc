#include "learn/linear_model.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "sotto/base/check.h"

namespace sotto::learn {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using VectorMap = Eigen::Map<Eigen::VectorXf>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

// log(1 + exp(t)) without overflow for large t or loss of precision for very negative t.
double Softplus(double t) { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); }

// 1 / (1 + exp(-z)), evaluated on the side where the exponential cannot overflow.
double Sigmoid(double z) {
  if (z >= 0) {
    return 1.0 / (1.0 + std::exp(-z));
  }
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Per-sample loss at score z for label/target `y` (a 0/1 label for logistic regression).
double SampleLoss(LinearModel::Loss loss, double z, double y) {
  if (loss == LinearModel::Loss::kSquared) {
    const double r = z - y;
    return 0.5 * r * r;
  }
  const double s = 2.0 * y - 1.0;
  return Softplus(-s * z);
}

// d SampleLoss / d z.
double SampleLossDerivative(LinearModel::Loss loss, double z, double y) {
  if (loss == LinearModel::Loss::kSquared) {
    return z - y;
  }
  return Sigmoid(z) - y;
}

double Target(const Batch& batch, size_t i) {
  return batch.targets != nullptr ? static_cast<double>(batch.targets[i])
                                  : static_cast<double>(batch.labels[i]);
}

}  // namespace

LinearModel::LinearModel(Loss loss, size_t input_dim, double l2)
    : loss_(loss), input_dim_(input_dim), l2_(l2) {}

std::string LinearModel::Name() const {
  return std::string(loss_ == Loss::kSquared ? "linear" : "logistic") + "(" +
         std::to_string(input_dim_) + ")";
}

void LinearModel::Initialize(uint64_t /*seed*/, std::span<float> params) const {
  SOTTO_CHECK(params.size() == NumParameters()) << params.size() << " vs " << NumParameters();
  std::fill(params.begin(), params.end(), 0.0f);
}

void LinearModel::ComputeScores(std::span<const float> params, const Batch& batch) {
  SOTTO_CHECK(params.size() == NumParameters()) << params.size() << " vs " << NumParameters();
  SOTTO_CHECK(batch.dim == input_dim_) << "batch dim " << batch.dim << ", model " << input_dim_;
  if (loss_ == Loss::kSquared) {
    SOTTO_CHECK(batch.targets != nullptr) << "linear regression needs targets";
  } else {
    SOTTO_CHECK(batch.labels != nullptr) << "logistic regression needs labels";
  }
  if (scores_.size() < batch.rows) {
    scores_.resize(batch.rows);
  }
  const Eigen::Index rows = static_cast<Eigen::Index>(batch.rows);
  const Eigen::Index dim = static_cast<Eigen::Index>(input_dim_);
  ConstMatrixMap x(batch.features, rows, dim);
  ConstVectorMap w(params.data(), dim);
  VectorMap z(scores_.data(), rows);
  z.noalias() = x * w;
  z.array() += params[input_dim_];
}

double LinearModel::LossAndGradient(std::span<const float> params, const Batch& batch,
                                    std::span<float> grad) {
  SOTTO_CHECK(batch.rows > 0) << "empty batch";
  SOTTO_CHECK(grad.size() == NumParameters()) << grad.size() << " vs " << NumParameters();
  ComputeScores(params, batch);

  // Replace each score by the derivative of the mean loss with respect to it.
  const double inv_n = 1.0 / static_cast<double>(batch.rows);
  double loss_sum = 0.0;
  double bias_grad = 0.0;
  for (size_t i = 0; i < batch.rows; ++i) {
    const double z = scores_[i];
    const double y = Target(batch, i);
    loss_sum += SampleLoss(loss_, z, y);
    const double dz = SampleLossDerivative(loss_, z, y) * inv_n;
    bias_grad += dz;
    scores_[i] = static_cast<float>(dz);
  }

  const Eigen::Index rows = static_cast<Eigen::Index>(batch.rows);
  const Eigen::Index dim = static_cast<Eigen::Index>(input_dim_);
  ConstMatrixMap x(batch.features, rows, dim);
  ConstVectorMap w(params.data(), dim);
  ConstVectorMap dz(scores_.data(), rows);
  VectorMap grad_w(grad.data(), dim);
  grad_w.noalias() = x.transpose() * dz;
  grad[input_dim_] = static_cast<float>(bias_grad);

  double regulariser = 0.0;
  if (l2_ != 0.0) {
    grad_w += static_cast<float>(l2_) * w;
    regulariser = 0.5 * l2_ * w.cast<double>().squaredNorm();
  }
  return loss_sum * inv_n + regulariser;
}

EvalResult LinearModel::Evaluate(std::span<const float> params, const Batch& batch) {
  EvalResult result;
  if (batch.rows == 0) {
    return result;
  }
  ComputeScores(params, batch);
  double loss_sum = 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < batch.rows; ++i) {
    const double z = scores_[i];
    const double y = Target(batch, i);
    loss_sum += SampleLoss(loss_, z, y);
    if (loss_ == Loss::kLogistic && (z > 0) == (batch.labels[i] == 1)) {
      ++correct;
    }
  }
  result.samples = batch.rows;
  result.loss = loss_sum / static_cast<double>(batch.rows);
  result.accuracy = loss_ == Loss::kLogistic
                        ? static_cast<double>(correct) / static_cast<double>(batch.rows)
                        : 0.0;
  return result;
}

std::unique_ptr<Model> LinearModel::Clone() const {
  return std::make_unique<LinearModel>(loss_, input_dim_, l2_);
}

}  // namespace sotto::learn
