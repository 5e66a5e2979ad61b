#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "commands.h"
#include "flags.h"
#include "sotto/base/status_macros.h"
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
  std::string out = "results/latest";
  bool quiet = false;
};

Status Run(const SimFlags& f) {
  sim::SimConfig config = f.config;
  ASSIGN_OR_RETURN(config.partition, sim::ParsePartitionKind(f.partition));
  ASSIGN_OR_RETURN(config.model.kind, learn::ParseModelKind(f.model));
  ASSIGN_OR_RETURN(config.strategy.kind, core::ParseStrategyKind(f.strategy));
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
      "model %s (%zu parameters), strategy %s, %d rounds, %d threads\n"
      "client data: %zu .. %zu samples; local SGD lr %g momentum %g batch %zu epochs %g\n\n",
      f.model.c_str(), simulation->num_parameters(), f.strategy.c_str(), c.rounds, c.threads,
      smallest, largest, c.local.learning_rate, c.local.momentum, c.local.batch_size,
      c.local.epochs);
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
