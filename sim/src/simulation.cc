#include "sotto/sim/simulation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "sotto/base/clock.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/core/aggregate.h"
#include "sotto/core/compress/sparse_codec.h"
#include "sotto/core/learn/idx.h"
#include "sotto/core/learn/partition.h"
#include "sotto/core/learn/synthetic.h"

namespace sotto::sim {
namespace {

// Seed streams: every random choice draws from its own stream of the run seed, so adding a
// feature that uses randomness elsewhere does not shift the others.
enum SeedStream : uint64_t {
  kStreamSubsample = 1,
  kStreamPartition = 2,
  kStreamInit = 3,
  kStreamSelection = 4,
  kStreamClient = 5,
  kStreamSynthetic = 6,
  kStreamSupport = 7,
};

// Bytes of a dense fp32 update message: d values plus a small header (round, id, weight).
constexpr uint64_t kMessageHeaderBytes = 32;
uint64_t DenseUpdateBytes(size_t d) { return 4 * static_cast<uint64_t>(d) + kMessageHeaderBytes; }

struct TrainTestData {
  learn::Dataset train;
  learn::Dataset test;
};

StatusOr<TrainTestData> LoadData(const SimConfig& config) {
  if (config.dataset == "fashion-mnist") {
    ASSIGN_OR_RETURN(learn::TrainTest tt, learn::LoadFashionMnist(config.data_dir));
    return TrainTestData{std::move(tt.train), std::move(tt.test)};
  }
  if (config.dataset == "synthetic") {
    // A logistic-regression problem: 20 features, 4000 train + 1000 test samples.
    ASSIGN_OR_RETURN(
        learn::SyntheticProblem p,
        learn::MakeLogisticRegression(5000, 20, 1e-3, DeriveSeed(config.seed, kStreamSynthetic)));
    std::vector<size_t> train_rows(4000), test_rows(1000);
    std::iota(train_rows.begin(), train_rows.end(), 0);
    std::iota(test_rows.begin(), test_rows.end(), 4000);
    return TrainTestData{p.data.Subset(train_rows), p.data.Subset(test_rows)};
  }
  return InvalidArgumentError("dataset: unknown dataset '" + config.dataset +
                              "' (expected fashion-mnist or synthetic)");
}

StatusOr<learn::Partition> MakePartition(const SimConfig& config, const learn::Dataset& train) {
  const uint64_t seed = DeriveSeed(config.seed, kStreamPartition);
  switch (config.partition) {
    case PartitionKind::kIid:
      return learn::PartitionIid(train.num_samples, config.num_clients, seed);
    case PartitionKind::kDirichlet:
      return learn::PartitionDirichlet(train.labels, train.num_classes, config.num_clients,
                                       config.dirichlet_alpha, seed);
    case PartitionKind::kShards:
      return learn::PartitionShards(train.labels, config.num_clients, config.shards_per_client,
                                    seed);
  }
  return InvalidArgumentError("partition: unknown kind");
}

// Runs fn(i) for i in [0, n) on up to `threads` threads.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  const size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace

std::string_view PartitionKindName(PartitionKind kind) {
  switch (kind) {
    case PartitionKind::kIid:
      return "iid";
    case PartitionKind::kDirichlet:
      return "dirichlet";
    case PartitionKind::kShards:
      return "shards";
  }
  return "unknown";
}

StatusOr<PartitionKind> ParsePartitionKind(std::string_view name) {
  if (name == "iid") return PartitionKind::kIid;
  if (name == "dirichlet") return PartitionKind::kDirichlet;
  if (name == "shards") return PartitionKind::kShards;
  return InvalidArgumentError("partition: unknown partition '" + std::string(name) +
                              "' (expected iid, dirichlet or shards)");
}

std::string_view CompressionModeName(CompressionMode mode) {
  switch (mode) {
    case CompressionMode::kDense:
      return "dense";
    case CompressionMode::kSparse:
      return "sparse";
    case CompressionMode::kGdSec:
      return "gdsec";
  }
  return "unknown";
}

Status ValidateSimConfig(const SimConfig& c) {
  if (c.num_clients == 0) return InvalidArgumentError("clients: must be at least 1");
  if (c.rounds <= 0) return InvalidArgumentError("rounds: must be at least 1");
  if (!(c.fraction > 0 && c.fraction <= 1)) {
    return InvalidArgumentError("fraction: must be in (0, 1]");
  }
  if (c.eval_every <= 0) return InvalidArgumentError("eval_every: must be at least 1");
  if (c.threads < 0) return InvalidArgumentError("threads: must be >= 0");
  if (c.partition == PartitionKind::kDirichlet &&
      !(c.dirichlet_alpha > 0 && std::isfinite(c.dirichlet_alpha))) {
    return InvalidArgumentError("alpha: the Dirichlet concentration must be > 0");
  }
  if (c.partition == PartitionKind::kShards && c.shards_per_client == 0) {
    return InvalidArgumentError("shards: must be at least 1 per client");
  }
  RETURN_IF_ERROR(learn::ValidateSgdOptions(c.local));
  if (c.compression == CompressionMode::kSparse) {
    RETURN_IF_ERROR(compress::ValidateCompressorOptions(c.compressor));
  }
  if (c.compression == CompressionMode::kGdSec) {
    RETURN_IF_ERROR(compress::ValidateGdSecOptions(c.gdsec));
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Simulation>> Simulation::Create(const SimConfig& config) {
  RETURN_IF_ERROR(ValidateSimConfig(config));
  ASSIGN_OR_RETURN(TrainTestData data, LoadData(config));

  if (config.max_train_samples > 0 && config.max_train_samples < data.train.num_samples) {
    std::vector<size_t> rows(data.train.num_samples);
    std::iota(rows.begin(), rows.end(), 0);
    Prng rng(DeriveSeed(config.seed, kStreamSubsample));
    rng.Shuffle(std::span<size_t>(rows));
    rows.resize(config.max_train_samples);
    std::sort(rows.begin(), rows.end());
    data.train = data.train.Subset(rows);
  }
  ASSIGN_OR_RETURN(learn::Partition partition, MakePartition(config, data.train));

  auto sim = std::unique_ptr<Simulation>(new Simulation());  // private constructor
  sim->config_ = config;
  sim->config_.model.input_dim = data.train.dim;
  sim->config_.model.num_classes = data.train.num_classes;
  if (sim->config_.model.kind != learn::ModelKind::kMlp) sim->config_.model.hidden.clear();
  if (sim->config_.threads == 0) {
    sim->config_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  ASSIGN_OR_RETURN(sim->eval_model_, learn::MakeModel(sim->config_.model));
  RETURN_IF_ERROR(sim->eval_model_->CheckCompatible(data.test).WithContext("test set"));
  sim->params_.resize(sim->eval_model_->NumParameters());
  sim->eval_model_->Initialize(DeriveSeed(config.seed, kStreamInit), sim->params_);
  ASSIGN_OR_RETURN(sim->strategy_, core::MakeStrategy(config.strategy));

  sim->train_samples_ = data.train.num_samples;
  sim->clients_.reserve(partition.size());
  for (size_t c = 0; c < partition.size(); ++c) {
    ASSIGN_OR_RETURN(std::unique_ptr<core::ModelTrainer> trainer,
                     core::ModelTrainer::Create(sim->eval_model_->Clone(),
                                                data.train.Subset(partition[c]), config.local));
    sim->clients_.push_back(std::move(trainer));
  }
  const size_t d = sim->params_.size();
  for (size_t c = 0; c < sim->clients_.size(); ++c) {
    if (config.compression == CompressionMode::kSparse) {
      compress::CompressorOptions options = config.compressor;
      options.support_seed = DeriveSeed(config.seed, kStreamSupport);
      options.threads = 1;  // the simulator parallelises across clients
      ASSIGN_OR_RETURN(std::unique_ptr<compress::Compressor> compressor,
                       compress::Compressor::Create(options, d));
      sim->compressors_.push_back(std::move(compressor));
    } else if (config.compression == CompressionMode::kGdSec) {
      ASSIGN_OR_RETURN(std::unique_ptr<compress::GdSecClient> client,
                       compress::GdSecClient::Create(config.gdsec, d));
      sim->gdsec_clients_.push_back(std::move(client));
    }
  }
  if (config.compression == CompressionMode::kGdSec) {
    sim->gdsec_server_ = std::make_unique<compress::GdSecServer>(config.gdsec, d);
  }
  sim->test_ = std::move(data.test);
  return sim;
}

std::vector<size_t> Simulation::ClientSizes() const {
  std::vector<size_t> sizes;
  for (const auto& c : clients_) sizes.push_back(c->data().num_samples);
  return sizes;
}

StatusOr<SimResult> Simulation::Run(const std::function<void(const RoundRecord&)>& on_round) {
  if (ran_) return FailedPreconditionError("Simulation::Run may be called once");
  ran_ = true;

  Clock* clock = Clock::Real();
  const Clock::TimePoint run_start = clock->Now();
  const size_t d = params_.size();
  const size_t n = clients_.size();
  const size_t per_round = std::max<size_t>(
      1, static_cast<size_t>(std::llround(config_.fraction * static_cast<double>(n))));
  const compress::DecodeLimits limits{d, d};

  // Per-slot buffers, reused every round: the client's update, its uplink message.
  struct Slot {
    std::vector<float> start;   // where the client starts training (step-ahead EF)
    std::vector<float> update;  // pseudo-gradient
    compress::SparseUpdate sparse;
    std::vector<uint8_t> message;
    StatusOr<core::TrainOutput> output = core::TrainOutput{};
  };
  std::vector<Slot> slots(per_round);
  for (Slot& slot : slots) slot.update.resize(d);

  std::vector<float> mean(d);
  std::vector<float> previous_params;  // GD-SEC: x^{k-1}
  std::vector<float> movement;         // GD-SEC: x^k - x^{k-1}
  std::vector<int64_t> sum_q;          // GD-SEC: the round's sum of sent values, fixed point
  std::vector<float> error_mean;       // error averaging
  compress::SparseUpdate decoded;
  core::WeightedMeanAggregator aggregator(d);
  double total_weight = 0.0;
  for (const auto& c : clients_) total_weight += static_cast<double>(c->data().num_samples);

  SimResult result;
  result.num_parameters = d;
  result.train_samples = train_samples_;
  result.test_samples = test_.num_samples;

  for (int round = 1; round <= config_.rounds; ++round) {
    const Clock::TimePoint round_start = clock->Now();

    std::vector<size_t> selected(n);
    std::iota(selected.begin(), selected.end(), 0);
    if (per_round < n) {
      Prng rng(DeriveSeed(DeriveSeed(config_.seed, kStreamSelection), round));
      rng.Shuffle(std::span<size_t>(selected));
      selected.resize(per_round);
      std::sort(selected.begin(), selected.end());
    }

    // Clients: train, then encode the uplink message. Each client touches only its own state.
    ParallelFor(selected.size(), config_.threads, [&](size_t s) {
      Slot& slot = slots[s];
      const size_t id = selected[s];
      core::RoundContext context;
      context.round = static_cast<uint64_t>(round);
      context.seed = DeriveSeed(DeriveSeed(config_.seed, kStreamClient + 16 * id), round);
      std::span<const float> start = params_;
      if (config_.compression == CompressionMode::kSparse &&
          config_.compressor.error_feedback == compress::ErrorFeedback::kStepAhead) {
        slot.start.resize(d);
        compressors_[id]->StepAheadPoint(params_, static_cast<float>(config_.strategy.server_lr),
                                         slot.start);
        start = slot.start;
      }
      slot.output = clients_[id]->Train(start, context, slot.update);
      if (!slot.output.ok()) return;
      Status encoded;
      switch (config_.compression) {
        case CompressionMode::kDense:
          slot.message.clear();
          return;
        case CompressionMode::kSparse:
          encoded = compressors_[id]->Compress(slot.update, context.round, &slot.sparse);
          break;
        case CompressionMode::kGdSec: {
          // Scale by the client's share of the data so that sum/n is the weighted mean.
          const float scale = static_cast<float>(static_cast<double>(slot.output->num_examples) *
                                                 static_cast<double>(n) / total_weight);
          for (float& v : slot.update) v *= scale;
          encoded = gdsec_clients_[id]->Encode(slot.update, movement, &slot.sparse);
          break;
        }
      }
      if (encoded.ok()) {
        compress::EncodeOptions options;
        options.value_coding = slot.sparse.format.value_coding;
        encoded = compress::EncodeSparseTo(d, slot.sparse.indices, slot.sparse.values, options,
                                           &slot.message);
      }
      if (!encoded.ok()) slot.output = encoded;
    });

    // Server: decode and validate every message, aggregate, step.
    RoundRecord record;
    record.round = round;
    aggregator.Reset();
    if (config_.compression == CompressionMode::kGdSec) sum_q.assign(d, 0);
    double loss_sum = 0.0;
    double weight_sum = 0.0;
    for (size_t s = 0; s < selected.size(); ++s) {
      Slot& slot = slots[s];
      const std::string who =
          "round " + std::to_string(round) + ", client " + std::to_string(selected[s]);
      if (!slot.output.ok()) return slot.output.status().WithContext(who);
      const core::TrainOutput& out = *slot.output;
      const double weight = static_cast<double>(out.num_examples);
      if (config_.compression == CompressionMode::kDense) {
        RETURN_IF_ERROR(aggregator.Add(slot.update, weight).WithContext(who));
        record.uplink_bytes += DenseUpdateBytes(d);
      } else {
        RETURN_IF_ERROR(
            compress::DecodeSparseInto(slot.message, limits, &decoded).WithContext(who));
        if (config_.compression == CompressionMode::kSparse) {
          RETURN_IF_ERROR(
              aggregator.AddSparse(decoded.indices, decoded.values, weight).WithContext(who));
        } else {
          RETURN_IF_ERROR(compress::GdSecServer::AddSent(decoded, sum_q).WithContext(who));
        }
        record.uplink_bytes += slot.message.size() + kMessageHeaderBytes;
      }
      loss_sum += weight * out.train_loss;
      weight_sum += weight;
      ++record.participants;
    }
    record.train_loss = loss_sum / weight_sum;
    record.downlink_bytes = record.participants * DenseUpdateBytes(d);

    if (config_.compression == CompressionMode::kGdSec) {
      // g = h + sum (a sum over all clients); the mean estimate is g / n.
      RETURN_IF_ERROR(gdsec_server_->Step(sum_q, mean));
      const float inv_n = 1.0f / static_cast<float>(n);
      for (float& g : mean) g *= inv_n;
      previous_params = params_;
    } else {
      RETURN_IF_ERROR(aggregator.Mean(mean));
    }
    RETURN_IF_ERROR(strategy_->Apply(params_, mean).WithContext("round " + std::to_string(round)));
    if (config_.compression == CompressionMode::kGdSec) {
      movement.resize(d);
      for (size_t i = 0; i < d; ++i) movement[i] = params_[i] - previous_params[i];
    }

    // Error averaging: the participants' errors are replaced by their mean. (In a deployment
    // the mean comes from secure aggregation; here it is computed in the clear.)
    if (config_.compression == CompressionMode::kSparse &&
        compressors_[selected[0]]->ShouldAverageError(static_cast<uint64_t>(round))) {
      error_mean.assign(d, 0.0f);
      for (size_t id : selected) {
        std::span<const float> e = compressors_[id]->error();
        for (size_t i = 0; i < d; ++i) error_mean[i] += e[i];
      }
      const float inv = 1.0f / static_cast<float>(selected.size());
      for (float& v : error_mean) v *= inv;
      for (size_t id : selected) RETURN_IF_ERROR(compressors_[id]->SetError(error_mean));
    }

    if (round % config_.eval_every == 0 || round == config_.rounds) {
      learn::EvalResult eval = learn::EvaluateDataset(*eval_model_, params_, test_);
      record.evaluated = true;
      record.test_loss = eval.loss;
      record.test_accuracy = eval.accuracy;
      result.final_accuracy = eval.accuracy;
      result.best_accuracy = std::max(result.best_accuracy, eval.accuracy);
    }
    result.total_uplink_bytes += record.uplink_bytes;
    result.dense_uplink_bytes += record.participants * DenseUpdateBytes(d);
    record.cumulative_uplink_bytes = result.total_uplink_bytes;
    record.seconds = SecondsBetween(round_start, clock->Now());
    result.rounds.push_back(record);
    if (on_round) on_round(record);
  }
  result.seconds = SecondsBetween(run_start, clock->Now());
  return result;
}

}  // namespace sotto::sim
