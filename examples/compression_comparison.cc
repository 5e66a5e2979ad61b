// Compression comparison on Fashion-MNIST: the same federation (10 clients, Dirichlet(0.5),
// MLP 784-128-10, 20 rounds of one local epoch) with a dense fp32 uplink, top-k 1% with error
// feedback, and GD-SEC at 1% — plus, for context, top-k without error feedback, random-k with
// error feedback, Gaussian-k and fp16 values. Prints accuracy and uplink bits of each, writes a
// CSV and an SVG plot (accuracy against uplink megabytes), and exits non-zero when top-k + EF or
// GD-SEC ends more than 2 points of accuracy below dense FedAvg.
//
//   build/release/examples/compression_comparison [--rounds 20] [--out results/compression]
//                                                 [--quick]   (only dense, top-k+EF, GD-SEC)

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sotto/sim/report.h"
#include "sotto/sim/simulation.h"

namespace {

using sotto::sim::CompressionMode;
using sotto::sim::SimConfig;
using sotto::sim::SimResult;

struct Run {
  std::string name;
  SimConfig config;
  bool gated = false;  // must stay within 2 points of dense
  SimResult result;
};

SimConfig Base(int rounds) {
  SimConfig c;
  c.rounds = rounds;
  c.compression = CompressionMode::kDense;
  return c;
}

SimConfig Sparse(int rounds, sotto::compress::SparsifierKind kind, double density,
                 sotto::compress::ErrorFeedback ef,
                 sotto::compress::ValueCoding values = sotto::compress::ValueCoding::kFp32) {
  SimConfig c = Base(rounds);
  c.compression = CompressionMode::kSparse;
  c.compressor.sparsifier = kind;
  c.compressor.density = density;
  c.compressor.error_feedback = ef;
  c.compressor.value_coding = values;
  return c;
}

SimConfig GdSec(int rounds, double density, double beta) {
  SimConfig c = Base(rounds);
  c.compression = CompressionMode::kGdSec;
  c.gdsec.rule = sotto::compress::GdSecRule::kTopK;
  c.gdsec.density = density;
  c.gdsec.beta = beta;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  std::string out = "results/compression";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (arg == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--out DIR] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (rounds < 1) {
    std::fprintf(stderr, "--rounds must be at least 1\n");
    return 2;
  }
  using sotto::compress::ErrorFeedback;
  using sotto::compress::SparsifierKind;
  using sotto::compress::ValueCoding;
  std::vector<Run> runs;
  runs.push_back({"dense FedAvg (fp32)", Base(rounds), false, {}});
  runs.push_back({"top-k 1% + EF",
                  Sparse(rounds, SparsifierKind::kTopK, 0.01, ErrorFeedback::kClassic),
                  true,
                  {}});
  runs.push_back({"GD-SEC top-k 1%, beta 0.1", GdSec(rounds, 0.01, 0.1), true, {}});
  if (!quick) {
    runs.push_back({"top-k 1%, no EF",
                    Sparse(rounds, SparsifierKind::kTopK, 0.01, ErrorFeedback::kNone),
                    false,
                    {}});
    runs.push_back(
        {"top-k 1% + EF, fp16",
         Sparse(rounds, SparsifierKind::kTopK, 0.01, ErrorFeedback::kClassic, ValueCoding::kFp16),
         false,
         {}});
    runs.push_back({"top-k 1% + step-ahead EF",
                    Sparse(rounds, SparsifierKind::kTopK, 0.01, ErrorFeedback::kStepAhead),
                    false,
                    {}});
    runs.push_back({"Gaussian-k 1% + EF",
                    Sparse(rounds, SparsifierKind::kGaussianK, 0.01, ErrorFeedback::kClassic),
                    false,
                    {}});
    runs.push_back({"random-k 1% + EF",
                    Sparse(rounds, SparsifierKind::kRandomK, 0.01, ErrorFeedback::kClassic),
                    false,
                    {}});
    runs.push_back({"random-k 10% + EF",
                    Sparse(rounds, SparsifierKind::kRandomK, 0.10, ErrorFeedback::kClassic),
                    false,
                    {}});
  }

  for (Run& run : runs) {
    std::printf("running %-28s ...", run.name.c_str());
    std::fflush(stdout);
    auto sim = sotto::sim::Simulation::Create(run.config);
    if (!sim.ok()) {
      std::fprintf(stderr, "\n%s\n", sim.status().ToString().c_str());
      return 1;
    }
    auto result = (*sim)->Run();
    if (!result.ok()) {
      std::fprintf(stderr, "\n%s\n", result.status().ToString().c_str());
      return 1;
    }
    run.result = *result;
    std::printf(" accuracy %.4f, uplink %s (%.1fs)\n", run.result.final_accuracy,
                sotto::sim::FormatBytes(static_cast<double>(run.result.total_uplink_bytes)).c_str(),
                run.result.seconds);
  }

  const double dense = runs[0].result.final_accuracy;
  const double dense_bits = 8.0 * static_cast<double>(runs[0].result.total_uplink_bytes);
  std::printf("\n%d rounds, 10 clients, Dirichlet(0.5) Fashion-MNIST, MLP 784-128-10\n\n", rounds);
  std::printf("| uplink encoding | final accuracy | vs dense | uplink bits | bits vs dense |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  bool ok = true;
  for (const Run& run : runs) {
    const double bits = 8.0 * static_cast<double>(run.result.total_uplink_bytes);
    const double delta = run.result.final_accuracy - dense;
    std::printf("| %s | %.4f | %+.2f pts | %.3g | %.4f |\n", run.name.c_str(),
                run.result.final_accuracy, 100.0 * delta, bits, bits / dense_bits);
    if (run.gated && delta < -0.02) ok = false;
  }

  ::mkdir(out.c_str(), 0755);
  std::vector<sotto::sim::PlotSeries> by_bytes, by_round;
  FILE* csv = std::fopen((out + "/compression.csv").c_str(), "w");
  if (csv != nullptr) std::fprintf(csv, "run,round,test_accuracy,cumulative_uplink_bytes\n");
  for (const Run& run : runs) {
    sotto::sim::PlotSeries b{run.name, {}, {}}, r{run.name, {}, {}};
    for (const auto& rec : run.result.rounds) {
      if (!rec.evaluated) continue;
      b.x.push_back(static_cast<double>(rec.cumulative_uplink_bytes) / 1e6);
      b.y.push_back(rec.test_accuracy);
      r.x.push_back(rec.round);
      r.y.push_back(rec.test_accuracy);
      if (csv != nullptr) {
        std::fprintf(csv, "\"%s\",%d,%.6f,%llu\n", run.name.c_str(), rec.round, rec.test_accuracy,
                     static_cast<unsigned long long>(rec.cumulative_uplink_bytes));
      }
    }
    by_bytes.push_back(b);
    by_round.push_back(r);
  }
  if (csv != nullptr) std::fclose(csv);
  sotto::Status plotted = sotto::sim::WritePlotSvg(
      out + "/compression.svg", "Fashion-MNIST, 10 clients: accuracy vs uplink",
      {{"Test accuracy by round", "round", "accuracy", false, by_round},
       {"Test accuracy by uplink", "cumulative uplink (MB, log scale)", "accuracy", true,
        by_bytes}});
  if (!plotted.ok()) std::fprintf(stderr, "%s\n", plotted.ToString().c_str());
  std::printf("\nwrote %s/compression.csv and %s/compression.svg\n", out.c_str(), out.c_str());
  if (!ok) {
    std::printf("FAIL: top-k + EF or GD-SEC ended more than 2 points below dense FedAvg\n");
    return 1;
  }
  std::printf("PASS: top-k + EF and GD-SEC within 2 points of dense FedAvg\n");
  return 0;
}
