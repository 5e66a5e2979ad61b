#include "sotto/core/learn/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "learn/linear_model.h"
#include "learn/mlp_model.h"
#include "sotto/base/check.h"

namespace sotto::learn {
namespace {

// Largest parameter vector MakeModel() accepts (8 GiB of floats): larger specs are almost
// certainly a typo in a config, and the count must not overflow size_t on the way.
constexpr size_t kMaxParameters = size_t{1} << 31;

// Adds a layer's (in + 1) * out parameters to *total; false once that exceeds kMaxParameters.
bool AddLayerParameters(size_t in, size_t out, size_t* total) {
  if (in > kMaxParameters || out > kMaxParameters / (in + 1)) {
    return false;
  }
  *total += (in + 1) * out;
  return *total <= kMaxParameters;
}

Status CheckNumClasses(const ModelSpec& spec) {
  const std::string_view kind = ModelKindName(spec.kind);
  switch (spec.kind) {
    case ModelKind::kLinearRegression:
      if (spec.num_classes != 0) {
        return InvalidArgumentError("num_classes must be 0 for linear regression, got " +
                                    std::to_string(spec.num_classes));
      }
      return OkStatus();
    case ModelKind::kLogisticRegression:
      if (spec.num_classes != 2) {
        return InvalidArgumentError("num_classes must be 2 for logistic regression, got " +
                                    std::to_string(spec.num_classes));
      }
      return OkStatus();
    case ModelKind::kSoftmaxRegression:
    case ModelKind::kMlp:
      if (spec.num_classes < 2) {
        return InvalidArgumentError("num_classes must be >= 2 for " + std::string(kind) + ", got " +
                                    std::to_string(spec.num_classes));
      }
      return OkStatus();
  }
  return InvalidArgumentError("kind is not a known model kind");
}

Status CheckHidden(const ModelSpec& spec) {
  if (spec.kind != ModelKind::kMlp) {
    if (!spec.hidden.empty()) {
      return InvalidArgumentError("hidden is only for mlp, but " +
                                  std::string(ModelKindName(spec.kind)) + " got " +
                                  std::to_string(spec.hidden.size()) + " hidden layer width(s)");
    }
    return OkStatus();
  }
  if (spec.hidden.empty() || spec.hidden.size() > 2) {
    return InvalidArgumentError("hidden must list 1 or 2 layer widths for mlp, got " +
                                std::to_string(spec.hidden.size()));
  }
  for (size_t i = 0; i < spec.hidden.size(); ++i) {
    if (spec.hidden[i] == 0) {
      return InvalidArgumentError("hidden[" + std::to_string(i) + "] must be > 0");
    }
  }
  return OkStatus();
}

}  // namespace

Status Model::CheckCompatible(const Dataset& data) const {
  if (data.dim != InputDim()) {
    return InvalidArgumentError("dataset has feature dimension " + std::to_string(data.dim) +
                                ", model " + Name() + " expects " + std::to_string(InputDim()));
  }
  if (data.features.size() != data.num_samples * data.dim) {
    return InvalidArgumentError("dataset has " + std::to_string(data.features.size()) +
                                " feature values for " + std::to_string(data.num_samples) +
                                " samples of dimension " + std::to_string(data.dim));
  }
  const int classes = NumClasses();
  if (classes == 0) {
    if (data.is_classification()) {
      return InvalidArgumentError("classification data (" + std::to_string(data.num_classes) +
                                  " classes) for regression model " + Name());
    }
    if (data.targets.size() != data.num_samples) {
      return InvalidArgumentError("dataset has " + std::to_string(data.targets.size()) +
                                  " targets for " + std::to_string(data.num_samples) + " samples");
    }
    return OkStatus();
  }
  if (!data.is_classification()) {
    return InvalidArgumentError("regression data for classifier " + Name());
  }
  if (data.num_classes > classes) {
    return InvalidArgumentError("dataset has " + std::to_string(data.num_classes) +
                                " classes, model " + Name() + " predicts " +
                                std::to_string(classes));
  }
  if (data.labels.size() != data.num_samples) {
    return InvalidArgumentError("dataset has " + std::to_string(data.labels.size()) +
                                " labels for " + std::to_string(data.num_samples) + " samples");
  }
  for (size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] < 0 || data.labels[i] >= classes) {
      return InvalidArgumentError("label " + std::to_string(data.labels[i]) + " of sample " +
                                  std::to_string(i) + " is outside the model's [0, " +
                                  std::to_string(classes) + ")");
    }
  }
  return OkStatus();
}

EvalResult EvaluateDataset(Model& model, std::span<const float> params, const Dataset& data,
                           size_t batch_size) {
  SOTTO_CHECK(batch_size > 0) << "batch_size must be > 0";
  double loss_sum = 0.0;
  double correct = 0.0;
  for (size_t begin = 0; begin < data.num_samples; begin += batch_size) {
    const size_t count = std::min(batch_size, data.num_samples - begin);
    const EvalResult chunk = model.Evaluate(params, BatchOf(data, begin, count));
    loss_sum += chunk.loss * static_cast<double>(count);
    correct += chunk.accuracy * static_cast<double>(count);
  }
  EvalResult result;
  result.samples = data.num_samples;
  if (data.num_samples > 0) {
    result.loss = loss_sum / static_cast<double>(data.num_samples);
    result.accuracy = correct / static_cast<double>(data.num_samples);
  }
  return result;
}

StatusOr<std::unique_ptr<Model>> MakeModel(const ModelSpec& spec) {
  if (spec.input_dim == 0) {
    return InvalidArgumentError("input_dim must be > 0");
  }
  if (!std::isfinite(spec.l2) || spec.l2 < 0) {
    return InvalidArgumentError("l2 must be finite and >= 0, got " + std::to_string(spec.l2));
  }
  if (Status status = CheckNumClasses(spec); !status.ok()) {
    return status;
  }
  if (Status status = CheckHidden(spec); !status.ok()) {
    return status;
  }

  size_t parameters = 0;
  size_t in = spec.input_dim;
  for (size_t width : spec.hidden) {
    if (!AddLayerParameters(in, width, &parameters)) {
      return ResourceExhaustedError("input_dim and hidden make a model of more than " +
                                    std::to_string(kMaxParameters) + " parameters");
    }
    in = width;
  }
  const bool single_output =
      spec.kind == ModelKind::kLinearRegression || spec.kind == ModelKind::kLogisticRegression;
  const size_t outputs = single_output ? 1 : static_cast<size_t>(spec.num_classes);
  if (!AddLayerParameters(in, outputs, &parameters)) {
    return ResourceExhaustedError("input_dim and hidden make a model of more than " +
                                  std::to_string(kMaxParameters) + " parameters");
  }

  switch (spec.kind) {
    case ModelKind::kLinearRegression:
      return std::unique_ptr<Model>(
          std::make_unique<LinearModel>(LinearModel::Loss::kSquared, spec.input_dim, spec.l2));
    case ModelKind::kLogisticRegression:
      return std::unique_ptr<Model>(
          std::make_unique<LinearModel>(LinearModel::Loss::kLogistic, spec.input_dim, spec.l2));
    case ModelKind::kSoftmaxRegression:
      return std::unique_ptr<Model>(std::make_unique<MlpModel>(
          spec.input_dim, std::vector<size_t>{}, spec.num_classes, spec.l2));
    case ModelKind::kMlp:
      return std::unique_ptr<Model>(
          std::make_unique<MlpModel>(spec.input_dim, spec.hidden, spec.num_classes, spec.l2));
  }
  return InvalidArgumentError("kind is not a known model kind");
}

StatusOr<ModelKind> ParseModelKind(std::string_view name) {
  for (ModelKind kind : {ModelKind::kLinearRegression, ModelKind::kLogisticRegression,
                         ModelKind::kSoftmaxRegression, ModelKind::kMlp}) {
    if (name == ModelKindName(kind)) {
      return kind;
    }
  }
  return InvalidArgumentError("unknown model kind '" + std::string(name) +
                              "' (expected linear, logistic, softmax or mlp)");
}

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinearRegression:
      return "linear";
    case ModelKind::kLogisticRegression:
      return "logistic";
    case ModelKind::kSoftmaxRegression:
      return "softmax";
    case ModelKind::kMlp:
      return "mlp";
  }
  return "unknown";
}

}  // namespace sotto::learn
