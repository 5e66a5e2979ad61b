#pragma once

// Model: a differentiable model whose parameters are one contiguous float vector.
//
// Compression and secure aggregation work on flat vectors, so a model never owns its
// parameters: callers pass a span of NumParameters() floats (the layout is the model's own and
// documented per model). LossAndGradient() computes the mean loss over a batch plus the
// regulariser and writes its gradient into a caller buffer. Scratch space lives in the model and
// grows to the largest batch seen, so steps of a fixed batch size never allocate.
//
// A Model is not thread-safe (the scratch is shared); give each thread its own Clone().
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Model> model, MakeModel(spec));
//   RETURN_IF_ERROR(model->CheckCompatible(train));
//   std::vector<float> params(model->NumParameters()), grad(model->NumParameters());
//   model->Initialize(seed, params);
//   double loss = model->LossAndGradient(params, BatchOf(train, 0, 32), grad);

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"

namespace sotto::learn {

struct EvalResult {
  double loss = 0.0;      // mean loss over the samples (regulariser excluded)
  double accuracy = 0.0;  // fraction correct; 0 for regression
  size_t samples = 0;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string Name() const = 0;
  virtual size_t NumParameters() const = 0;
  virtual size_t InputDim() const = 0;
  // Number of classes predicted; 0 for a regression model.
  virtual int NumClasses() const = 0;

  // Fills `params` (NumParameters() floats) with a seeded initialisation.
  virtual void Initialize(uint64_t seed, std::span<float> params) const = 0;

  // Mean loss over `batch` plus the regulariser; the gradient of that goes into `grad`
  // (overwritten). `params` and `grad` hold NumParameters() floats; the batch matches
  // InputDim() and the task (both are our invariants: check data with CheckCompatible()).
  virtual double LossAndGradient(std::span<const float> params, const Batch& batch,
                                 std::span<float> grad) = 0;

  // Mean loss (without regulariser) and accuracy over `batch`.
  virtual EvalResult Evaluate(std::span<const float> params, const Batch& batch) = 0;

  // A fresh model with the same architecture and its own scratch space.
  virtual std::unique_ptr<Model> Clone() const = 0;

  // InvalidArgument when `data` does not fit this model: wrong feature dimension, regression
  // data for a classifier (or the reverse), or labels beyond the model's classes.
  Status CheckCompatible(const Dataset& data) const;
};

// Evaluates over a whole dataset in chunks of `batch_size` rows (bounded scratch).
EvalResult EvaluateDataset(Model& model, std::span<const float> params, const Dataset& data,
                           size_t batch_size = 1024);

enum class ModelKind { kLinearRegression, kLogisticRegression, kSoftmaxRegression, kMlp };

struct ModelSpec {
  ModelKind kind = ModelKind::kMlp;
  size_t input_dim = 0;
  int num_classes = 0;         // softmax and MLP: >= 2; logistic: 2; linear: 0
  std::vector<size_t> hidden;  // MLP only: 1 or 2 hidden layer widths
  double l2 = 0.0;             // L2 regularisation strength: loss += l2/2 * ||w||^2
};

// Builds a model; InvalidArgument naming the field when the spec is impossible.
StatusOr<std::unique_ptr<Model>> MakeModel(const ModelSpec& spec);

// "linear", "logistic", "softmax", "mlp" <-> ModelKind.
StatusOr<ModelKind> ParseModelKind(std::string_view name);
std::string_view ModelKindName(ModelKind kind);

}  // namespace sotto::learn
