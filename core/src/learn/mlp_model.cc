#include "learn/mlp_model.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <utility>

#include "sotto/base/check.h"
#include "sotto/base/random.h"

namespace sotto::learn {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using RowVectorMap = Eigen::Map<Eigen::RowVectorXf>;
using ConstRowVectorMap = Eigen::Map<const Eigen::RowVectorXf>;

void GrowTo(std::vector<float>& buffer, size_t size) {
  if (buffer.size() < size) {
    buffer.resize(size);
  }
}

Eigen::Index AsIndex(size_t n) { return static_cast<Eigen::Index>(n); }

}  // namespace

MlpModel::MlpModel(size_t input_dim, std::vector<size_t> hidden, int num_classes, double l2)
    : l2_(l2) {
  widths_.push_back(input_dim);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(static_cast<size_t>(num_classes));
  layers_.resize(widths_.size() - 1);
  size_t offset = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    Layer& layer = layers_[l];
    layer.in = widths_[l];
    layer.out = widths_[l + 1];
    layer.weight_offset = offset;
    offset += layer.out * layer.in;
    layer.bias_offset = offset;
    offset += layer.out;
  }
  num_parameters_ = offset;
}

std::string MlpModel::Name() const {
  if (layers_.size() == 1) {
    return "softmax(" + std::to_string(widths_.front()) + "x" + std::to_string(widths_.back()) +
           ")";
  }
  std::string name = "mlp(";
  for (size_t i = 0; i < widths_.size(); ++i) {
    name += (i == 0 ? "" : "-") + std::to_string(widths_[i]);
  }
  return name + ")";
}

void MlpModel::Initialize(uint64_t seed, std::span<float> params) const {
  SOTTO_CHECK(params.size() == num_parameters_) << params.size() << " vs " << num_parameters_;
  std::fill(params.begin(), params.end(), 0.0f);
  if (layers_.size() == 1) {
    return;  // softmax regression: convex, zero start
  }
  Prng rng(seed);
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    const bool hidden = l + 1 < layers_.size();
    const double bound = std::sqrt((hidden ? 6.0 : 3.0) / static_cast<double>(layer.in));
    float* w = params.data() + layer.weight_offset;
    for (size_t i = 0; i < layer.out * layer.in; ++i) {
      w[i] = static_cast<float>((2.0 * rng.Uniform() - 1.0) * bound);
    }
  }
}

void MlpModel::Forward(std::span<const float> params, const Batch& batch) {
  SOTTO_CHECK(params.size() == num_parameters_) << params.size() << " vs " << num_parameters_;
  SOTTO_CHECK(batch.dim == widths_.front())
      << "batch dim " << batch.dim << ", model " << widths_.front();
  SOTTO_CHECK(batch.labels != nullptr) << "a classifier needs labels";
  const size_t rows = batch.rows;
  const float* input = batch.features;
  for (size_t l = 0; l < layers_.size(); ++l) {
    Layer& layer = layers_[l];
    GrowTo(layer.output, rows * layer.out);
    // Z = X W^T: the batch is row-major, W row-major out x in, so W^T is a transposed read.
    layer.forward_gemm.Multiply(/*transpose_a=*/false, /*transpose_b=*/true, rows, layer.out,
                                layer.in, input, layer.in, params.data() + layer.weight_offset,
                                layer.in, layer.output.data(), layer.out);
    MatrixMap z(layer.output.data(), AsIndex(rows), AsIndex(layer.out));
    ConstRowVectorMap b(params.data() + layer.bias_offset, AsIndex(layer.out));
    z.rowwise() += b;
    if (l + 1 < layers_.size()) {
      z = z.cwiseMax(0.0f);
    }
    input = layer.output.data();
  }
}

double MlpModel::SoftmaxCrossEntropy(const Batch& batch, bool write_gradient, size_t* correct) {
  const size_t classes = widths_.back();
  float* logits = layers_.back().output.data();
  const double inv_n = 1.0 / static_cast<double>(batch.rows);
  double loss_sum = 0.0;
  *correct = 0;
  for (size_t i = 0; i < batch.rows; ++i) {
    float* z = logits + i * classes;
    const size_t label = static_cast<size_t>(batch.labels[i]);
    SOTTO_CHECK(label < classes) << "label " << label << " of " << classes;
    const size_t argmax = static_cast<size_t>(std::max_element(z, z + classes) - z);
    const float max_logit = z[argmax];
    const float label_logit = z[label];
    // log-sum-exp shifted by the largest logit, so every exponent is <= 0; the exponentials
    // overwrite the logits (scratch) and are reused for the probabilities.
    double sum = 0.0;
    for (size_t j = 0; j < classes; ++j) {
      z[j] = std::exp(z[j] - max_logit);
      sum += z[j];
    }
    loss_sum += static_cast<double>(max_logit) + std::log(sum) - static_cast<double>(label_logit);
    if (argmax == label) {
      ++*correct;
    }
    if (write_gradient) {
      const double scale = inv_n / sum;
      for (size_t j = 0; j < classes; ++j) {
        z[j] = static_cast<float>(z[j] * scale - (j == label ? inv_n : 0.0));
      }
    }
  }
  return loss_sum;
}

double MlpModel::LossAndGradient(std::span<const float> params, const Batch& batch,
                                 std::span<float> grad) {
  SOTTO_CHECK(batch.rows > 0) << "empty batch";
  SOTTO_CHECK(grad.size() == num_parameters_) << grad.size() << " vs " << num_parameters_;
  Forward(params, batch);
  size_t correct = 0;
  const double loss_sum = SoftmaxCrossEntropy(batch, /*write_gradient=*/true, &correct);

  const size_t rows = batch.rows;
  double weight_norm_sq = 0.0;
  for (size_t l = layers_.size(); l-- > 0;) {
    Layer& layer = layers_[l];
    const bool is_last = l + 1 == layers_.size();
    // d loss / d pre-activation of this layer, rows x out.
    const float* delta = is_last ? layer.output.data() : layer.delta.data();
    const float* input = l == 0 ? batch.features : layers_[l - 1].output.data();
    const float* w = params.data() + layer.weight_offset;
    float* grad_w = grad.data() + layer.weight_offset;

    // dW = delta^T X (+ l2 W).
    const bool regularise = l2_ != 0.0;
    if (regularise) {
      ConstMatrixMap w_map(w, AsIndex(layer.out), AsIndex(layer.in));
      MatrixMap grad_w_map(grad_w, AsIndex(layer.out), AsIndex(layer.in));
      grad_w_map = static_cast<float>(l2_) * w_map;
      weight_norm_sq += w_map.cast<double>().squaredNorm();
    }
    layer.weight_grad_gemm.Multiply(/*transpose_a=*/true, /*transpose_b=*/false, layer.out,
                                    layer.in, rows, delta, layer.out, input, layer.in, grad_w,
                                    layer.in, /*accumulate=*/regularise);

    // db = column sums of delta.
    RowVectorMap grad_b(grad.data() + layer.bias_offset, AsIndex(layer.out));
    grad_b.setZero();
    for (size_t i = 0; i < rows; ++i) {
      grad_b += ConstRowVectorMap(delta + i * layer.out, AsIndex(layer.out));
    }

    if (l == 0) {
      break;
    }
    // Back into the previous layer: d loss / d z_l = (delta W) masked by ReLU'(pre-activation).
    Layer& previous = layers_[l - 1];
    GrowTo(previous.delta, rows * previous.out);
    layer.input_grad_gemm.Multiply(/*transpose_a=*/false, /*transpose_b=*/false, rows, layer.in,
                                   layer.out, delta, layer.out, w, layer.in, previous.delta.data(),
                                   previous.out);
    MatrixMap previous_delta(previous.delta.data(), AsIndex(rows), AsIndex(previous.out));
    ConstMatrixMap activation(previous.output.data(), AsIndex(rows), AsIndex(previous.out));
    previous_delta = (activation.array() > 0.0f).select(previous_delta, 0.0f);
  }
  return loss_sum / static_cast<double>(rows) + 0.5 * l2_ * weight_norm_sq;
}

EvalResult MlpModel::Evaluate(std::span<const float> params, const Batch& batch) {
  EvalResult result;
  if (batch.rows == 0) {
    return result;
  }
  Forward(params, batch);
  size_t correct = 0;
  const double loss_sum = SoftmaxCrossEntropy(batch, /*write_gradient=*/false, &correct);
  result.samples = batch.rows;
  result.loss = loss_sum / static_cast<double>(batch.rows);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(batch.rows);
  return result;
}

std::unique_ptr<Model> MlpModel::Clone() const {
  std::vector<size_t> hidden(widths_.begin() + 1, widths_.end() - 1);
  return std::make_unique<MlpModel>(widths_.front(), std::move(hidden),
                                    static_cast<int>(widths_.back()), l2_);
}

}  // namespace sotto::learn
