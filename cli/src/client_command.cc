// `sotto client --config FILE`: one federation client with the stock trainer (a learn::Model
// trained by SGD on its part of a dataset), over mutual TLS (sotto/client/client.h).
//
// Threads: the event loop runs on its own thread (the TLS connection); Client::Run blocks the
// main thread and calls the trainer there; SIGINT/SIGTERM call Client::Stop from the signal
// thread (shutdown_signals.h).

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "federation_config.h"
#include "flags.h"
#include "shutdown_signals.h"
#include "sotto/base/status_macros.h"
#include "sotto/client/client.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/tls.h"
#include "sotto/sim/report.h"

namespace sotto::cli {
namespace {

constexpr char kSummary[] =
    "Run one federation client: connect to the coordinator over mutual TLS, train the model\n"
    "on this client's part of the data for every round it is selected in, and send the\n"
    "compressed (and, when the round says so, securely aggregated) update. Reconnects with\n"
    "backoff after a lost connection; returns when the coordinator ends the run.\n"
    "\n"
    "The config is JSON in the schema of core/proto/sotto/proto/sotto.proto (FederationConfig;\n"
    "examples/federation/client.json is a start): the client, model, tls and net sections are\n"
    "read. The flags below override the config's client section, so that one file can serve\n"
    "several clients. One line is printed per round the client takes part in.\n"
    "\n"
    "Exit status: 0 the run finished; 1 an error (message on stderr) or SIGINT/SIGTERM; 2 bad\n"
    "usage or a config file that cannot be read or is refused.";

struct ClientFlags {
  std::string config;
  uint64_t coordinator_port = 0;
  std::string client_id;
  uint64_t data_part = 0;
  std::string state_file;
  bool quiet = false;
};

int ExitCodeFor(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

const char* OutcomeName(proto::RoundOutcome outcome) {
  switch (outcome) {
    case proto::ROUND_OUTCOME_COMPLETED:
      return "completed";
    case proto::ROUND_OUTCOME_ABORTED:
      return "aborted";
    case proto::ROUND_OUTCOME_DROPPED:
      return "dropped";
    default:
      return "unknown outcome";
  }
}

// The flags that override the config's client section.
Status ApplyOverrides(const FlagSet& flags, const ClientFlags& f, FederationConfigFile* file) {
  proto::ClientConfig* client = file->config.mutable_client();
  if (flags.WasSet("coordinator-port")) {
    if (f.coordinator_port == 0 || f.coordinator_port > 65535) {
      return InvalidArgumentError("--coordinator-port: must be a TCP port (1 to 65535)");
    }
    client->set_coordinator_port(static_cast<uint32_t>(f.coordinator_port));
    file->present.insert("client.coordinator_port");
  }
  if (flags.WasSet("client-id")) {
    client->set_client_id(f.client_id);
    file->present.insert("client.client_id");
  }
  if (flags.WasSet("state-file")) {
    client->set_state_file(f.state_file);
    file->present.insert("client.state_file");
  }
  if (flags.WasSet("data-part")) {
    if (f.data_part > UINT32_MAX) return InvalidArgumentError("--data-part: too large");
    client->mutable_data()->set_part(static_cast<uint32_t>(f.data_part));
    file->present.insert("client.data");
    file->present.insert("client.data.part");
  }
  return OkStatus();
}

Status RunClient(const ClientFlags& f, ClientSetup setup) {
  // Stop() may be called from the signal thread while Run() runs; `current` is the client then.
  std::mutex mu;
  client::Client* current = nullptr;
  bool stop_requested = false;
  ShutdownSignals signals([&](int) {
    std::lock_guard<std::mutex> lock(mu);
    stop_requested = true;
    if (current != nullptr) current->Stop();
  });

  net::EventLoop loop;
  ASSIGN_OR_RETURN(std::shared_ptr<net::TlsDialer> dialer,
                   net::TlsDialer::Create(loop, setup.dialer));
  std::unique_ptr<client::Client> client;  // destroyed after the loop's thread has stopped
  std::thread io([&loop] { loop.Run(); });
  struct JoinLoop {
    net::EventLoop& loop;
    std::thread& io;
    ~JoinLoop() {
      loop.Stop();
      io.join();
    }
  } join_loop{loop, io};

  const std::string id = setup.options.client_id;
  client::Client* running = nullptr;  // read on Run's thread only (on_round_end)
  if (!f.quiet) {
    setup.options.on_round_end = [&running, &id](uint64_t round, proto::RoundOutcome outcome) {
      const client::ClientStats stats = running->stats();
      std::printf("%s: round %llu %s  (completed %llu, dropped %llu)\n", id.c_str(),
                  static_cast<unsigned long long>(round), OutcomeName(outcome),
                  static_cast<unsigned long long>(stats.rounds_completed),
                  static_cast<unsigned long long>(stats.rounds_dropped));
      std::fflush(stdout);
    };
  }
  ASSIGN_OR_RETURN(client,
                   client::Client::Create(std::move(setup.options), setup.trainer.get(), dialer));
  running = client.get();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stop_requested) return CancelledError("interrupted before the client started");
    current = client.get();
  }
  std::printf("%s: connecting to %s:%u\n", id.c_str(), setup.dialer.host.c_str(),
              static_cast<unsigned>(setup.dialer.port));
  std::fflush(stdout);
  const Status done = client->Run();
  {
    std::lock_guard<std::mutex> lock(mu);
    current = nullptr;
  }
  const client::ClientStats stats = client->stats();
  if (!done.ok()) {
    if (done.code() == StatusCode::kCancelled && signals.received() != 0) {
      return CancelledError("interrupted (signal " + std::to_string(signals.received()) +
                            ") after " + std::to_string(stats.rounds_completed) +
                            " completed rounds");
    }
    return done;
  }
  std::printf(
      "%s: run finished: %llu rounds completed, %llu dropped, %llu declined; sent %s, "
      "received %s\n",
      id.c_str(), static_cast<unsigned long long>(stats.rounds_completed),
      static_cast<unsigned long long>(stats.rounds_dropped),
      static_cast<unsigned long long>(stats.rounds_declined),
      sim::FormatBytes(static_cast<double>(stats.bytes_sent)).c_str(),
      sim::FormatBytes(static_cast<double>(stats.bytes_received)).c_str());
  return OkStatus();
}

}  // namespace

int RunClientCommand(const std::vector<std::string>& args) {
  ClientFlags f;
  FlagSet flags("sotto client", kSummary);
  flags.Add("config", &f.config, "the federation config file (JSON), required");
  flags.Add("coordinator-port", &f.coordinator_port,
            "the coordinator's port (overrides client.coordinator_port)");
  flags.Add("client-id", &f.client_id,
            "this client's id, the CN of its certificate (overrides client.client_id)");
  flags.Add("data-part", &f.data_part,
            "the part of the dataset this client holds (overrides client.data.part)");
  flags.Add("state-file", &f.state_file,
            "keep the compression state in this file across restarts; {client_id} stands for "
            "the id (overrides client.state_file)");
  flags.Add("quiet", &f.quiet, "no per-round progress lines");
  if (Status s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "sotto client: %s\n", s.ToString().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (f.config.empty()) {
    std::fprintf(stderr, "sotto client: --config: required (see sotto client --help)\n");
    return 2;
  }
  StatusOr<FederationConfigFile> file = LoadFederationConfig(f.config);
  if (!file.ok()) {
    std::fprintf(stderr, "sotto client: %s\n", file.status().ToString().c_str());
    return 2;
  }
  if (Status s = ApplyOverrides(flags, f, &*file); !s.ok()) {
    std::fprintf(stderr, "sotto client: %s\n", s.ToString().c_str());
    return 2;
  }
  StatusOr<ClientSetup> setup = BuildClientSetup(*file);
  if (!setup.ok()) {
    std::fprintf(stderr, "sotto client: %s\n",
                 setup.status().WithContext(f.config).ToString().c_str());
    return ExitCodeFor(setup.status());
  }
  if (Status s = RunClient(f, std::move(*setup)); !s.ok()) {
    std::fprintf(stderr, "sotto client: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace sotto::cli
