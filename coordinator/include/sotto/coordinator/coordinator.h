#pragma once

// The coordinator service: registry, selection, rounds, aggregation, checkpoints, logs.
//
// A Coordinator is written against sotto/net/transport.h only, so the same object runs a
// federation over mutual TLS (`sotto coordinator`) and over the in-memory transport (tests, the
// in-memory reference run). It is single-threaded and event-driven: the transport's driving
// thread hands it connections (Accept) and messages (through the connection callbacks), and the
// same thread calls Tick() every few milliseconds to start rounds and enforce deadlines.
//
//   net::EventLoop loop;                        // or a net::MemoryNetwork
//   ASSIGN_OR_RETURN(auto coordinator, Coordinator::Create(options, Clock::Real(), &metrics));
//   listener->Start([&](auto c) { coordinator->Accept(std::move(c)); });
//   while (!coordinator->finished()) { loop.RunFor(10ms); RETURN_IF_ERROR(coordinator->Tick()); }
//
// Protocol (docs/PROTOCOL.md has the message sequence):
//   handshake  client: Hello; coordinator: Welcome (accepted: run id, secure-aggregation id; or
//              refused with a reason), then, to a client of this run that still holds a round
//              pending (Hello.pending_round), RoundEnd of that round with its outcome for this
//              client (unless the round is still running with the client in it: its RoundEnd
//              comes when it ends); after the end of the run, RoundEnd with run_finished.
//              A client selected for the round in progress that comes back before it answered
//              (no update yet; no AdvertiseKeys while keys are collected) gets its RoundStart
//              again.
//   round r    once at least min_clients clients are connected and idle, the coordinator selects
//              clients (a seeded shuffle of the connected ids, sorted), sends each RoundStart
//              (model, compression, and the secure-aggregation parameters when enabled):
//                plain:  client Update -> (all selected answered, or the deadline) aggregate;
//                secure: AdvertiseKeys ... UnmaskResponse through a RoundManager, whose phase
//                        deadlines drop silent clients; the sum on the round's support.
//              With GD-SEC (compression.gdsec) the sum is of the clients' sent differences,
//              in GD-SEC's fixed point, and the update the strategy gets is the gradient
//              estimate (h + sum) / |members|: h = sum of every member's h_m, members = the
//              clients that have contributed to a completed round (each counts once, whether
//              selected this round or not: the LAG-style reuse GD-SEC is built on).
//              The mean update goes to the strategy, the new model is checkpointed, the round is
//              logged, and every selected client gets RoundEnd: COMPLETED when its input is in
//              the sum (its error-feedback state commits), DROPPED or ABORTED otherwise (it rolls
//              back). RoundEnd of the last round carries run_finished; idle clients get one too.
//
// Determinism: the model after each round is a function of the config, the seed and the
// clients' updates only: selection depends on the set of connected ids, never on timing;
// plain updates are summed in client-id order; secure sums are exact integer sums. The same
// clients over TLS and in memory give the same model bit for bit (tests/e2e).
//
// Restarts: with a checkpoint directory, every completed round is saved before its RoundEnd is
// sent (CheckpointStore: temp, fsync, rename, fsync dir). Create() resumes from the newest valid
// checkpoint: same run id, model, strategy moments, last aggregate; a round that was in flight
// is abandoned and restarted from its beginning (clients roll back its pending state), never
// half-applied. A checkpoint written under another config is refused (FailedPrecondition).
//
// GD-SEC needs the coordinator's h to equal the sum of the clients' h_m at every round: it is
// committed only when a round completes (a client whose input is not in the sum rolls its h_m
// back), it is in every checkpoint (so checkpoint.every_rounds must be 1), and a member that
// comes back without its state (a new process: Hello without this run's id) is refused with
// REFUSAL_REASON_STATE_LOST instead of silently biasing the model.
//
// Refusals (BAD_INPUTS rows 10-12, 25): a message other than Hello before the handshake, or an
// unsupported version, gets an Error / refused Welcome and the connection is closed; a message
// from a client not selected for the current round, or from another run or round (a replay),
// is dropped and counted (`sotto_refused_messages_total{reason}`); a malformed update drops the
// client from the round. Identity is the transport's (the certificate CN).
//
// Thread-safety: thread-compatible; every call on the transport's driving thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/coordinator/metrics.h"
#include "sotto/core/strategy.h"
#include "sotto/net/transport.h"
#include "sotto/proto/sotto.pb.h"
#include "sotto/secagg/config.h"

namespace sotto::compress {
class GdSecServer;
}  // namespace sotto::compress

namespace sotto::coordinator {

struct SelectionOptions {
  double fraction = 1.0;     // share of the connected clients selected per round, in (0, 1]
  uint32_t min_clients = 1;  // a round starts once this many clients are connected, and counts
                             // only with at least this many contributions
  uint32_t max_clients = 0;  // at most this many selected before over-selection; 0: no cap
  // Select (1 + over_selection) times the target; a plain round closes as soon as the target
  // number of updates has arrived (the others are told DROPPED). 0 keeps rounds deterministic.
  double over_selection = 0.0;
};

struct RoundDeadlines {
  Clock::Duration hello = std::chrono::seconds(30);   // from accept to Hello
  Clock::Duration train = std::chrono::seconds(300);  // RoundStart to Update / AdvertiseKeys
  Clock::Duration advertise_keys = std::chrono::seconds(30);  // after `train`
  Clock::Duration share_keys = std::chrono::seconds(30);
  Clock::Duration masked_input = std::chrono::seconds(60);
  Clock::Duration unmask = std::chrono::seconds(30);
};

struct SecureAggregationOptions {
  bool enabled = false;
  secagg::SupportPolicy policy = secagg::SupportPolicy::kGlobalTopK;
  double density = 0.1;  // |S| / d (ignored by the dense policy)
  double explore = 0.5;  // global_topk: share of S drawn at random
  double clip = 4.0;     // fixed point: each value is clipped to [-clip, clip]
  int ring_bits = 0;     // 32, 64, or 0: 2^32 up to 1024 clients, else 2^64
  int degree = -1;       // SecAgg+ degree; -1 recommended, 0 complete graph
  // 0: a majority of each closed neighbourhood; otherwise clamped to [that majority, the
  // neighbourhood's size]. Secure aggregation needs selection.min_clients >= 3.
  uint32_t threshold = 0;
  // Client weights (example counts) are clipped to this; it sets the weight's fixed-point unit.
  uint64_t max_weight = 1 << 16;
  secagg::MaskIndexing mask_indexing = secagg::MaskIndexing::kSupportPosition;
  int server_threads = 1;
};

struct CoordinatorOptions {
  std::string run_name = "sotto";
  uint64_t seed = 1;  // selection, supports, SecAgg+ graphs, the run id of a fresh run
  uint32_t num_rounds = 10;
  SelectionOptions selection;
  RoundDeadlines deadlines;
  std::vector<float> initial_model;  // d = its size (>= 1)
  core::StrategyOptions strategy;
  // Sent to every selected client (sotto/client/client.h applies it). Unset sparsifier and
  // gdsec: dense. gdsec: GD-SEC, with its server rule and state here.
  proto::CompressionConfig compression;
  SecureAggregationOptions secure_aggregation;
  std::string checkpoint_dir;  // empty: no checkpoints, no resume
  uint32_t checkpoint_every = 1;
  uint32_t checkpoint_keep = 3;
  std::string round_log_path;  // JSON lines, appended; empty: none
  // Digest of the configuration the run was started with; a checkpoint with another is refused.
  std::vector<uint8_t> config_fingerprint;
  uint64_t heartbeat_interval_ms = 0;  // told to clients in Welcome; 0: none
  size_t max_registered_clients = 100'000;
  // Evaluates the global model after a round (optional; loss/accuracy go to the round log).
  std::function<StatusOr<std::pair<double, double>>(std::span<const float>)> evaluate;
  uint32_t evaluate_every = 1;
};

// InvalidArgument naming the field for impossible values.
Status ValidateCoordinatorOptions(const CoordinatorOptions& options);

// One line of the round log (JSON), and what the status page shows.
struct RoundSummary {
  uint64_t round = 0;
  std::string outcome;  // "completed", "aborted"
  std::vector<std::string> selected;
  std::vector<std::string> contributors;
  std::map<std::string, std::string> dropped;  // client id -> reason
  uint64_t uplink_bytes = 0;        // frames received from the selected clients this round
  uint64_t downlink_bytes = 0;      // frames sent to them
  uint64_t dense_uplink_bytes = 0;  // what fp32 dense updates of the contributors would cost
  uint64_t support_size = 0;
  double seconds = 0.0;
  std::vector<std::pair<std::string, double>> phase_seconds;
  double train_loss = 0.0;  // weighted mean over contributors (plain rounds; secure: not known)
  std::optional<double> eval_loss;
  std::optional<double> eval_accuracy;
};

std::string RoundSummaryJson(const RoundSummary& summary);

class Coordinator {
 public:
  // Validates the options, opens the checkpoint store and resumes from it when it holds a
  // checkpoint of this config. `clock` and `metrics` (may be null) are not owned.
  static StatusOr<std::unique_ptr<Coordinator>> Create(CoordinatorOptions options, Clock* clock,
                                                       Metrics* metrics);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // A new authenticated connection (from a Listener's AcceptHandler); the coordinator starts it.
  void Accept(std::shared_ptr<net::Connection> connection);

  // Starts a round when enough clients are idle, enforces deadlines, finishes rounds. Errors
  // are fatal (a checkpoint that cannot be written): the caller should stop.
  Status Tick();

  // Closes every connection (queued messages are written first).
  void Shutdown();

  bool finished() const { return finished_; }
  uint64_t run_id() const { return run_id_; }
  uint64_t completed_rounds() const { return completed_rounds_; }
  // Set when Create resumed from a checkpoint: its round.
  std::optional<uint64_t> resumed_from() const { return resumed_from_; }
  std::span<const float> model() const { return model_; }
  size_t connected_clients() const;
  const std::vector<RoundSummary>& history() const { return history_; }
  // GD-SEC: the server's h (fixed point, compress::GdSecServer) and its members; empty
  // without GD-SEC.
  std::span<const int64_t> gdsec_h() const;
  const std::set<std::string>& gdsec_members() const { return gdsec_members_; }
  // A small HTML status page (run, round, clients, last rounds).
  std::string StatusPage() const;

  struct Session;
  struct Round;

 private:
  Coordinator(CoordinatorOptions options, Clock* clock, Metrics* metrics);
  Status Resume();
  void OnMessage(const std::shared_ptr<Session>& session, proto::Envelope envelope);
  void Dispatch(const std::shared_ptr<Session>& session, proto::Envelope envelope);
  void OnClosed(const std::shared_ptr<Session>& session, const Status& status);
  void OnHello(const std::shared_ptr<Session>& session, const proto::Envelope& envelope);
  // Stamp version, run id and the session's sequence number into `envelope`, then send it.
  void Send(Session& session, proto::Envelope& envelope);
  void SendTo(const std::string& client_id, proto::Envelope& envelope);
  // A broadcast: `header` (every field but the body) is stamped like Send's envelope; `body`
  // was serialized once for all recipients (net::EncodedBody) and is not copied per client.
  void SendEncoded(Session& session, proto::Envelope& header,
                   const std::shared_ptr<const net::EncodedBody>& body);
  // What Send and SendEncoded do once the transport has taken (or refused) a frame.
  void AfterSend(Session& session, const Status& sent, uint64_t bytes);
  Status StartRound();
  Status AdvanceRound();
  Status FinishRound(bool completed, std::vector<float> mean, const std::string& abort_reason);
  // Ends the run; connected clients not in `told` get a RoundEnd with run_finished.
  void FinishRun(const std::set<std::string>& told);
  void Refuse(const std::string& reason);
  StatusOr<secagg::RoundConfig> SecAggConfig(uint64_t round, const std::vector<uint64_t>& ids);
  Status SaveCheckpoint();
  // Whether `round`'s sum holds the client's input (rounds before its last counted one: no).
  bool CountedIn(const std::string& client_id, uint64_t round) const;

  CoordinatorOptions options_;
  Clock* clock_;
  Metrics* metrics_;
  std::shared_ptr<bool> alive_;  // callbacks hold a weak_ptr: nothing runs after destruction
  uint64_t run_id_ = 0;
  std::vector<float> model_;
  std::unique_ptr<core::Strategy> strategy_;
  std::vector<float> last_aggregate_;
  std::map<std::string, uint64_t> last_contributed_;  // client id -> its last counted round
  uint64_t completed_rounds_ = 0;
  std::optional<uint64_t> resumed_from_;
  bool finished_ = false;
  uint64_t next_secagg_id_ = 1;
  // client id -> its registry entry; secure-aggregation id -> client id.
  std::map<std::string, std::shared_ptr<Session>> clients_;
  std::map<uint64_t, std::string> by_secagg_id_;
  std::map<std::string, uint64_t, std::less<>> secagg_ids_;  // the reverse index
  Status pending_error_;  // a fatal error met while handling a message, returned by Tick
  std::vector<std::shared_ptr<Session>> pending_;  // accepted, no Hello yet
  std::unique_ptr<Round> round_;
  std::vector<RoundSummary> history_;
  std::unique_ptr<compress::GdSecServer> gdsec_;  // set with GD-SEC
  std::set<std::string> gdsec_members_;
  struct Store;
  std::unique_ptr<Store> store_;
};

}  // namespace sotto::coordinator
