#include "sotto/sim/simulation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "parallel.h"
#include "secure_round.h"
#include "sotto/base/clock.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/core/aggregate.h"
#include "sotto/core/compress/sparse_codec.h"
#include "sotto/core/learn/federated_data.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/support.h"

namespace sotto::sim {
namespace {

using internal::ParallelFor;

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
  kStreamSecAgg = 8,     // client keys and seeds, the SecAgg+ graph, shared supports
  kStreamDropout = 9,    // which clients go offline
  kStreamQuantize = 10,  // stochastic rounding of the fixed-point encoding
};

// Bytes of a dense fp32 update message: d values plus a small header (round, id, weight).
constexpr uint64_t kMessageHeaderBytes = 32;
uint64_t DenseUpdateBytes(size_t d) { return 4 * static_cast<uint64_t>(d) + kMessageHeaderBytes; }

// The data: sotto/core/learn/federated_data.h loads and splits it with the run seed (streams
// kStreamSubsample, kStreamPartition and kStreamSynthetic above).
static_assert(kStreamSubsample == learn::kDataStreamSubsample);
static_assert(kStreamPartition == learn::kDataStreamPartition);
static_assert(kStreamSynthetic == learn::kDataStreamSynthetic);

learn::FederatedDataSpec DataSpec(const SimConfig& config) {
  learn::FederatedDataSpec spec;
  spec.dataset = config.dataset;
  spec.directory = config.data_dir;
  spec.max_train_samples = config.max_train_samples;
  spec.num_parts = config.num_clients;
  spec.partition = config.partition;
  spec.dirichlet_alpha = config.dirichlet_alpha;
  spec.shards_per_part = config.shards_per_client;
  spec.seed = config.seed;
  return spec;
}

}  // namespace

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
  if (c.secagg.enabled) {
    const SecAggSimOptions& a = c.secagg;
    if (a.policy == secagg::SupportPolicy::kUnionThreshold) {
      return InvalidArgumentError(
          "secagg-support: union_threshold is not available in the simulator (its counting "
          "round is a dense secure sum over all d coordinates; see docs/SECURITY.md); use "
          "global_topk, shared_random or dense");
    }
    if (c.compression == CompressionMode::kDense && a.policy != secagg::SupportPolicy::kDense) {
      return InvalidArgumentError(
          "secagg-support: dense updates (compress none) go with the dense support; choose a "
          "compressor to use a sparse support");
    }
    if (!(a.density >= 0 && a.density <= 1)) {
      return InvalidArgumentError("secagg-density: must be in [0, 1] (0: the compressor's)");
    }
    if (!(a.explore >= 0 && a.explore < 1)) {
      return InvalidArgumentError("secagg-explore: must be in [0, 1)");
    }
    if (!(a.clip > 0 && a.clip < 0x1p22)) {
      return InvalidArgumentError("secagg-clip: must be in (0, 2^22)");
    }
    if (a.ring_bits != 0 && a.ring_bits != 32 && a.ring_bits != 64) {
      return InvalidArgumentError("secagg-ring: must be 32 or 64 (0: automatic)");
    }
    if (a.degree < -1) {
      return InvalidArgumentError("secagg-degree: must be -1 (recommended), 0 (complete) or even");
    }
    if (!(a.dropout >= 0 && a.dropout < 1)) {
      return InvalidArgumentError("secagg-dropout: must be in [0, 1)");
    }
  }
  return OkStatus();
}

StatusOr<secagg::RoundConfig> Simulation::SecAggRoundConfig(
    int round, const std::vector<size_t>& selected,
    std::span<const float> previous_aggregate) const {
  const SecAggSimOptions& a = config_.secagg;
  const uint64_t n = selected.size();
  const uint64_t d = params_.size();
  const uint64_t secagg_seed = DeriveSeed(DeriveSeed(config_.seed, kStreamSecAgg), round);
  secagg::RoundConfig c;
  c.run_id = config_.seed;
  c.round_id = static_cast<uint64_t>(round);
  for (size_t id : selected) c.client_ids.push_back(id + 1);  // ids start at 1
  uint64_t degree =
      a.degree < 0 ? secagg::RecommendedSecAggPlusDegree(n) : static_cast<uint64_t>(a.degree);
  if (degree + 1 >= n) degree = 0;  // that many neighbours is the complete graph
  c.degree = static_cast<uint32_t>(degree);
  c.graph_seed = DeriveSeed(secagg_seed, 1);
  c.threshold = secagg::MajorityThreshold(static_cast<uint32_t>(degree == 0 ? n : degree + 1));

  // Fixed point. GD-SEC sends integers in units of 2^-kGdSecFracBits (so that h stays exact);
  // FedAvg uses the finest scale at which n clipped inputs cannot wrap.
  const bool gdsec = config_.compression == CompressionMode::kGdSec;
  crypto::Ring ring = crypto::Ring::kRing64;
  if (a.ring_bits == 32) {
    ring = crypto::Ring::kRing32;
  } else if (a.ring_bits == 0) {
    const bool fits32 =
        gdsec ? static_cast<double>(n) * std::ceil(a.clip * 0x1p24) < 0x1p31 : n <= 1024;
    if (fits32) ring = crypto::Ring::kRing32;
  }
  c.fixed_point.ring = ring;
  c.fixed_point.clip = a.clip;
  c.fixed_point.max_clients = n;
  if (gdsec) {
    c.fixed_point.scale = std::ldexp(1.0, compress::kGdSecFracBits);
    c.max_weight = 1;
  } else {
    ASSIGN_OR_RETURN(c.fixed_point.scale, crypto::FinestScale(n, a.clip, ring));
    uint64_t max_weight = 1;
    for (const auto& client : clients_) {
      max_weight = std::max<uint64_t>(max_weight, client->data().num_samples);
    }
    c.max_weight = max_weight;
  }

  // Support.
  c.support_policy = a.policy;
  double density = a.density;
  if (density == 0) {
    density = gdsec ? config_.gdsec.density : config_.compressor.density;
  }
  const uint64_t size = compress::KForDensity(d, density);
  const uint64_t support_seed = DeriveSeed(secagg_seed, 2);
  if (a.policy == secagg::SupportPolicy::kDense) {
    ASSIGN_OR_RETURN(c.support, secagg::Support::Dense(d));
  } else if (a.policy == secagg::SupportPolicy::kGlobalTopK && !previous_aggregate.empty()) {
    const uint64_t explore = static_cast<uint64_t>(std::llround(a.explore * double(size)));
    ASSIGN_OR_RETURN(c.support, secagg::GlobalTopKSupport(previous_aggregate, size - explore,
                                                          explore, support_seed));
  } else {
    // shared_random, and global_topk before there is an aggregate.
    ASSIGN_OR_RETURN(c.support, secagg::SharedRandomSupport(d, size, support_seed));
  }
  RETURN_IF_ERROR(secagg::ValidateRoundConfig(c).WithContext("secure aggregation"));
  return c;
}

StatusOr<std::unique_ptr<Simulation>> Simulation::Create(const SimConfig& config) {
  RETURN_IF_ERROR(ValidateSimConfig(config));
  ASSIGN_OR_RETURN(learn::FederatedData data, learn::LoadFederatedData(DataSpec(config)));
  const learn::Partition& partition = data.partition;

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
    // Secure aggregation.
    bool offline = false;            // goes offline after sharing its keys: does not train
    std::vector<float> values;       // the update on the support
    std::vector<int64_t> q;          // GD-SEC: its integers
    secagg::ClientInput input;       // the ring input
    std::vector<float> saved_error;  // kSparse: e before this round
  };
  std::vector<Slot> slots(per_round);
  for (Slot& slot : slots) slot.update.resize(d);

  std::vector<float> mean(d);
  std::vector<float> previous_params;  // GD-SEC: x^{k-1}
  std::vector<float> movement;         // GD-SEC: x^k - x^{k-1}
  std::vector<int64_t> sum_q;          // GD-SEC: the round's sum of sent values, fixed point
  std::vector<float> error_mean;       // error averaging
  // Secure aggregation: the previous round's aggregate (global_topk), the indices of a dense
  // support (error feedback on every coordinate).
  const bool secure = config_.secagg.enabled;
  std::vector<float> previous_aggregate;
  std::vector<uint32_t> all_indices;
  if (secure) {
    all_indices.resize(d);
    std::iota(all_indices.begin(), all_indices.end(), uint32_t{0});
  }
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

    // Secure aggregation: the round's public parameters (support included) and who goes
    // offline.
    std::optional<secagg::RoundConfig> round_config;
    std::span<const uint32_t> support;
    if (secure) {
      ASSIGN_OR_RETURN(round_config, SecAggRoundConfig(round, selected, previous_aggregate));
      support = round_config->support.is_dense() ? std::span<const uint32_t>(all_indices)
                                                 : round_config->support.indices();
      const size_t offline = static_cast<size_t>(
          std::floor(config_.secagg.dropout * static_cast<double>(selected.size())));
      std::vector<size_t> order(selected.size());
      std::iota(order.begin(), order.end(), 0);
      Prng rng(DeriveSeed(DeriveSeed(config_.seed, kStreamDropout), round));
      rng.Shuffle(std::span<size_t>(order));
      for (size_t s = 0; s < selected.size(); ++s) slots[s].offline = false;
      for (size_t j = 0; j < offline; ++j) slots[order[j]].offline = true;
    }

    // A client's secure-aggregation input: error feedback on the support, then the ring
    // encoding; what the encoding clipped or rounded away goes back into the error memory. The
    // state before the round is kept, for a round that does not count this client's input.
    auto encode_secure = [&](Slot& slot, size_t id, uint64_t seed) -> Status {
      const secagg::RoundConfig& rc = *round_config;
      Prng prng(DeriveSeed(seed, kStreamQuantize));
      const double weight = static_cast<double>(slot.output->num_examples);
      switch (config_.compression) {
        case CompressionMode::kDense: {
          ASSIGN_OR_RETURN(slot.input, secagg::EncodeClientInput(rc, slot.update, weight, prng));
          return OkStatus();
        }
        case CompressionMode::kSparse: {
          compress::Compressor& compressor = *compressors_[id];
          slot.saved_error.assign(compressor.error().begin(), compressor.error().end());
          slot.values.resize(support.size());
          RETURN_IF_ERROR(compressor.CompressOnSupport(slot.update, support, slot.values));
          ASSIGN_OR_RETURN(slot.input, secagg::EncodeClientInput(rc, slot.values, weight, prng));
          // The ring carries q / scale * max_weight / w for a value (EncodeClientInput scales by
          // w / max_weight): the residual is the value minus that.
          const int shift = 64 - static_cast<int>(rc.fixed_point.ring);
          const double unit = static_cast<double>(rc.max_weight) /
                              (rc.fixed_point.scale * static_cast<double>(slot.input.weight));
          for (size_t i = 0; i < support.size(); ++i) {
            const int64_t q = static_cast<int64_t>(slot.input.values[i] << shift) >> shift;
            slot.values[i] -= static_cast<float>(static_cast<double>(q) * unit);
          }
          return compressor.AddResidual(support, slot.values);
        }
        case CompressionMode::kGdSec: {
          // Scale by the client's share of the data so that sum/n is the weighted mean.
          const float scale = static_cast<float>(weight * static_cast<double>(n) / total_weight);
          for (float& v : slot.update) v *= scale;
          compress::GdSecClient& client = *gdsec_clients_[id];
          // An earlier round's step is final; a round that does not count this one undoes it.
          client.ClearUndo();
          slot.q.resize(support.size());
          RETURN_IF_ERROR(
              client.EncodeOnSupport(slot.update, support, config_.secagg.clip, slot.q));
          const uint64_t mask = secagg::RingMaxElement(rc.fixed_point.ring);
          slot.input.values.resize(support.size());
          for (size_t i = 0; i < support.size(); ++i) {
            slot.input.values[i] = static_cast<uint64_t>(slot.q[i]) & mask;
          }
          slot.input.weight = 1;
          return OkStatus();
        }
      }
      return InternalError("unknown compression mode");
    };

    // Clients: train, then encode the uplink message. Each client touches only its own state.
    ParallelFor(selected.size(), config_.threads, [&](size_t s) {
      Slot& slot = slots[s];
      const size_t id = selected[s];
      if (secure && slot.offline) {
        slot.output = core::TrainOutput{};
        return;
      }
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
      if (secure) {
        Status encoded = encode_secure(slot, id, context.seed);
        if (!encoded.ok()) slot.output = encoded;
        return;
      }
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

    RoundRecord record;
    record.round = round;
    bool step = true;  // false: the secure round aborted, the model stays where it is
    if (config_.compression == CompressionMode::kGdSec) sum_q.assign(d, 0);
    double loss_sum = 0.0;
    double weight_sum = 0.0;
    if (secure) {
      // Server: run the secure round over the inputs; it learns the sum on the support.
      const secagg::RoundConfig& rc = *round_config;
      const uint64_t secagg_seed = DeriveSeed(DeriveSeed(config_.seed, kStreamSecAgg), round);
      std::map<uint64_t, secagg::ClientInput> inputs;
      std::map<uint64_t, uint64_t> client_seeds;
      std::set<uint64_t> offline;
      for (size_t s = 0; s < selected.size(); ++s) {
        Slot& slot = slots[s];
        const uint64_t secagg_id = selected[s] + 1;
        if (!slot.output.ok()) {
          return slot.output.status().WithContext("round " + std::to_string(round) + ", client " +
                                                  std::to_string(selected[s]));
        }
        client_seeds[secagg_id] = DeriveSeed(secagg_seed, 16 + selected[s]);
        if (slot.offline) {
          offline.insert(secagg_id);
        } else {
          inputs[secagg_id] = std::move(slot.input);
        }
      }
      ASSIGN_OR_RETURN(
          internal::SecureRoundResult secure_result,
          internal::RunSecureRound(rc, std::move(inputs), client_seeds, offline, config_.threads));
      record.support_size = support.size();
      record.dropped = secure_result.dropped;
      record.uplink_bytes = secure_result.uplink_bytes;
      // Down: the model, the protocol's requests, and the support (a seed, or its indices).
      uint64_t support_bytes = 0;
      if (config_.secagg.policy == secagg::SupportPolicy::kSharedRandom ||
          (config_.secagg.policy == secagg::SupportPolicy::kGlobalTopK &&
           previous_aggregate.empty())) {
        support_bytes = 8;
      } else if (config_.secagg.policy == secagg::SupportPolicy::kGlobalTopK) {
        ASSIGN_OR_RETURN(compress::SparseBits bits, compress::MeasureSparse(d, support));
        support_bytes = (bits.header_bits + bits.index_bits + 7) / 8;
      }
      record.downlink_bytes =
          secure_result.downlink_bytes + selected.size() * (DenseUpdateBytes(d) + support_bytes);

      // Clients whose input is not in the sum roll their compression state back.
      std::set<uint64_t> contributors;
      if (secure_result.aggregate.has_value()) {
        contributors.insert(secure_result.aggregate->contributors.begin(),
                            secure_result.aggregate->contributors.end());
      }
      for (size_t s = 0; s < selected.size(); ++s) {
        Slot& slot = slots[s];
        const size_t id = selected[s];
        if (slot.offline) continue;
        if (contributors.count(id + 1) == 0) {
          if (config_.compression == CompressionMode::kSparse) {
            RETURN_IF_ERROR(compressors_[id]->SetError(slot.saved_error));
          } else if (config_.compression == CompressionMode::kGdSec) {
            RETURN_IF_ERROR(gdsec_clients_[id]->Undo());
          }
          continue;
        }
        const double weight = static_cast<double>(slot.output->num_examples);
        loss_sum += weight * slot.output->train_loss;
        weight_sum += weight;
        ++record.participants;
      }
      if (!secure_result.aggregate.has_value()) {
        record.aborted = true;
        step = false;
      } else if (config_.compression == CompressionMode::kGdSec) {
        const std::vector<int64_t> sums = secagg::SignedSums(rc, *secure_result.aggregate);
        previous_aggregate.assign(d, 0.0f);
        for (size_t i = 0; i < support.size(); ++i) {
          sum_q[support[i]] = sums[i];
          previous_aggregate[support[i]] = static_cast<float>(
              std::ldexp(static_cast<double>(sums[i]), -compress::kGdSecFracBits));
        }
      } else {
        ASSIGN_OR_RETURN(std::vector<double> mean_on_support,
                         secagg::DecodeWeightedMean(rc, *secure_result.aggregate));
        std::fill(mean.begin(), mean.end(), 0.0f);
        for (size_t i = 0; i < support.size(); ++i) {
          mean[support[i]] = static_cast<float>(mean_on_support[i]);
        }
        previous_aggregate = mean;
      }
    } else {
      // Server: decode and validate every message, aggregate.
      aggregator.Reset();
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
      record.downlink_bytes = record.participants * DenseUpdateBytes(d);
      if (config_.compression != CompressionMode::kGdSec) {
        RETURN_IF_ERROR(aggregator.Mean(mean));
      }
    }
    record.train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;

    if (step) {
      if (config_.compression == CompressionMode::kGdSec) {
        // g = h + sum (a sum over all clients); the mean estimate is g / n.
        RETURN_IF_ERROR(gdsec_server_->Step(sum_q, mean));
        const float inv_n = 1.0f / static_cast<float>(n);
        for (float& g : mean) g *= inv_n;
        previous_params = params_;
      }
      RETURN_IF_ERROR(
          strategy_->Apply(params_, mean).WithContext("round " + std::to_string(round)));
      if (config_.compression == CompressionMode::kGdSec) {
        movement.resize(d);
        for (size_t i = 0; i < d; ++i) movement[i] = params_[i] - previous_params[i];
      }
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
