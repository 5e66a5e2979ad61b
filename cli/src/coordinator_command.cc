// `sotto coordinator --config FILE`: the coordinator service over mutual TLS
// (sotto/coordinator/coordinator.h), with its config read by federation_config.h.
//
// One thread runs everything: the event loop (TLS connections, the HTTP endpoint) for 10 ms at a
// time, then Coordinator::Tick() to start rounds and enforce deadlines, as coordinator.h
// prescribes. Signals only set a flag (shutdown_signals.h) that the loop reads.

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "federation_config.h"
#include "flags.h"
#include "shutdown_signals.h"
#include "sotto/base/clock.h"
#include "sotto/base/file.h"
#include "sotto/base/status_macros.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/coordinator/http_server.h"
#include "sotto/coordinator/metrics.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/tls.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/secagg/support.h"
#include "sotto/sim/report.h"

namespace sotto::cli {
namespace {

constexpr char kSummary[] =
    "Run a federation's coordinator: accept clients over mutual TLS, run the rounds the config\n"
    "describes (selection, compression, secure aggregation, the strategy), checkpoint and log\n"
    "every round, and serve /metrics and a status page when metrics.port is set.\n"
    "\n"
    "The config is JSON in the schema of core/proto/sotto/proto/sotto.proto (FederationConfig;\n"
    "examples/federation/coordinator.json is a start). Unknown fields and impossible values are\n"
    "refused, naming the field. coordinator.port 0 picks a free port: it is printed as\n"
    "`listening on ADDRESS:PORT` and written to --port-file. One line is printed per round.\n"
    "SIGINT or SIGTERM stops gracefully (a second one at once); with checkpoint.directory set,\n"
    "a restart with the same config resumes the run.\n"
    "\n"
    "Exit status: 0 the run finished (the model is written to --model-out); 1 the run failed or\n"
    "was interrupted; 2 bad usage or a config file that cannot be read or is refused.";

// Bounds the wait for queued frames (RoundEnd of the last round) to be written at the end.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr auto kTickInterval = std::chrono::milliseconds(10);

struct CoordinatorFlags {
  std::string config;
  std::string port_file;
  std::string model_out;
  std::string metrics_port_file;
  bool quiet = false;
};

int ExitCodeFor(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::string PolicyText(const coordinator::SecureAggregationOptions& a) {
  if (!a.enabled) return "off";
  std::string text = std::string(secagg::SupportPolicyName(a.policy)) + " support";
  if (a.policy != secagg::SupportPolicy::kDense) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), " of density %g", a.density);
    text += buf;
  }
  return text;
}

std::string CompressionText(const proto::CompressionConfig& c) {
  if (proto::IsGdSec(c)) {
    const proto::GdSecConfig& g = c.gdsec();
    char buf[96];
    if (g.rule() == proto::GD_SEC_RULE_THRESHOLD) {
      std::snprintf(buf, sizeof(buf), "GD-SEC (beta %g), threshold rule xi %g", g.beta(), g.xi());
    } else {
      std::snprintf(buf, sizeof(buf), "GD-SEC (beta %g), top-k density %g", g.beta(), g.density());
    }
    return buf;
  }
  if (c.sparsifier() == proto::SPARSIFIER_UNSPECIFIED) return "dense fp32";
  std::string name = proto::Sparsifier_Name(c.sparsifier());
  const std::string prefix = "SPARSIFIER_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s density %g, error feedback %s", name.c_str(), c.density(),
                c.error_feedback() == proto::ERROR_FEEDBACK_NONE ? "off" : "on");
  return buf;
}

void PrintRound(const coordinator::RoundSummary& r, uint32_t num_rounds) {
  std::string line = "round " + std::to_string(r.round) + "/" + std::to_string(num_rounds) + "  " +
                     r.outcome + "  clients " + std::to_string(r.contributors.size()) + "/" +
                     std::to_string(r.selected.size()) + "  dropped " +
                     std::to_string(r.dropped.size()) + "  uplink " +
                     sim::FormatBytes(static_cast<double>(r.uplink_bytes));
  char buf[160];
  if (r.dense_uplink_bytes > 0) {
    std::snprintf(
        buf, sizeof(buf), " (%.1f%% of dense)",
        100.0 * static_cast<double>(r.uplink_bytes) / static_cast<double>(r.dense_uplink_bytes));
    line += buf;
  }
  if (r.support_size > 0) line += "  |S| " + std::to_string(r.support_size);
  if (r.train_loss != 0) {  // plain rounds: the contributors' weighted mean
    std::snprintf(buf, sizeof(buf), "  train_loss %.4f", r.train_loss);
    line += buf;
  }
  if (r.eval_loss && r.eval_accuracy) {
    std::snprintf(buf, sizeof(buf), "  eval_loss %.4f  eval_acc %.4f", *r.eval_loss,
                  *r.eval_accuracy);
    line += buf;
  }
  std::snprintf(buf, sizeof(buf), "  (%.2fs)", r.seconds);
  line += buf;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The model as dimension little-endian IEEE-754 binary32 values.
std::string ModelBytes(std::span<const float> model) {
  std::string bytes(model.size() * 4, '\0');
  for (size_t i = 0; i < model.size(); ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(model[i]);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return bytes;
}

// Runs the coordinator until the run finishes, a fatal error, or a signal. Returns OK only when
// the run finished (the model is then written to --model-out). Errors before the first Tick
// (credentials, the checkpoint store, options the coordinator refuses) keep their code; a
// failure of the round loop or an interruption sets *in_loop.
Status Serve(const CoordinatorFlags& f, CoordinatorSetup setup, bool* in_loop) {
  std::atomic<bool> stop{false};
  ShutdownSignals signals([&](int) { stop = true; });

  net::EventLoop loop;
  ASSIGN_OR_RETURN(std::shared_ptr<net::TlsListener> listener,
                   net::TlsListener::Create(loop, setup.listener));
  coordinator::Metrics metrics;
  const uint32_t num_rounds = setup.options.num_rounds;
  const size_t dimension = setup.options.initial_model.size();
  const std::string strategy(core::StrategyKindName(setup.options.strategy.kind));
  const std::string compression = CompressionText(setup.options.compression);
  const std::string secure = PolicyText(setup.options.secure_aggregation);
  const std::string checkpoints = setup.options.checkpoint_dir;
  ASSIGN_OR_RETURN(
      std::unique_ptr<coordinator::Coordinator> coord,
      coordinator::Coordinator::Create(std::move(setup.options), Clock::Real(), &metrics));
  std::unique_ptr<coordinator::HttpServer> http;
  if (setup.metrics_enabled || !f.metrics_port_file.empty()) {
    coordinator::Coordinator* c = coord.get();
    auto status_page = [c] {
      return coordinator::HttpResponse{200, "text/html; charset=utf-8", c->StatusPage()};
    };
    std::map<std::string, coordinator::HttpHandler> routes = {
        {"/metrics",
         [&metrics] {
           return coordinator::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                            metrics.RenderPrometheus()};
         }},
        {"/", status_page},
        {"/status", status_page},
    };
    ASSIGN_OR_RETURN(
        http, coordinator::HttpServer::Start(loop.context(), setup.metrics, std::move(routes)));
  }
  listener->Start([c = coord.get()](std::shared_ptr<net::Connection> connection) {
    c->Accept(std::move(connection));
  });

  std::printf(
      "sotto coordinator: run %llu, %u rounds, %zu parameters, strategy %s, uplink %s, "
      "secure aggregation %s\n",
      static_cast<unsigned long long>(coord->run_id()), num_rounds, dimension, strategy.c_str(),
      compression.c_str(), secure.c_str());
  if (coord->resumed_from()) {
    std::printf("resumed from the checkpoint of round %llu in %s\n",
                static_cast<unsigned long long>(*coord->resumed_from()), checkpoints.c_str());
  }
  if (setup.eval_samples > 0) {
    std::printf("evaluating on %zu test samples\n", setup.eval_samples);
  }
  std::printf("listening on %s:%u\n", setup.listener.bind_address.c_str(),
              static_cast<unsigned>(listener->port()));
  if (http) {
    std::printf("metrics on http://%s:%u/metrics\n", setup.metrics.host.c_str(),
                static_cast<unsigned>(http->port()));
  }
  std::fflush(stdout);
  if (!f.port_file.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(f.port_file, std::to_string(listener->port()) + "\n"));
  }
  if (http && !f.metrics_port_file.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(f.metrics_port_file, std::to_string(http->port()) + "\n"));
  }

  *in_loop = true;
  size_t printed = coord->history().size();  // rounds before a resume were printed back then
  Status failure;
  while (!coord->finished() && !stop) {
    loop.RunFor(kTickInterval);
    failure = coord->Tick();
    if (!f.quiet) {
      for (; printed < coord->history().size(); ++printed) {
        PrintRound(coord->history()[printed], num_rounds);
      }
    }
    if (!failure.ok()) break;
  }

  // Stop accepting, close every connection after its queued frames (the last RoundEnd), and
  // give the loop the time to write them.
  listener->Shutdown();
  coord->Shutdown();
  const Clock::TimePoint drain_start = Clock::Real()->Now();
  while (listener->stats().open > 0 && Clock::Real()->Now() - drain_start < kDrainTimeout) {
    loop.RunFor(kTickInterval);
  }
  if (http) http->Stop();
  loop.Poll();

  RETURN_IF_ERROR(failure.WithContext("round loop"));
  if (!coord->finished()) {
    std::string message = "interrupted (signal " + std::to_string(signals.received()) + ") after " +
                          std::to_string(coord->completed_rounds()) + " of " +
                          std::to_string(num_rounds) + " rounds";
    if (!checkpoints.empty()) {
      message += "; restart with the same config to resume from the last checkpoint";
    }
    return CancelledError(message);
  }
  if (!f.model_out.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(f.model_out, ModelBytes(coord->model())));
  }
  std::printf("run finished: %llu rounds completed, %zu parameters%s%s\n",
              static_cast<unsigned long long>(coord->completed_rounds()), coord->model().size(),
              f.model_out.empty() ? "" : ", model written to ", f.model_out.c_str());
  return OkStatus();
}

}  // namespace

int RunCoordinatorCommand(const std::vector<std::string>& args) {
  CoordinatorFlags f;
  FlagSet flags("sotto coordinator", kSummary);
  flags.Add("config", &f.config, "the federation config file (JSON), required");
  flags.Add("port-file", &f.port_file,
            "write the bound TLS port here (atomically) once clients can connect");
  flags.Add("model-out", &f.model_out, "write the final model here: raw little-endian fp32 values");
  flags.Add("metrics-port-file", &f.metrics_port_file,
            "serve /metrics (on a free port unless metrics.port is set) and write its port here");
  flags.Add("quiet", &f.quiet, "no per-round progress lines");
  if (Status s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "sotto coordinator: %s\n", s.ToString().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (f.config.empty()) {
    std::fprintf(stderr, "sotto coordinator: --config: required (see sotto coordinator --help)\n");
    return 2;
  }
  StatusOr<FederationConfigFile> file = LoadFederationConfig(f.config);
  if (!file.ok()) {
    std::fprintf(stderr, "sotto coordinator: %s\n", file.status().ToString().c_str());
    return 2;
  }
  StatusOr<CoordinatorSetup> setup = BuildCoordinatorSetup(*file);
  if (!setup.ok()) {
    std::fprintf(stderr, "sotto coordinator: %s\n",
                 setup.status().WithContext(f.config).ToString().c_str());
    return ExitCodeFor(setup.status());
  }
  bool in_loop = false;
  if (Status s = Serve(f, std::move(*setup), &in_loop); !s.ok()) {
    std::fprintf(stderr, "sotto coordinator: %s\n", s.ToString().c_str());
    return in_loop ? 1 : ExitCodeFor(s);
  }
  return 0;
}

}  // namespace sotto::cli
