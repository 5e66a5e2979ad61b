#pragma once

// Simulation: a whole federation in one process — N clients, a server strategy, R rounds.
//
// The simulator plays the coordinator's round loop over in-memory clients: select clients,
// hand each the global model, run their Trainer (in parallel over `threads` worker threads),
// aggregate the updates, apply the strategy, evaluate on the held-out test set. Results are
// deterministic for a given config (per-client, per-round seeds; aggregation in client order),
// whatever the number of threads.
//
//   ASSIGN_OR_RETURN(auto sim, Simulation::Create(config));
//   ASSIGN_OR_RETURN(SimResult result, sim->Run([](const RoundRecord& r) { Print(r); }));
//
// Not thread-safe; Run() may be called once.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/gdsec.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/federated_data.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/learn/optimizer.h"
#include "sotto/core/strategy.h"
#include "sotto/core/trainer.h"
#include "sotto/secagg/config.h"

namespace sotto::sim {

// How the training set is split across clients (the learning core's splitter).
using learn::ParsePartitionKind;
using learn::PartitionKind;
using learn::PartitionKindName;

// How clients encode their update for the uplink.
//   kDense  fp32 dense update (the baseline).
//   kSparse a compress::Compressor (top-k, Gaussian-k, threshold, random-k, identity) under an
//           error-feedback policy; the server forms the weighted mean of the sparse messages.
//   kGdSec  GD-SEC (compress/gdsec.h): sparsified differences against h_m with error
//           correction; the server steps by server_lr * (h + sum)/n_clients, each client's
//           update pre-scaled by its share of the data so that the estimate is the weighted
//           mean.
enum class CompressionMode { kDense, kSparse, kGdSec };

// Secure aggregation of the uplink (sotto/secagg; docs/SECURITY.md). Each round runs the
// SecAgg / SecAgg+ state machines in memory over the selected clients; the server learns only
// the sum of their (weighted, fixed-point) updates on the round's support S and the sum of their
// weights. S comes from a public policy, the same for every client:
//   dense          S = all d coordinates (compression dense only: nothing is sparsified).
//   shared_random  |S| = density * d coordinates from a public per-round seed.
//   global_topk    the top (1 - explore) |S| coordinates of the previous round's aggregate
//                  (which the server publishes anyway), plus explore |S| drawn at random from
//                  the rest; the first round is shared_random.
// With kSparse the compressor's error feedback runs on S (Compressor::CompressOnSupport) and
// the sparsifier is not used; with kGdSec, GdSecClient::EncodeOnSupport. Error feedback also
// keeps what the fixed-point encoding clipped or rounded away.
struct SecAggSimOptions {
  bool enabled = false;
  secagg::SupportPolicy policy = secagg::SupportPolicy::kGlobalTopK;
  double density = 0.0;  // |S| / d; 0 = the compressor's (or GD-SEC's) density
  double explore = 0.5;  // global_topk: the share of S drawn at random
  double clip = 4.0;     // fixed point: values are clipped to [-clip, clip] before encoding
  // 0: the smallest ring that holds the sum of n clipped inputs at a useful resolution (2^32 up
  // to 1024 clients for FedAvg, and for GD-SEC while n * clip * 2^24 < 2^31; else 2^64).
  int ring_bits = 0;
  // SecAgg+ degree; -1: RecommendedSecAggPlusDegree(n) (the complete graph for small n);
  // 0: the complete graph. The threshold is a majority of each closed neighbourhood.
  int degree = -1;
  // Share of the selected clients that go offline each round after sharing their keys (drawn
  // from the run seed): the server must rebuild their masks from the survivors' shares.
  double dropout = 0.0;
};

struct SimConfig {
  // Data: "fashion-mnist" (from data_dir) or "synthetic" (a seeded logistic-regression
  // problem, small and fast: for tests and smoke runs).
  std::string dataset = "fashion-mnist";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  size_t max_train_samples = 0;  // 0: all; otherwise the first N (after a seeded shuffle)
  size_t num_clients = 10;
  PartitionKind partition = PartitionKind::kDirichlet;
  double dirichlet_alpha = 0.5;
  size_t shards_per_client = 2;

  learn::ModelSpec model{learn::ModelKind::kMlp, 0, 0, {128}, 0.0};  // dims come from the data
  learn::SgdOptions local{0.05, 0.9, 0.0, 32, 1.0, true};
  core::StrategyOptions strategy;

  CompressionMode compression = CompressionMode::kDense;
  compress::CompressorOptions compressor;  // kSparse
  compress::GdSecOptions gdsec;            // kGdSec
  SecAggSimOptions secagg;

  int rounds = 20;
  double fraction = 1.0;  // share of clients selected per round (at least 1)
  int eval_every = 1;     // evaluate the global model every this many rounds (and the last)
  uint64_t seed = 1;
  int threads = 0;  // 0: std::thread::hardware_concurrency()
};

// InvalidArgument naming the field for impossible values (0 clients, fraction outside (0,1], ...).
Status ValidateSimConfig(const SimConfig& config);

struct RoundRecord {
  int round = 0;
  size_t participants = 0;
  double train_loss = 0.0;  // weighted mean of the clients' local training losses
  bool evaluated = false;
  double test_loss = 0.0;
  double test_accuracy = 0.0;
  uint64_t uplink_bytes = 0;    // client -> server, this round, all clients
  uint64_t downlink_bytes = 0;  // server -> client, this round, all clients
  uint64_t cumulative_uplink_bytes = 0;
  double seconds = 0.0;  // wall time of the round
  // Secure aggregation (zero/false when off).
  uint64_t support_size = 0;  // |S|
  size_t dropped = 0;         // clients the server dropped (offline or refused)
  bool aborted = false;       // too few survivors: no aggregate, the model did not move
};

struct SimResult {
  std::vector<RoundRecord> rounds;
  size_t num_parameters = 0;
  size_t train_samples = 0;
  size_t test_samples = 0;
  double final_accuracy = 0.0;
  double best_accuracy = 0.0;
  uint64_t total_uplink_bytes = 0;
  uint64_t dense_uplink_bytes = 0;  // what fp32 dense updates would have cost
  double seconds = 0.0;
};

class Simulation {
 public:
  // Loads and partitions the data and builds the clients. Errors from loading (NotFound naming
  // the dataset package, corrupt files), partitioning, or an invalid config.
  static StatusOr<std::unique_ptr<Simulation>> Create(const SimConfig& config);

  // Runs all rounds; `on_round` (may be empty) is called after each round, on this thread.
  StatusOr<SimResult> Run(const std::function<void(const RoundRecord&)>& on_round = {});

  size_t num_parameters() const { return params_.size(); }
  const std::vector<float>& params() const { return params_; }
  const SimConfig& config() const { return config_; }
  // Samples held by each client (for the start-up summary).
  std::vector<size_t> ClientSizes() const;

 private:
  Simulation() = default;

  SimConfig config_;
  learn::Dataset test_;
  size_t train_samples_ = 0;
  std::unique_ptr<learn::Model> eval_model_;
  std::vector<std::unique_ptr<core::ModelTrainer>> clients_;
  std::vector<std::unique_ptr<compress::Compressor>> compressors_;     // kSparse, one per client
  std::vector<std::unique_ptr<compress::GdSecClient>> gdsec_clients_;  // kGdSec
  std::unique_ptr<compress::GdSecServer> gdsec_server_;
  std::unique_ptr<core::Strategy> strategy_;
  std::vector<float> params_;
  bool ran_ = false;

  // Secure aggregation: this round's public parameters, the inputs of the participants.
  StatusOr<secagg::RoundConfig> SecAggRoundConfig(int round, const std::vector<size_t>& selected,
                                                  std::span<const float> previous_aggregate) const;
};

// "dense", "sparse", "gdsec".
std::string_view CompressionModeName(CompressionMode mode);

}  // namespace sotto::sim
