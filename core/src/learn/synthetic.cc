#include "sotto/core/learn/synthetic.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"

namespace sotto::learn {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Independent random streams, so changing how one part is drawn leaves the others alone.
constexpr uint64_t kWeightStream = 0;
constexpr uint64_t kFeatureStream = 1;
constexpr uint64_t kNoiseStream = 2;
constexpr uint64_t kLabelStream = 3;

// Rows per block when forming X^T X, so the double copy of the data stays small.
constexpr size_t kBlockRows = 4096;

constexpr double kNewtonGradientTolerance = 1e-10;
constexpr int kNewtonMaxIterations = 100;

Status CheckShape(size_t n, size_t dim) {
  if (n == 0) return InvalidArgumentError("synthetic problem needs n > 0 samples");
  if (dim == 0) return InvalidArgumentError("synthetic problem needs dim > 0 features");
  if (dim > kMaxSyntheticDim) {
    return ResourceExhaustedError("synthetic dim " + std::to_string(dim) + " exceeds " +
                                  std::to_string(kMaxSyntheticDim));
  }
  if (n > kMaxSyntheticValues / dim) {
    return ResourceExhaustedError("synthetic problem of " + std::to_string(n) + " x " +
                                  std::to_string(dim) + " exceeds " +
                                  std::to_string(kMaxSyntheticValues) + " feature values");
  }
  return OkStatus();
}

Status CheckNonNegative(double value, const char* name) {
  if (!std::isfinite(value) || value < 0.0) {
    return InvalidArgumentError(std::string(name) + " must be finite and >= 0, got " +
                                std::to_string(value));
  }
  return OkStatus();
}

// Fills data.features with N(0, 1) draws and true_params with [w*, b*].
void DrawFeaturesAndTruth(size_t n, size_t dim, double weight_std, double bias_std, uint64_t seed,
                          SyntheticProblem* problem) {
  Prng weight_rng(DeriveSeed(seed, kWeightStream));
  problem->true_params.resize(dim + 1);
  for (size_t j = 0; j < dim; ++j) {
    problem->true_params[j] = static_cast<float>(weight_std * weight_rng.Normal());
  }
  problem->true_params[dim] = static_cast<float>(bias_std * weight_rng.Normal());

  Prng feature_rng(DeriveSeed(seed, kFeatureStream));
  Dataset& data = problem->data;
  data.num_samples = n;
  data.dim = dim;
  data.features.resize(n * dim);
  for (float& x : data.features) x = static_cast<float>(feature_rng.Normal());
}

// w.x_i + b for the stored (float) row, in double.
double Affine(const Dataset& data, size_t i, const double* params) {
  const float* x = data.row(i);
  double z = params[data.dim];
  for (size_t j = 0; j < data.dim; ++j) z += params[j] * static_cast<double>(x[j]);
  return z;
}

// Rows [begin, begin + rows) of [X, 1] in double.
MatrixXd AugmentedBlock(const Dataset& data, size_t begin, size_t rows) {
  MatrixXd block(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(data.dim + 1));
  for (size_t r = 0; r < rows; ++r) {
    const float* x = data.row(begin + r);
    for (size_t j = 0; j < data.dim; ++j) {
      block(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = x[j];
    }
    block(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(data.dim)) = 1.0;
  }
  return block;
}

double L2Term(const double* params, size_t dim, double l2) {
  double norm2 = 0.0;
  for (size_t j = 0; j < dim; ++j) norm2 += params[j] * params[j];
  return 0.5 * l2 * norm2;
}

double LinearLoss(const Dataset& data, const double* params, double l2) {
  double sum = 0.0;
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double r = Affine(data, i, params) - data.targets[i];
    sum += 0.5 * r * r;
  }
  return sum / static_cast<double>(data.num_samples) + L2Term(params, data.dim, l2);
}

// log(1 + exp(-m)) without overflow.
double LogOnePlusExpNeg(double m) {
  return m > 0.0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m));
}

double Sigmoid(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double LogisticLoss(const Dataset& data, const double* params, double l2) {
  double sum = 0.0;
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double s = 2.0 * data.labels[i] - 1.0;
    sum += LogOnePlusExpNeg(s * Affine(data, i, params));
  }
  return sum / static_cast<double>(data.num_samples) + L2Term(params, data.dim, l2);
}

// Gradient and Hessian of the logistic loss at `params`.
void LogisticDerivatives(const Dataset& data, const VectorXd& params, double l2, VectorXd* grad,
                         MatrixXd* hessian) {
  const Eigen::Index p = static_cast<Eigen::Index>(data.dim + 1);
  grad->setZero(p);
  hessian->setZero(p, p);
  for (size_t begin = 0; begin < data.num_samples; begin += kBlockRows) {
    const size_t rows = std::min(kBlockRows, data.num_samples - begin);
    MatrixXd block = AugmentedBlock(data, begin, rows);
    const VectorXd z = block * params;
    VectorXd residual(z.size());
    VectorXd sqrt_curvature(z.size());
    for (Eigen::Index r = 0; r < z.size(); ++r) {
      const double prob = Sigmoid(z(r));
      residual(r) = prob - data.labels[begin + static_cast<size_t>(r)];
      sqrt_curvature(r) = std::sqrt(prob * (1.0 - prob));
    }
    *grad += block.transpose() * residual;
    block = sqrt_curvature.asDiagonal() * block;
    hessian->selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  }
  const double inv_n = 1.0 / static_cast<double>(data.num_samples);
  *grad *= inv_n;
  *hessian = hessian->selfadjointView<Eigen::Lower>();
  *hessian *= inv_n;
  for (Eigen::Index j = 0; j + 1 < p; ++j) {
    (*grad)(j) += l2 * params(j);
    (*hessian)(j, j) += l2;
  }
}

}  // namespace

StatusOr<SyntheticProblem> MakeLinearRegression(size_t n, size_t dim, double noise_std, double l2,
                                                uint64_t seed) {
  RETURN_IF_ERROR(CheckShape(n, dim));
  RETURN_IF_ERROR(CheckNonNegative(noise_std, "noise_std"));
  RETURN_IF_ERROR(CheckNonNegative(l2, "l2"));

  SyntheticProblem problem;
  DrawFeaturesAndTruth(n, dim, /*weight_std=*/1.0, /*bias_std=*/1.0, seed, &problem);
  Dataset& data = problem.data;
  data.num_classes = 0;
  data.targets.resize(n);
  const std::vector<double> truth(problem.true_params.begin(), problem.true_params.end());
  Prng noise_rng(DeriveSeed(seed, kNoiseStream));
  for (size_t i = 0; i < n; ++i) {
    data.targets[i] =
        static_cast<float>(Affine(data, i, truth.data()) + noise_std * noise_rng.Normal());
  }

  // Normal equations: (X~^T X~ / n + l2 * diag(1, .., 1, 0)) theta = X~^T y / n, X~ = [X, 1].
  const Eigen::Index p = static_cast<Eigen::Index>(dim + 1);
  MatrixXd gram = MatrixXd::Zero(p, p);
  VectorXd rhs = VectorXd::Zero(p);
  for (size_t begin = 0; begin < n; begin += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - begin);
    const MatrixXd block = AugmentedBlock(data, begin, rows);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
    const Eigen::Map<const Eigen::VectorXf> y(data.targets.data() + begin,
                                              static_cast<Eigen::Index>(rows));
    rhs += block.transpose() * y.cast<double>();
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  MatrixXd a = gram.selfadjointView<Eigen::Lower>();
  a *= inv_n;
  rhs *= inv_n;
  for (Eigen::Index j = 0; j + 1 < p; ++j) a(j, j) += l2;

  VectorXd theta;
  if (l2 > 0.0 || n > dim) {
    // Positive definite (with probability one for Gaussian features when n > dim).
    const Eigen::LDLT<MatrixXd> ldlt(a);
    theta = ldlt.solve(rhs);
    theta += ldlt.solve(rhs - a * theta);  // one step of iterative refinement
  } else {
    // Singular: many minimisers; take the one of least norm.
    const Eigen::CompleteOrthogonalDecomposition<MatrixXd> cod(a);
    theta = cod.solve(rhs);
    theta += cod.solve(rhs - a * theta);
  }
  problem.optimum.assign(theta.data(), theta.data() + theta.size());
  problem.optimum_loss = LinearLoss(data, problem.optimum.data(), l2);
  if (!std::isfinite(problem.optimum_loss)) {
    return InternalError("linear regression optimum has a non-finite loss");
  }
  return problem;
}

StatusOr<SyntheticProblem> MakeLogisticRegression(size_t n, size_t dim, double l2, uint64_t seed) {
  RETURN_IF_ERROR(CheckShape(n, dim));
  if (!std::isfinite(l2) || l2 <= 0.0) {
    return InvalidArgumentError(
        "logistic regression needs l2 > 0 (finite) so that the optimum "
        "exists, got " +
        std::to_string(l2));
  }

  SyntheticProblem problem;
  DrawFeaturesAndTruth(n, dim, /*weight_std=*/2.0 / std::sqrt(static_cast<double>(dim)),
                       /*bias_std=*/0.5, seed, &problem);
  Dataset& data = problem.data;
  data.num_classes = 2;
  data.labels.resize(n);
  const std::vector<double> truth(problem.true_params.begin(), problem.true_params.end());
  Prng label_rng(DeriveSeed(seed, kLabelStream));
  for (size_t i = 0; i < n; ++i) {
    data.labels[i] = label_rng.Uniform() < Sigmoid(Affine(data, i, truth.data())) ? 1 : 0;
  }

  // Damped Newton from zero. The loss is strongly convex (l2 > 0 on w; the bias direction has
  // positive curvature since every sigmoid(z_i) is in (0, 1)), so it converges quadratically
  // once close; far away the Armijo backtracking keeps each step a descent.
  const Eigen::Index p = static_cast<Eigen::Index>(dim + 1);
  VectorXd theta = VectorXd::Zero(p);
  VectorXd grad;
  MatrixXd hessian;
  double loss = LogisticLoss(data, theta.data(), l2);
  bool converged = false;
  for (int iter = 0; iter < kNewtonMaxIterations; ++iter) {
    LogisticDerivatives(data, theta, l2, &grad, &hessian);
    if (grad.norm() < kNewtonGradientTolerance) {
      converged = true;
      break;
    }
    const VectorXd step = -hessian.ldlt().solve(grad);
    const double slope = grad.dot(step);  // < 0: a descent direction
    // Within rounding of the optimum the loss cannot resolve the predicted decrease, so a
    // line search would only stall; the full Newton step is then the right one.
    if (-slope < 1e-12 * std::max(1.0, std::fabs(loss))) {
      theta += step;
      loss = LogisticLoss(data, theta.data(), l2);
      continue;
    }
    double t = 1.0;
    VectorXd candidate = theta + step;
    double candidate_loss = LogisticLoss(data, candidate.data(), l2);
    while (candidate_loss > loss + 1e-4 * t * slope && t > 1e-10) {
      t *= 0.5;
      candidate = theta + t * step;
      candidate_loss = LogisticLoss(data, candidate.data(), l2);
    }
    theta = std::move(candidate);
    loss = candidate_loss;
  }
  if (!converged) {
    return InternalError("Newton's method did not reach gradient norm " +
                         std::to_string(kNewtonGradientTolerance) + " in " +
                         std::to_string(kNewtonMaxIterations) + " iterations (norm " +
                         std::to_string(grad.norm()) + ")");
  }
  problem.optimum.assign(theta.data(), theta.data() + theta.size());
  problem.optimum_loss = LogisticLoss(data, problem.optimum.data(), l2);
  return problem;
}

}  // namespace sotto::learn
