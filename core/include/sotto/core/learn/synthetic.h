#pragma once

// Synthetic problems whose exact optimum is known, for testing models, optimisers and whole
// federations against a ground truth.
//
// Both problems use one flat parameter vector params = [w_0 .. w_{d-1}, b] and the losses
//   linear regression:   L(w, b) = (1/n) sum_i 0.5 * (w.x_i + b - y_i)^2 + (l2/2) * ||w||^2
//   logistic regression: L(w, b) = (1/n) sum_i log(1 + exp(-s_i * z_i)) + (l2/2) * ||w||^2,
//                        z_i = w.x_i + b, s_i = 2 * y_i - 1, y_i in {0, 1}
// (the bias is not regularised). The models in model.h use exactly these, so `optimum` is the
// point a correct optimiser converges to and `optimum_loss` the value it reaches.
//
// Generation is deterministic: the same arguments give the same problem bit for bit on every
// platform (sotto::Prng). The optimum is computed in double from the features and targets as
// stored (floats), so it is exact for the returned data, not for the generating distribution.
// Thread-safe (no shared state).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"

namespace sotto::learn {

// Caps that keep the dense d x d solve and the data in memory (ResourceExhausted above them).
inline constexpr size_t kMaxSyntheticDim = 4096;
inline constexpr size_t kMaxSyntheticValues = size_t{1} << 28;  // n * dim floats

struct SyntheticProblem {
  Dataset data;
  std::vector<float> true_params;  // [w*, b*] that generated the data; size dim + 1
  std::vector<double> optimum;     // the minimiser of the loss on `data`; size dim + 1
  double optimum_loss = 0.0;       // the loss at `optimum`
};

// Regression: x_i ~ N(0, I), w* and b* ~ N(0, 1), y_i = w*.x_i + b* + noise_std * N(0, 1).
// `optimum` solves the normal equations in double (with l2 == 0 and n <= dim, where many
// minimisers exist, the one of least norm). InvalidArgument for n == 0, dim == 0, or
// noise_std / l2 negative or not finite.
StatusOr<SyntheticProblem> MakeLinearRegression(size_t n, size_t dim, double noise_std, double l2,
                                                uint64_t seed);

// Binary classification: x_i ~ N(0, I), w* ~ N(0, 4/dim) (so w*.x has standard deviation
// about 2), b* ~ N(0, 0.25), y_i ~ Bernoulli(sigmoid(w*.x_i + b*)): noisy labels, not
// separable. `optimum` is found by Newton's method in double until the gradient norm is below
// 1e-10. l2 must be > 0 (so the optimum exists and is unique): InvalidArgument otherwise, and
// for n == 0 or dim == 0.
StatusOr<SyntheticProblem> MakeLogisticRegression(size_t n, size_t dim, double l2, uint64_t seed);

}  // namespace sotto::learn
