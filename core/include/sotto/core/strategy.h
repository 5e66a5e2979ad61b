#pragma once

// Strategy: the server-side rule that turns one round's aggregate into a model step.
//
// A strategy sees only the weighted mean of the clients' pseudo-gradients (sotto/core/
// trainer.h), never individual updates, masks or bytes: secure aggregation and the transport
// sit below it. Stateful strategies (FedAdam, FedYogi) keep their moments between rounds.
// Not thread-safe; the round manager calls Apply() once per round.
//
//   FedAvg / FedSGD:  x -= server_lr * g
//   FedAdam:          m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;         x -= lr m / (sqrt v +
//   tau) FedYogi:          m as Adam;            v -= (1-b2) g^2 sign(v - g^2); x -= lr m / (sqrt v
//   + tau)
// (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, without bias correction.)

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/statusor.h"

namespace sotto::core {

enum class StrategyKind { kFedAvg, kFedSgd, kFedAdam, kFedYogi };

struct StrategyOptions {
  StrategyKind kind = StrategyKind::kFedAvg;
  double server_lr = 1.0;  // FedAvg: 1.0 is classic model averaging
  double beta1 = 0.9;
  double beta2 = 0.99;
  double tau = 1e-3;  // adaptivity: the epsilon of Adam/Yogi
};

// The state a strategy carries between rounds (FedAdam/FedYogi: the moments m and v; empty
// for FedAvg/FedSGD and before the first round), for checkpoints.
struct StrategyMoments {
  std::vector<double> first;
  std::vector<double> second;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view Name() const = 0;
  // Moves `params` by the round's mean update (same length). InvalidArgument on a length
  // mismatch or a non-finite mean (the round is then not applied).
  virtual Status Apply(std::span<float> params, std::span<const float> mean_update) = 0;
  virtual StrategyMoments Moments() const { return {}; }
  // Restores what Moments() returned (same strategy and dimension). InvalidArgument for
  // moments this strategy cannot hold (a stateless strategy accepts only empty ones; an
  // adaptive one needs first and second of equal length, v >= 0 and everything finite).
  virtual Status RestoreMoments(StrategyMoments moments);
};

// InvalidArgument naming the field for a non-positive learning rate, betas outside [0, 1),
// tau <= 0.
StatusOr<std::unique_ptr<Strategy>> MakeStrategy(const StrategyOptions& options);

// "fedavg", "fedsgd", "fedadam", "fedyogi".
StatusOr<StrategyKind> ParseStrategyKind(std::string_view name);
std::string_view StrategyKindName(StrategyKind kind);

}  // namespace sotto::core
