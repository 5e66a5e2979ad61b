#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "commands.h"
#include "flags.h"
#include "sotto/base/status_macros.h"
#include "sotto/secagg/support.h"
#include "sotto/sim/report.h"
#include "sotto/sim/simulation.h"

namespace sotto::cli {
namespace {

// mkdir -p
Status MakeDirs(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("--out: empty directory name");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return UnavailableError("cannot create directory " + partial + ": " + std::strerror(errno));
    }
  }
  return OkStatus();
}

struct SimFlags {
  sim::SimConfig config;
  std::string partition = "dirichlet";
  std::string model = "mlp";
  std::string strategy = "fedavg";
  std::string compress = "topk";
  std::string ef = "ef";
  std::string values = "fp32";
  std::string gdsec_rule = "topk";
  std::string secagg_support = "global_topk";
  std::string out = "results/latest";
  bool quiet = false;
};

StatusOr<compress::ValueCoding> ParseValueCoding(std::string_view name) {
  if (name == "fp32") return compress::ValueCoding::kFp32;
  if (name == "fp16") return compress::ValueCoding::kFp16;
  if (name == "bf16") return compress::ValueCoding::kBf16;
  return InvalidArgumentError("--values: unknown value coding '" + std::string(name) +
                              "' (expected fp32, fp16 or bf16)");
}

StatusOr<secagg::SupportPolicy> ParseSupportPolicy(std::string_view name) {
  for (secagg::SupportPolicy p :
       {secagg::SupportPolicy::kDense, secagg::SupportPolicy::kSharedRandom,
        secagg::SupportPolicy::kGlobalTopK, secagg::SupportPolicy::kUnionThreshold}) {
    if (name == secagg::SupportPolicyName(p)) return p;
  }
  return InvalidArgumentError("--secagg-support: unknown policy '" + std::string(name) +
                              "' (expected global_topk, shared_random or dense)");
}

Status ApplyCompressionFlags(const SimFlags& f, sim::SimConfig* config) {
  ASSIGN_OR_RETURN(config->secagg.policy, ParseSupportPolicy(f.secagg_support));
  ASSIGN_OR_RETURN(compress::ValueCoding values, ParseValueCoding(f.values));
  if (f.compress == "dense") {
    config->compression = sim::CompressionMode::kDense;
    // Dense updates can only be summed over the dense support.
    config->secagg.policy = secagg::SupportPolicy::kDense;
    return OkStatus();
  }
  if (f.compress == "gdsec") {
    config->compression = sim::CompressionMode::kGdSec;
    config->gdsec.value_coding = values;
    config->gdsec.density = config->compressor.density;
    if (f.gdsec_rule == "topk") {
      config->gdsec.rule = compress::GdSecRule::kTopK;
    } else if (f.gdsec_rule == "threshold") {
      config->gdsec.rule = compress::GdSecRule::kThreshold;
    } else {
      return InvalidArgumentError("--gdsec-rule: expected topk or threshold, got '" + f.gdsec_rule +
                                  "'");
    }
    return OkStatus();
  }
  config->compression = sim::CompressionMode::kSparse;
  StatusOr<compress::SparsifierKind> kind = compress::ParseSparsifierKind(f.compress);
  if (!kind.ok()) return kind.status().WithContext("--compress");
  config->compressor.sparsifier = *kind;
  StatusOr<compress::ErrorFeedback> ef = compress::ParseErrorFeedback(f.ef);
  if (!ef.ok()) return ef.status().WithContext("--ef");
  config->compressor.error_feedback = *ef;
  config->compressor.value_coding = values;
  return OkStatus();
}

std::string UplinkDescription(const SimFlags& f, const sim::SimConfig& c) {
  char buf[160];
  switch (c.compression) {
    case sim::CompressionMode::kDense:
      return "dense fp32";
    case sim::CompressionMode::kSparse:
      if (c.secagg.enabled) {
        // The secure support replaces the sparsifier; values go into the ring.
        std::snprintf(buf, sizeof(buf), "sparse on the secure support, error feedback %s",
                      f.ef.c_str());
        return buf;
      }
      std::snprintf(buf, sizeof(buf), "%s density %g, error feedback %s, %s values",
                    f.compress.c_str(), c.compressor.density, f.ef.c_str(), f.values.c_str());
      return buf;
    case sim::CompressionMode::kGdSec:
      if (c.secagg.enabled) {
        std::snprintf(buf, sizeof(buf), "GD-SEC (beta %g) on the secure support", c.gdsec.beta);
        return buf;
      }
      std::snprintf(buf, sizeof(buf), "GD-SEC (%s rule, beta %g, %s), %s values",
                    f.gdsec_rule.c_str(), c.gdsec.beta,
                    c.gdsec.rule == compress::GdSecRule::kTopK
                        ? ("density " + std::to_string(c.gdsec.density)).c_str()
                        : ("xi " + std::to_string(c.gdsec.xi)).c_str(),
                    f.values.c_str());
      return buf;
  }
  return "";
}

std::string SecAggDescription(const sim::SimConfig& c) {
  if (!c.secagg.enabled) return "off (the server sees every client's update)";
  std::string d = std::string(secagg::SupportPolicyName(c.secagg.policy)) + " support";
  const double density = c.secagg.density > 0                            ? c.secagg.density
                         : c.compression == sim::CompressionMode::kGdSec ? c.gdsec.density
                                                                         : c.compressor.density;
  if (c.secagg.policy != secagg::SupportPolicy::kDense) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), " of density %g", density);
    d += buf;
  }
  if (c.secagg.degree == 0) {
    d += ", complete graph (SecAgg)";
  } else if (c.secagg.degree < 0) {
    d += ", SecAgg+ neighbourhoods of O(log n)";
  } else {
    d += ", SecAgg+ degree " + std::to_string(c.secagg.degree);
  }
  char buf[96];
  std::snprintf(buf, sizeof(buf), ", values clipped to +-%g", c.secagg.clip);
  d += buf;
  if (c.secagg.dropout > 0) {
    std::snprintf(buf, sizeof(buf), ", %g of the clients go offline each round", c.secagg.dropout);
    d += buf;
  }
  return d;
}

Status Run(const SimFlags& f) {
  sim::SimConfig config = f.config;
  ASSIGN_OR_RETURN(config.partition, sim::ParsePartitionKind(f.partition));
  ASSIGN_OR_RETURN(config.model.kind, learn::ParseModelKind(f.model));
  ASSIGN_OR_RETURN(config.strategy.kind, core::ParseStrategyKind(f.strategy));
  RETURN_IF_ERROR(ApplyCompressionFlags(f, &config));
  RETURN_IF_ERROR(sim::ValidateSimConfig(config));
  RETURN_IF_ERROR(MakeDirs(f.out));

  std::printf("sotto sim: loading %s and partitioning over %zu clients (%s)...\n",
              config.dataset.c_str(), config.num_clients, f.partition.c_str());
  std::fflush(stdout);
  ASSIGN_OR_RETURN(std::unique_ptr<sim::Simulation> simulation, sim::Simulation::Create(config));
  const sim::SimConfig& c = simulation->config();
  std::vector<size_t> sizes = simulation->ClientSizes();
  size_t smallest = sizes.empty() ? 0 : *std::min_element(sizes.begin(), sizes.end());
  size_t largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  std::printf(
      "model %s (%zu parameters), strategy %s, %d rounds, %d threads, uplink %s\n"
      "secure aggregation: %s\n"
      "client data: %zu .. %zu samples; local SGD lr %g momentum %g batch %zu epochs %g\n\n",
      f.model.c_str(), simulation->num_parameters(), f.strategy.c_str(), c.rounds, c.threads,
      UplinkDescription(f, c).c_str(), SecAggDescription(c).c_str(), smallest, largest,
      c.local.learning_rate, c.local.momentum, c.local.batch_size, c.local.epochs);
  std::fflush(stdout);

  ASSIGN_OR_RETURN(sim::SimResult result, simulation->Run([&](const sim::RoundRecord& r) {
    if (!f.quiet) {
      std::printf("%s\n", sim::FormatRoundLine(r, c.rounds).c_str());
      std::fflush(stdout);
    }
  }));

  std::printf("%s", sim::FormatResultTable(c, result).c_str());
  const std::string csv = f.out + "/rounds.csv";
  const std::string svg = f.out + "/accuracy.svg";
  const std::string json = f.out + "/summary.json";
  RETURN_IF_ERROR(sim::WriteRoundsCsv(csv, result.rounds));
  RETURN_IF_ERROR(sim::WriteRunPlot(
      svg, "sotto sim: " + c.dataset + ", " + std::to_string(c.num_clients) + " clients", result));
  RETURN_IF_ERROR(sim::WriteSummaryJson(json, c, result));
  std::printf("\n%s", sim::FormatAsciiChart(result).c_str());
  std::printf("\nwrote %s, %s, %s\n", csv.c_str(), svg.c_str(), json.c_str());
  return OkStatus();
}

}  // namespace

int RunSimCommand(const std::vector<std::string>& args) {
  SimFlags f;
  sim::SimConfig& c = f.config;
  // Defaults of the main job: top-k 1% with error feedback; GD-SEC's beta for federated
  // pseudo-gradients (one local epoch each round), where a small beta is stable (docs/RESULTS.md).
  c.compression = sim::CompressionMode::kSparse;
  c.compressor.density = 0.01;
  c.gdsec.beta = 0.1;
  // Secure aggregation on by default, on a global top-k support of 10 % (sparser common supports
  // cost accuracy: docs/RESULTS.md).
  c.secagg.enabled = true;
  c.secagg.density = 0.1;
  FlagSet flags("sotto sim",
                "Run a simulated federation in one process: N clients train locally on their\n"
                "share of the data, the server aggregates and steps the global model, and the\n"
                "test accuracy is reported every round. Writes rounds.csv, accuracy.svg and\n"
                "summary.json to --out.");
  flags.Add("dataset", &c.dataset, "fashion-mnist or synthetic");
  flags.Add("data-dir", &c.data_dir, "directory of the Fashion-MNIST IDX files");
  flags.Add("max-train-samples", &c.max_train_samples,
            "use only this many training samples (0: all)");
  flags.Add("clients", &c.num_clients, "number of clients");
  flags.Add("rounds", &c.rounds, "number of rounds");
  flags.Add("fraction", &c.fraction, "share of clients selected each round");
  flags.Add("partition", &f.partition, "iid, dirichlet or shards");
  flags.Add("alpha", &c.dirichlet_alpha, "Dirichlet concentration (smaller: more label skew)");
  flags.Add("shards", &c.shards_per_client, "shards per client (partition=shards)");
  flags.Add("model", &f.model, "linear, logistic, softmax or mlp");
  flags.Add("hidden", &c.model.hidden, "MLP hidden layer widths, comma-separated");
  flags.Add("l2", &c.model.l2, "L2 regularisation of the model's weights");
  flags.Add("lr", &c.local.learning_rate, "local SGD learning rate");
  flags.Add("momentum", &c.local.momentum, "local SGD momentum");
  flags.Add("weight-decay", &c.local.weight_decay, "local SGD weight decay");
  flags.Add("batch", &c.local.batch_size, "local mini-batch size");
  flags.Add("epochs", &c.local.epochs, "local epochs per round (may be fractional)");
  flags.Add("strategy", &f.strategy, "fedavg, fedsgd, fedadam or fedyogi");
  flags.Add("server-lr", &c.strategy.server_lr, "server learning rate");
  flags.Add("compress", &f.compress,
            "uplink encoding: dense, topk, gaussiank, threshold, randomk, identity or gdsec");
  flags.Add("density", &c.compressor.density,
            "kept share of coordinates (topk, gaussiank, "
            "randomk, gdsec with --gdsec-rule topk)");
  flags.Add("threshold", &c.compressor.threshold, "magnitude threshold (--compress threshold)");
  flags.Add("ef", &f.ef, "error feedback: none, ef or stepahead");
  flags.Add("ef-average-every", &c.compressor.averaging_period,
            "replace the clients' errors by their mean every N rounds (0: never)");
  flags.Add("values", &f.values, "value coding on the wire: fp32, fp16 or bf16");
  flags.Add("gdsec-rule", &f.gdsec_rule, "GD-SEC selection: topk or threshold");
  flags.Add("gdsec-beta", &c.gdsec.beta, "GD-SEC state coefficient beta in (0, 1]");
  flags.Add("gdsec-xi", &c.gdsec.xi, "GD-SEC threshold constant xi");
  flags.Add("secagg", &c.secagg.enabled,
            "secure aggregation: the server learns only the sum (--no-secagg: plaintext)");
  flags.Add("secagg-support", &f.secagg_support,
            "support policy: global_topk, shared_random or dense (docs/SECURITY.md)");
  flags.Add("secagg-density", &c.secagg.density, "support size / d (0: the --density)");
  flags.Add("secagg-explore", &c.secagg.explore,
            "global_topk: share of the support drawn at random each round");
  flags.Add("secagg-clip", &c.secagg.clip, "fixed point: clip values to [-clip, clip]");
  flags.Add("secagg-ring", &c.secagg.ring_bits, "ring bits, 32 or 64 (0: automatic)");
  flags.Add("secagg-degree", &c.secagg.degree,
            "SecAgg+ neighbours (even; 0: complete graph; -1: recommended O(log n))");
  flags.Add("secagg-dropout", &c.secagg.dropout,
            "share of clients that go offline mid-round, every round");
  flags.Add("eval-every", &c.eval_every, "evaluate the global model every N rounds");
  flags.Add("seed", &c.seed, "seed of every random choice in the run");
  flags.Add("threads", &c.threads, "worker threads (0: one per core)");
  flags.Add("out", &f.out, "directory for rounds.csv, accuracy.svg, summary.json");
  flags.Add("quiet", &f.quiet, "no per-round progress lines");
  if (Status s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "sotto sim: %s\n", s.ToString().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (Status s = Run(f); !s.ok()) {
    std::fprintf(stderr, "sotto sim: %s\n", s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sotto::cli
