#include "sotto/core/strategy.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace sotto::core {
namespace {

Status CheckUpdate(std::span<float> params, std::span<const float> update) {
  if (params.size() != update.size()) {
    return InvalidArgumentError("strategy: update has " + std::to_string(update.size()) +
                                " values, model has " + std::to_string(params.size()));
  }
  for (float g : update) {
    if (!std::isfinite(g)) return InvalidArgumentError("strategy: non-finite aggregate");
  }
  return OkStatus();
}

class SgdStep final : public Strategy {
 public:
  SgdStep(std::string_view name, double lr) : name_(name), lr_(lr) {}
  std::string_view Name() const override { return name_; }
  Status Apply(std::span<float> params, std::span<const float> update) override {
    if (Status s = CheckUpdate(params, update); !s.ok()) return s;
    const float lr = static_cast<float>(lr_);
    for (size_t i = 0; i < params.size(); ++i) params[i] -= lr * update[i];
    return OkStatus();
  }

 private:
  std::string_view name_;
  double lr_;
};

class AdaptiveStep final : public Strategy {
 public:
  AdaptiveStep(const StrategyOptions& o, bool yogi) : o_(o), yogi_(yogi) {}
  std::string_view Name() const override { return yogi_ ? "fedyogi" : "fedadam"; }
  Status Apply(std::span<float> params, std::span<const float> update) override {
    if (Status s = CheckUpdate(params, update); !s.ok()) return s;
    if (m_.empty()) {
      m_.assign(params.size(), 0.0);
      v_.assign(params.size(), o_.tau * o_.tau);  // Reddi et al. initialise v to tau^2
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const double g = update[i];
      m_[i] = o_.beta1 * m_[i] + (1.0 - o_.beta1) * g;
      const double g2 = g * g;
      if (yogi_) {
        const double diff = v_[i] - g2;
        v_[i] -= (1.0 - o_.beta2) * g2 * static_cast<double>((diff > 0) - (diff < 0));
      } else {
        v_[i] = o_.beta2 * v_[i] + (1.0 - o_.beta2) * g2;
      }
      params[i] -= static_cast<float>(o_.server_lr * m_[i] / (std::sqrt(v_[i]) + o_.tau));
    }
    return OkStatus();
  }
  StrategyMoments Moments() const override { return {m_, v_}; }
  Status RestoreMoments(StrategyMoments moments) override {
    if (moments.first.size() != moments.second.size()) {
      return InvalidArgumentError("strategy: first and second moments differ in length");
    }
    for (size_t i = 0; i < moments.first.size(); ++i) {
      if (!std::isfinite(moments.first[i]) || !std::isfinite(moments.second[i]) ||
          !(moments.second[i] >= 0)) {
        return InvalidArgumentError("strategy: a moment is not finite, or v < 0");
      }
    }
    m_ = std::move(moments.first);
    v_ = std::move(moments.second);
    return OkStatus();
  }

 private:
  StrategyOptions o_;
  bool yogi_;
  std::vector<double> m_, v_;
};

}  // namespace

Status Strategy::RestoreMoments(StrategyMoments moments) {
  if (!moments.first.empty() || !moments.second.empty()) {
    return InvalidArgumentError("strategy: " + std::string(Name()) + " keeps no moments");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Strategy>> MakeStrategy(const StrategyOptions& o) {
  if (!(o.server_lr > 0) || !std::isfinite(o.server_lr)) {
    return InvalidArgumentError("server_lr must be a positive number");
  }
  if (!(o.beta1 >= 0 && o.beta1 < 1)) return InvalidArgumentError("beta1 must be in [0, 1)");
  if (!(o.beta2 >= 0 && o.beta2 < 1)) return InvalidArgumentError("beta2 must be in [0, 1)");
  if (!(o.tau > 0) || !std::isfinite(o.tau)) return InvalidArgumentError("tau must be > 0");
  switch (o.kind) {
    case StrategyKind::kFedAvg:
      return std::unique_ptr<Strategy>(std::make_unique<SgdStep>("fedavg", o.server_lr));
    case StrategyKind::kFedSgd:
      return std::unique_ptr<Strategy>(std::make_unique<SgdStep>("fedsgd", o.server_lr));
    case StrategyKind::kFedAdam:
      return std::unique_ptr<Strategy>(std::make_unique<AdaptiveStep>(o, false));
    case StrategyKind::kFedYogi:
      return std::unique_ptr<Strategy>(std::make_unique<AdaptiveStep>(o, true));
  }
  return InvalidArgumentError("unknown strategy kind");
}

StatusOr<StrategyKind> ParseStrategyKind(std::string_view name) {
  if (name == "fedavg") return StrategyKind::kFedAvg;
  if (name == "fedsgd") return StrategyKind::kFedSgd;
  if (name == "fedadam") return StrategyKind::kFedAdam;
  if (name == "fedyogi") return StrategyKind::kFedYogi;
  return InvalidArgumentError("unknown strategy '" + std::string(name) +
                              "' (expected fedavg, fedsgd, fedadam or fedyogi)");
}

std::string_view StrategyKindName(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kFedAvg:
      return "fedavg";
    case StrategyKind::kFedSgd:
      return "fedsgd";
    case StrategyKind::kFedAdam:
      return "fedadam";
    case StrategyKind::kFedYogi:
      return "fedyogi";
  }
  return "unknown";
}

}  // namespace sotto::core
