#pragma once

// MlpModel: a fully connected ReLU network with a softmax cross-entropy output. With no hidden
// layer it is multinomial (softmax) regression; MakeModel() builds it with 0 hidden layers for
// ModelKind::kSoftmaxRegression and with 1 or 2 for ModelKind::kMlp.
//
// Layers are numbered 0..L-1 with widths d_0 = input_dim, d_1..d_{L-1} = hidden, d_L = K classes.
// Parameter layout, layer after layer in order: W_l (d_{l+1} x d_l, row-major: row j holds the
// weights into output unit j) then b_l (d_{l+1}). Softmax regression is thus W (K x d) then b (K).
//
//   z_0 = x;  z_{l+1} = relu(W_l z_l + b_l) for hidden layers;  logits = W_{L-1} z_{L-1} + b_{L-1}
//   loss = mean over the batch of -log softmax(logits)[y]  +  (l2/2) sum_l ||W_l||^2
//
// Biases are not regularised. ReLU'(0) is taken as 0. The predicted class is the first index of
// the largest logit. Initialize(): softmax regression starts at zero (convex; the seed is unused);
// an MLP draws hidden-layer weights He/Kaiming-uniform, U(-sqrt(6/fan_in), sqrt(6/fan_in)), the
// output layer LeCun-uniform, U(-sqrt(3/fan_in), sqrt(3/fan_in)) (gain 1: no ReLU follows),
// all from one Prng seeded with `seed` in layout order; biases start at zero.
//
// Scratch (activations, deltas, GEMM packing panels) is owned by the model and grows to the
// largest batch seen; later batches of at most that size allocate nothing. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "learn/gemm.h"
#include "sotto/core/learn/model.h"

namespace sotto::learn {

class MlpModel final : public Model {
 public:
  // Dimensions are checked by MakeModel(): input_dim > 0, every hidden width > 0, at most two
  // hidden layers, num_classes >= 2, l2 >= 0.
  MlpModel(size_t input_dim, std::vector<size_t> hidden, int num_classes, double l2);

  std::string Name() const override;
  size_t NumParameters() const override { return num_parameters_; }
  size_t InputDim() const override { return widths_.front(); }
  int NumClasses() const override { return static_cast<int>(widths_.back()); }

  void Initialize(uint64_t seed, std::span<float> params) const override;
  double LossAndGradient(std::span<const float> params, const Batch& batch,
                         std::span<float> grad) override;
  EvalResult Evaluate(std::span<const float> params, const Batch& batch) override;
  std::unique_ptr<Model> Clone() const override;

 private:
  struct Layer {
    size_t in = 0;
    size_t out = 0;
    size_t weight_offset = 0;  // W: out x in, row-major
    size_t bias_offset = 0;    // b: out
    // Scratch, rows x out: the layer's output (post-ReLU for hidden layers, logits for the
    // last) and, for hidden layers, the loss gradient with respect to the pre-activation.
    std::vector<float> output;
    std::vector<float> delta;
    Gemm forward_gemm;
    Gemm weight_grad_gemm;
    Gemm input_grad_gemm;
  };

  // Runs the batch through the network; the logits land in layers_.back().output.
  void Forward(std::span<const float> params, const Batch& batch);

  // Softmax cross-entropy of the logits against the batch labels. Returns the summed loss and
  // counts correct predictions. Consumes the logits: with `write_gradient` they are replaced by
  // d(mean loss)/d(logits), otherwise by unnormalised probabilities.
  double SoftmaxCrossEntropy(const Batch& batch, bool write_gradient, size_t* correct);

  std::vector<size_t> widths_;  // d_0 .. d_L
  double l2_;
  size_t num_parameters_ = 0;
  std::vector<Layer> layers_;
};

}  // namespace sotto::learn
