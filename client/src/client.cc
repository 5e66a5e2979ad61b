#include "sotto/client/client.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "sotto/base/file.h"
#include "sotto/base/logging.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/client/state_file.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/gdsec.h"
#include "sotto/core/compress/sparse_codec.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/net/inbox.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/proto/secagg_convert.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/input.h"

namespace sotto::client {
namespace {

// Streams of a round's seed.
constexpr uint64_t kStreamTrain = 1;
constexpr uint64_t kStreamQuantize = 2;

// How long one blocking wait lasts before Run checks for Stop().
constexpr std::chrono::milliseconds kPollSlice{50};

uint64_t FrameBytes(const proto::Envelope& envelope) {
  return net::kFrameHeaderBytes + envelope.ByteSizeLong();
}

bool IsConnectionLoss(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnauthenticated:
    case StatusCode::kInvalidArgument:  // the peer sent something our decoder refused
    case StatusCode::kOk:               // a clean close before the run finished
      return true;
    default:
      return false;
  }
}

}  // namespace

Status ValidateClientOptions(const ClientOptions& o) {
  RETURN_IF_ERROR(net::ValidatePeerId(o.client_id).WithContext("client.client_id"));
  if (o.reconnect.initial <= std::chrono::milliseconds::zero()) {
    return InvalidArgumentError("client.reconnect.initial_backoff_ms: must be positive");
  }
  if (o.reconnect.max < o.reconnect.initial) {
    return InvalidArgumentError("client.reconnect.max_backoff_ms: must be >= initial_backoff_ms");
  }
  if (!(o.reconnect.jitter >= 0 && o.reconnect.jitter <= 1)) {
    return InvalidArgumentError("client.reconnect.jitter: must be in [0, 1]");
  }
  if (o.welcome_timeout <= std::chrono::milliseconds::zero()) {
    return InvalidArgumentError("client.welcome_timeout: must be positive");
  }
  if (o.idle_timeout < std::chrono::milliseconds::zero()) {
    return InvalidArgumentError("client.idle_timeout: must be >= 0");
  }
  if (o.threads < 1) return InvalidArgumentError("client.threads: must be at least 1");
  return OkStatus();
}

uint64_t EstimateRoundMemory(uint64_t dimension, const proto::CompressionConfig& compression,
                             uint64_t support_size) {
  // The global model and the update (trainer output), always.
  uint64_t bytes = 2 * sizeof(float) * dimension;
  if (proto::IsGdSec(compression)) {
    // h_m (int64) and e_m's two buffers, the model of the last counted round (and, for the
    // threshold rule, the movement since it), the selected values and indices, and on a
    // secure support the undo record of the step (12 bytes per support coordinate).
    const bool threshold = compression.gdsec().rule() == proto::GD_SEC_RULE_THRESHOLD;
    bytes += (sizeof(int64_t) + 2 * sizeof(float)) * dimension + sizeof(float) * dimension;
    if (threshold) bytes += sizeof(float) * dimension;
    const double density = threshold ? 1.0 : std::max(compression.gdsec().density(), 0.0);
    const uint64_t k = support_size != 0
                           ? support_size
                           : static_cast<uint64_t>(std::ceil(density * double(dimension)));
    bytes += 8 * std::min(k, dimension) + 12 * support_size;
  } else if (!proto::IsDense(compression)) {
    // Error memory, its snapshot for a rollback, and the selected values and indices.
    bytes += 2 * sizeof(float) * dimension;
    const uint64_t k = support_size != 0
                           ? support_size
                           : static_cast<uint64_t>(std::ceil(std::max(compression.density(), 0.0) *
                                                             static_cast<double>(dimension)));
    bytes += 8 * std::min(k, dimension);
  } else {
    bytes += sizeof(float) * dimension;  // the dense message
  }
  // Secure aggregation: the ring input, the masked vector (8 bytes per element each).
  if (support_size != 0) bytes += 16 * support_size;
  return bytes;
}

// ---- Pacer ---------------------------------------------------------------------------------

Pacer::Pacer(uint64_t bytes_per_second, Clock* clock) : rate_(bytes_per_second), clock_(clock) {}

void Pacer::Acquire(uint64_t bytes) {
  if (rate_ == 0 || bytes == 0) return;
  const Clock::TimePoint now = clock_->Now();
  // A one-second burst: a quiet link may send a second's worth at once.
  const Clock::TimePoint burst_floor = now - std::chrono::seconds(1);
  if (!started_ || next_free_ < burst_floor) next_free_ = burst_floor;
  started_ = true;
  next_free_ += std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  if (next_free_ > now) clock_->SleepFor(next_free_ - now);
}

// ---- State ---------------------------------------------------------------------------------

struct Client::State {
  ClientOptions options;
  core::Trainer* trainer;
  std::shared_ptr<net::Dialer> dialer;
  Clock* clock;
  Pacer pacer;
  std::atomic<bool> stop{false};

  mutable std::mutex mu;  // guards stats and connection
  ClientStats stats;
  std::shared_ptr<net::Connection> connection;

  // Session.
  std::shared_ptr<net::Inbox> inbox;
  uint64_t run_id = 0;
  uint64_t secagg_id = 0;
  uint64_t sequence = 0;
  bool finished = false;
  std::optional<proto::Envelope> deferred;  // a message to handle before reading the inbox

  // Compression state, kept across rounds and reconnects.
  proto::CompressionConfig compression_config;  // what the compressor or GD-SEC was made for
  bool state_loaded = false;
  std::unique_ptr<compress::Compressor> compressor;
  uint64_t pending_round = 0;  // a round whose change to the error memory is not yet final
  std::vector<float> saved_error;
  // GD-SEC: h_m and e_m (a pending step is taken back with GdSecClient::Undo), and the model
  // of the last round this client's input counted in (its threshold rule scales by the movement
  // since). gdsec_committed: scratch for the state file's committed state.
  std::unique_ptr<compress::GdSecClient> gdsec;
  compress::GdSecClient::Snapshot gdsec_committed;
  std::vector<float> gdsec_model;
  std::vector<float> movement;
  std::vector<int64_t> q;

  // Round buffers.
  std::vector<float> global;
  std::vector<float> update;
  std::vector<float> values;
  std::vector<uint32_t> all_indices;
  compress::SparseUpdate sparse;
  std::vector<uint8_t> message;

  State(ClientOptions o, core::Trainer* t, std::shared_ptr<net::Dialer> d, Clock* c)
      : options(std::move(o)),
        trainer(t),
        dialer(std::move(d)),
        clock(c),
        pacer(options.uplink_bytes_per_second, c) {}

  Status Send(proto::Envelope envelope);
  StatusOr<std::shared_ptr<net::Connection>> Dial();
  Status Session(std::shared_ptr<net::Connection> connection);
  StatusOr<proto::Envelope> Receive(std::chrono::milliseconds timeout);
  Status HandleRoundStart(const proto::Envelope& envelope);
  Status RunSecureRound(const proto::RoundStart& start, const core::TrainOutput& output);
  Status HandleRoundEnd(const proto::RoundEnd& end);
  Status Rollback();
  // Makes compression state for `config` (a sparsifier or GD-SEC), replacing any other.
  Status MakeCompression(const proto::CompressionConfig& config);
  // The state file (no-ops without options.state_file): written whenever the state changes in
  // a way a restarted client must know; read once, when Run starts.
  Status SaveState();
  Status LoadState();
  Status Decline(uint64_t round, const Status& why);
  void SleepInterruptible(Clock::Duration duration);
};

Status Client::State::Send(proto::Envelope envelope) {
  envelope.set_protocol_version(net::kProtocolVersion);
  envelope.set_sender_id(options.client_id);
  envelope.set_sequence(++sequence);
  if (envelope.run_id() == 0) envelope.set_run_id(run_id);
  std::shared_ptr<net::Connection> c;
  {
    std::lock_guard<std::mutex> lock(mu);
    c = connection;
  }
  if (c == nullptr) return UnavailableError("not connected");
  pacer.Acquire(FrameBytes(envelope));
  Status sent = c->Send(envelope);
  // A connection that closed under us is a lost connection (reconnect), not a refusal.
  if (sent.code() == StatusCode::kFailedPrecondition) {
    return UnavailableError("connection lost: " + std::string(sent.message()));
  }
  return sent;
}

void Client::State::SleepInterruptible(Clock::Duration duration) {
  // Real clocks sleep in slices so that Stop() is noticed; a fake clock just advances.
  while (duration > Clock::Duration::zero() && !stop.load()) {
    const Clock::Duration slice = std::min<Clock::Duration>(duration, kPollSlice);
    clock->SleepFor(slice);
    duration -= slice;
  }
}

StatusOr<std::shared_ptr<net::Connection>> Client::State::Dial() {
  struct Result {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<StatusOr<std::shared_ptr<net::Connection>>> value;
  };
  auto result = std::make_shared<Result>();
  dialer->Dial([result](StatusOr<std::shared_ptr<net::Connection>> c) {
    std::lock_guard<std::mutex> lock(result->mu);
    result->value = std::move(c);
    result->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(result->mu);
  while (!result->value.has_value()) {
    if (stop.load()) return CancelledError("client stopped");
    result->cv.wait_for(lock, kPollSlice);
  }
  return std::move(*result->value);
}

StatusOr<proto::Envelope> Client::State::Receive(std::chrono::milliseconds timeout) {
  if (deferred.has_value()) {
    proto::Envelope e = std::move(*deferred);
    deferred.reset();
    return e;
  }
  const bool forever = timeout == std::chrono::milliseconds::zero();
  std::chrono::milliseconds waited{0};
  while (!stop.load()) {
    StatusOr<proto::Envelope> e = inbox->Receive(kPollSlice);
    if (e.ok() || e.status().code() != StatusCode::kDeadlineExceeded) {
      if (e.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        stats.bytes_received += FrameBytes(*e);
      }
      return e;
    }
    waited += kPollSlice;
    if (!forever && waited >= timeout) {
      return DeadlineExceededError("no message from the coordinator for " +
                                   std::to_string(timeout.count()) + " ms");
    }
  }
  return CancelledError("client stopped");
}

Status Client::State::Rollback() {
  if (pending_round == 0) return OkStatus();
  Status restored = OkStatus();
  if (compressor != nullptr && !saved_error.empty()) {
    restored = compressor->SetError(saved_error);
  } else if (gdsec != nullptr && gdsec->CanUndo()) {
    restored = gdsec->Undo();  // a step that never ran (or failed) left nothing to undo
  }
  if (!restored.ok()) SOTTO_LOG(kError, "rollback_failed").With("status", restored.ToString());
  pending_round = 0;
  return SaveState();
}

Status Client::State::HandleRoundEnd(const proto::RoundEnd& end) {
  if (end.run_finished()) finished = true;
  if (pending_round == 0 || end.round() != pending_round) return OkStatus();
  const bool completed = end.outcome() == proto::ROUND_OUTCOME_COMPLETED;
  if (completed) {
    pending_round = 0;  // the error memory's change is final
    // GD-SEC: the movement of the next round is measured from this round's model (`global`
    // still holds it: a later RoundStart would have rolled this round back first).
    if (gdsec != nullptr) gdsec_model.swap(global);
    RETURN_IF_ERROR(SaveState());
  } else {
    RETURN_IF_ERROR(Rollback());
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (completed) {
      ++stats.rounds_completed;
    } else {
      ++stats.rounds_dropped;
    }
    stats.last_round = end.round();
  }
  SOTTO_LOG(kInfo, "client_round_end")
      .With("client", options.client_id)
      .With("round", end.round())
      .With("outcome", proto::RoundOutcome_Name(end.outcome()));
  if (options.on_round_end) options.on_round_end(end.round(), end.outcome());
  return OkStatus();
}

Status Client::State::MakeCompression(const proto::CompressionConfig& config) {
  const size_t d = trainer->NumParameters();
  compressor.reset();
  gdsec.reset();
  gdsec_model.clear();
  compression_config.Clear();
  if (proto::IsGdSec(config)) {
    ASSIGN_OR_RETURN(compress::GdSecOptions gopts, proto::GdSecOptionsFromProto(config));
    ASSIGN_OR_RETURN(gdsec, compress::GdSecClient::Create(gopts, d));
  } else {
    ASSIGN_OR_RETURN(compress::CompressorOptions copts, proto::CompressorOptionsFromProto(config));
    if (copts.error_feedback == compress::ErrorFeedback::kStepAhead ||
        copts.averaging_period != 0) {
      return UnimplementedError(
          "step-ahead error feedback and error averaging are available in `sotto sim` only");
    }
    copts.threads = options.threads;
    ASSIGN_OR_RETURN(compressor, compress::Compressor::Create(copts, d));
  }
  compression_config = config;
  return OkStatus();
}

Status Client::State::SaveState() {
  if (options.state_file.empty() || run_id == 0 || (compressor == nullptr && gdsec == nullptr)) {
    return OkStatus();
  }
  const size_t d = trainer->NumParameters();
  proto::ClientState state;
  state.set_client_id(options.client_id);
  state.set_run_id(run_id);
  state.set_dimension(d);
  *state.mutable_compression() = compression_config;
  state.set_pending_round(pending_round);
  auto floats = [](std::span<const float> v, std::string* out) {
    out->assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  };
  auto ints = [](std::span<const int64_t> v, std::string* out) {
    out->assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t));
  };
  // Committed: before the pending round's change (the snapshot), or the state itself.
  proto::CompressionState* committed = state.mutable_committed();
  if (gdsec != nullptr) {
    const bool stepped = pending_round != 0 && gdsec->CanUndo();
    if (stepped) RETURN_IF_ERROR(gdsec->SaveBeforeStep(&gdsec_committed));
    ints(stepped ? std::span<const int64_t>(gdsec_committed.h) : gdsec->h_fixed(),
         committed->mutable_gdsec_h_le());
    floats(stepped ? std::span<const float>(gdsec_committed.error) : gdsec->error(),
           committed->mutable_error_fp32_le());
    floats(gdsec_model, committed->mutable_gdsec_model_fp32_le());
  } else {
    floats(pending_round != 0 ? std::span<const float>(saved_error) : compressor->error(),
           committed->mutable_error_fp32_le());
  }
  if (pending_round != 0) {
    proto::CompressionState* pending = state.mutable_pending();
    if (gdsec != nullptr) {
      ints(gdsec->h_fixed(), pending->mutable_gdsec_h_le());
      floats(gdsec->error(), pending->mutable_error_fp32_le());
      floats(global, pending->mutable_gdsec_model_fp32_le());  // the pending round's model
    } else {
      floats(compressor->error(), pending->mutable_error_fp32_le());
    }
  }
  // Private: h_m and e_m are functions of this client's data.
  Status written =
      WriteFileAtomically(options.state_file, EncodeClientState(std::move(state)), 0600);
  if (!written.ok()) {
    // Going on would let a later restart rejoin with stale state: stop instead.
    return FailedPreconditionError("client state file: " + std::string(written.message()));
  }
  return OkStatus();
}

Status Client::State::LoadState() {
  const size_t d = trainer->NumParameters();
  // The file's directory, so that the first save does not fail for want of it.
  const std::filesystem::path parent = std::filesystem::path(options.state_file).parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      return FailedPreconditionError("client state file " + options.state_file +
                                     ": cannot create its directory: " + error.message());
    }
  }
  StatusOr<std::string> bytes = ReadFileLimited(options.state_file, MaxClientStateBytes(d));
  if (bytes.status().code() == StatusCode::kNotFound) return OkStatus();  // a first start
  auto refuse = [&](const Status& why) {
    return FailedPreconditionError(
        "client state file " + options.state_file + ": " + std::string(why.message()) +
        " (move it away to start without it; under GD-SEC the coordinator then refuses this "
        "client until its run ends)");
  };
  if (!bytes.ok()) return refuse(bytes.status());
  StatusOr<proto::ClientState> decoded = DecodeClientState(*bytes, options.client_id, d);
  if (!decoded.ok()) return refuse(decoded.status());
  const proto::ClientState& state = *decoded;
  if (Status made = MakeCompression(state.compression()); !made.ok()) return refuse(made);
  auto floats = [](const std::string& bytes) {
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
  };
  const proto::CompressionState& now =
      state.pending_round() != 0 ? state.pending() : state.committed();
  if (gdsec != nullptr) {
    auto snapshot = [&](const proto::CompressionState& s) {
      compress::GdSecClient::Snapshot snap;
      snap.h.resize(d);
      std::memcpy(snap.h.data(), s.gdsec_h_le().data(), d * sizeof(int64_t));
      snap.error = floats(s.error_fp32_le());
      return snap;
    };
    // A pending step comes back with its undo window open (to the committed state).
    Status restored = state.pending_round() != 0
                          ? gdsec->RestoreWithUndo(snapshot(state.committed()), snapshot(now))
                          : gdsec->Restore(snapshot(now));
    if (!restored.ok()) return refuse(restored);
    gdsec_model = floats(state.committed().gdsec_model_fp32_le());
    if (state.pending_round() != 0) global = floats(state.pending().gdsec_model_fp32_le());
  } else {
    if (Status set = compressor->SetError(floats(now.error_fp32_le())); !set.ok()) {
      return refuse(set);
    }
    saved_error = floats(state.committed().error_fp32_le());
  }
  run_id = state.run_id();
  pending_round = state.pending_round();
  SOTTO_LOG(kInfo, "client_state_loaded")
      .With("client", options.client_id)
      .With("path", options.state_file)
      .With("run_id", run_id)
      .With("pending_round", pending_round);
  return OkStatus();
}

Status Client::State::Decline(uint64_t round, const Status& why) {
  proto::Envelope e;
  e.set_round_id(round);
  e.set_phase(proto::PHASE_CONTROL);
  e.mutable_error()->set_status_code(static_cast<uint32_t>(why.code()));
  e.mutable_error()->set_message(std::string(why.message()));
  {
    std::lock_guard<std::mutex> lock(mu);
    ++stats.rounds_declined;
  }
  SOTTO_LOG(kWarning, "round_declined")
      .With("client", options.client_id)
      .With("round", round)
      .With("status", why.ToString());
  return Send(std::move(e));
}

Status Client::State::HandleRoundStart(const proto::Envelope& envelope) {
  const proto::RoundStart& start = envelope.round_start();
  const uint64_t round = start.round();
  // An unresolved round (the coordinator restarted it, or never told us): its change goes.
  RETURN_IF_ERROR(Rollback());
  const size_t d = trainer->NumParameters();
  if (start.model_case() != proto::RoundStart::kParameters || start.parameters().dimension() != d ||
      start.parameters().fp32_le().size() != d * sizeof(float)) {
    return Decline(round, InvalidArgumentError("the model does not match the trainer's " +
                                               std::to_string(d) + " parameters"));
  }
  uint64_t support_size = 0;
  if (start.has_secure_aggregation()) {
    const proto::Support& s = start.secure_aggregation().support();
    support_size = s.dense() ? s.dimension() : static_cast<uint64_t>(s.indices_size());
  }
  const uint64_t need = EstimateRoundMemory(d, start.compression(), support_size);
  if (options.memory_budget_bytes != 0 && need > options.memory_budget_bytes) {
    return Decline(round, ResourceExhaustedError("the round needs about " + std::to_string(need) +
                                                 " bytes, over the memory budget of " +
                                                 std::to_string(options.memory_budget_bytes)));
  }
  // Compression: a compressor (or GD-SEC state) per config; its state survives rounds and
  // reconnects.
  const bool dense = proto::IsDense(start.compression());
  const bool is_gdsec = proto::IsGdSec(start.compression());
  if (!dense) {
    if ((compressor == nullptr && gdsec == nullptr) ||
        start.compression().SerializeAsString() != compression_config.SerializeAsString()) {
      Status made = MakeCompression(start.compression());
      if (!made.ok()) return Decline(round, made);
    }
    if (is_gdsec) {
      gdsec->ClearUndo();  // an earlier step is final: this round's Undo must not reach it
    } else {
      saved_error.assign(compressor->error().begin(), compressor->error().end());
    }
  }
  pending_round = round;

  // Train.
  global.resize(d);
  std::memcpy(global.data(), start.parameters().fp32_le().data(), d * sizeof(float));
  update.resize(d);
  core::RoundContext context;
  context.round = round;
  context.seed = DeriveSeed(DeriveSeed(options.seed, round), kStreamTrain);
  StatusOr<core::TrainOutput> output = trainer->Train(global, context, update);
  if (!output.ok()) {
    RETURN_IF_ERROR(Rollback());
    return output.status().WithContext("trainer, round " + std::to_string(round));
  }
  for (float v : update) {
    if (!std::isfinite(v)) {
      RETURN_IF_ERROR(Rollback());
      return Decline(round, InvalidArgumentError("the trainer produced a non-finite update"));
    }
  }
  if (start.has_secure_aggregation()) return RunSecureRound(start, *output);

  proto::Envelope reply;
  reply.set_round_id(round);
  reply.set_phase(proto::PHASE_TRAIN);
  proto::Update* u = reply.mutable_update();
  u->set_round(round);
  u->set_weight(static_cast<double>(std::max<uint64_t>(output->num_examples, 1)));
  u->set_train_loss(output->train_loss);
  u->set_num_examples(output->num_examples);
  if (dense) {
    u->mutable_dense_fp32_le()->assign(reinterpret_cast<const char*>(update.data()),
                                       d * sizeof(float));
  } else {
    if (is_gdsec) {
      // The threshold rule scales by the movement since the model of the last round this
      // client's input counted in (none before its first: it then sends every coordinate).
      movement.clear();
      if (gdsec_model.size() == d &&
          start.compression().gdsec().rule() == proto::GD_SEC_RULE_THRESHOLD) {
        movement.resize(d);
        for (size_t i = 0; i < d; ++i) movement[i] = global[i] - gdsec_model[i];
      }
      RETURN_IF_ERROR(gdsec->Encode(update, movement, &sparse));
    } else {
      RETURN_IF_ERROR(compressor->Compress(update, round, &sparse));
    }
    compress::EncodeOptions encode;
    encode.value_coding = sparse.format.value_coding;
    RETURN_IF_ERROR(compress::EncodeSparseTo(d, sparse.indices, sparse.values, encode, &message));
    u->mutable_sparse()->assign(reinterpret_cast<const char*>(message.data()), message.size());
    RETURN_IF_ERROR(SaveState());  // before the update can count
  }
  return Send(std::move(reply));
}

Status Client::State::RunSecureRound(const proto::RoundStart& start,
                                     const core::TrainOutput& output) {
  const uint64_t round = start.round();
  const size_t d = update.size();
  StatusOr<secagg::RoundConfig> parsed = proto::FromProto(start.secure_aggregation());
  if (!parsed.ok()) {
    RETURN_IF_ERROR(Rollback());
    return Decline(round, parsed.status());
  }
  const secagg::RoundConfig config = *std::move(parsed);
  if (config.support.dim() != d || config.round_id != round || config.run_id != run_id) {
    RETURN_IF_ERROR(Rollback());
    return Decline(round, InvalidArgumentError("secure-aggregation parameters for another "
                                               "model, round or run"));
  }
  std::span<const uint32_t> support;
  if (config.support.is_dense()) {
    if (all_indices.size() != d) {
      all_indices.resize(d);
      std::iota(all_indices.begin(), all_indices.end(), uint32_t{0});
    }
    support = all_indices;
  } else {
    support = config.support.indices();
  }
  // The weight is clipped to the round's max_weight (documented in the config).
  const double weight =
      static_cast<double>(std::clamp<uint64_t>(output.num_examples, 1, config.max_weight));
  Prng prng(DeriveSeed(DeriveSeed(options.seed, round), kStreamQuantize));
  secagg::ClientInput input;
  if (gdsec != nullptr) {
    // GD-SEC's integers go on the ring as they are (weight 1); clipping stays in e_m.
    if (config.fixed_point.scale != std::ldexp(1.0, compress::kGdSecFracBits) ||
        config.max_weight != 1) {
      RETURN_IF_ERROR(Rollback());
      return Decline(round, InvalidArgumentError("a GD-SEC round needs fixed-point scale 2^" +
                                                 std::to_string(compress::kGdSecFracBits) +
                                                 " and max_weight 1"));
    }
    q.resize(support.size());
    Status encoded = gdsec->EncodeOnSupport(update, support, config.fixed_point.clip, q);
    if (!encoded.ok()) {
      RETURN_IF_ERROR(Rollback());
      return Decline(round, encoded);
    }
    const uint64_t mask = secagg::RingMaxElement(config.fixed_point.ring);
    input.values.resize(support.size());
    for (size_t i = 0; i < support.size(); ++i)
      input.values[i] = static_cast<uint64_t>(q[i]) & mask;
    input.weight = 1;
  } else if (compressor == nullptr) {
    if (!config.support.is_dense()) {
      RETURN_IF_ERROR(Rollback());
      return Decline(round, InvalidArgumentError("a sparse support needs compression"));
    }
    ASSIGN_OR_RETURN(input, secagg::EncodeClientInput(config, update, weight, prng));
  } else {
    values.resize(support.size());
    RETURN_IF_ERROR(compressor->CompressOnSupport(update, support, values));
    ASSIGN_OR_RETURN(input, secagg::EncodeClientInput(config, values, weight, prng));
    // What the ring carries for a value is q / scale * max_weight / w; the rest (clipping,
    // rounding) goes back into the error memory.
    const int shift = 64 - static_cast<int>(config.fixed_point.ring);
    const double unit = static_cast<double>(config.max_weight) /
                        (config.fixed_point.scale * static_cast<double>(input.weight));
    for (size_t i = 0; i < support.size(); ++i) {
      const int64_t q = static_cast<int64_t>(input.values[i] << shift) >> shift;
      values[i] -= static_cast<float>(static_cast<double>(q) * unit);
    }
    RETURN_IF_ERROR(compressor->AddResidual(support, values));
  }
  SystemRandom random;
  secagg::ClientOptions sopts;
  sopts.num_threads = options.threads;
  StatusOr<std::unique_ptr<secagg::SecAggClient>> made =
      secagg::SecAggClient::Create(config, secagg_id, std::move(input), random, sopts);
  if (!made.ok()) {
    RETURN_IF_ERROR(Rollback());
    return Decline(round, made.status());
  }
  std::unique_ptr<secagg::SecAggClient> client = *std::move(made);
  auto send = [&](const secagg::ClientMessage& m) -> Status {
    proto::Envelope e;
    e.set_round_id(round);
    proto::ClientMessageToEnvelope(m, &e);
    Status sent = Send(e);
    proto::WipeSecrets(&e);
    return sent;
  };
  ASSIGN_OR_RETURN(secagg::ClientMessage advertise, client->Start());
  RETURN_IF_ERROR(SaveState());  // before the input can count
  RETURN_IF_ERROR(send(advertise));
  // Answer the server until RoundEnd (which always comes, whatever happened to this client).
  while (true) {
    ASSIGN_OR_RETURN(proto::Envelope e, Receive(options.idle_timeout));
    switch (e.body_case()) {
      case proto::Envelope::kRoundEnd:
        if (e.round_end().round() == round || e.round_end().run_finished()) {
          RETURN_IF_ERROR(HandleRoundEnd(e.round_end()));
          return OkStatus();
        }
        continue;  // a stale RoundEnd
      case proto::Envelope::kRoundStart:
        deferred = std::move(e);  // a new round: this one is over for us
        return OkStatus();
      case proto::Envelope::kShareKeysRequest:
      case proto::Envelope::kMaskedInputRequest:
      case proto::Envelope::kUnmaskRequest:
      case proto::Envelope::kAbortRound: {
        if (e.round_id() != round || e.run_id() != run_id) continue;  // stale
        if (client->phase() == secagg::ClientPhase::kAborted) continue;
        StatusOr<secagg::ServerMessage> m = proto::ServerMessageFromEnvelope(e);
        if (!m.ok()) {
          SOTTO_LOG(kWarning, "secagg_message_refused").With("status", m.status().ToString());
          continue;
        }
        StatusOr<std::optional<secagg::ClientMessage>> reply = client->Handle(*m);
        if (!reply.ok()) {
          SOTTO_LOG(kWarning, "secagg_client_aborted")
              .With("client", options.client_id)
              .With("round", round)
              .With("status", reply.status().ToString());
          continue;  // wait for RoundEnd (DROPPED or ABORTED) to roll back
        }
        if (reply->has_value()) RETURN_IF_ERROR(send(**reply));
        continue;
      }
      default:
        continue;  // heartbeats, errors: nothing to do mid-round
    }
  }
}

Status Client::State::Session(std::shared_ptr<net::Connection> c) {
  inbox = net::Inbox::Create();
  deferred.reset();
  sequence = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    connection = c;
  }
  c->Start(inbox->Callbacks());
  struct Closer {
    State* s;
    ~Closer() {
      std::shared_ptr<net::Connection> conn;
      {
        std::lock_guard<std::mutex> lock(s->mu);
        conn = std::move(s->connection);
        s->connection = nullptr;
      }
      if (conn != nullptr) {
        const net::ConnectionStats cs = conn->stats();
        {
          std::lock_guard<std::mutex> lock(s->mu);
          s->stats.bytes_sent += cs.bytes_sent;
        }
        conn->Close();
      }
    }
  } closer{this};

  proto::Envelope hello;
  hello.set_phase(proto::PHASE_HANDSHAKE);
  proto::Hello* h = hello.mutable_hello();
  h->set_min_protocol_version(net::kProtocolVersion);
  h->set_max_protocol_version(net::kProtocolVersion);
  h->set_client_id(options.client_id);
  *h->mutable_capabilities() = options.capabilities;
  if (options.memory_budget_bytes != 0) {
    h->mutable_capabilities()->set_memory_budget_bytes(options.memory_budget_bytes);
  }
  if (options.uplink_bytes_per_second != 0) {
    h->mutable_capabilities()->set_uplink_bytes_per_second(options.uplink_bytes_per_second);
  }
  h->set_software_version("sotto-client/1");
  h->set_last_run_id(run_id);
  h->set_pending_round(pending_round);
  RETURN_IF_ERROR(Send(std::move(hello)));

  ASSIGN_OR_RETURN(proto::Envelope welcome, Receive(options.welcome_timeout));
  if (welcome.body_case() != proto::Envelope::kWelcome) {
    return UnavailableError("the coordinator answered Hello with something other than Welcome");
  }
  if (welcome.welcome().has_refused()) {
    const proto::Welcome::Refused& r = welcome.welcome().refused();
    const std::string what =
        "refused by the coordinator (" + proto::RefusalReason_Name(r.reason()) + "): " + r.detail();
    if (r.retry_after_ms() == 0) return FailedPreconditionError(what);
    SleepInterruptible(std::chrono::milliseconds(r.retry_after_ms()));
    return UnavailableError(what);
  }
  const proto::Welcome::Accepted& accepted = welcome.welcome().accepted();
  if (accepted.protocol_version() != net::kProtocolVersion) {
    return FailedPreconditionError("the coordinator chose protocol version " +
                                   std::to_string(accepted.protocol_version()));
  }
  if (run_id != 0 && accepted.run_id() != run_id) {
    // A new run (the coordinator started afresh): nothing of the old one's compression state
    // belongs to it. GD-SEC's h_m in particular must restart from zero with the server's h.
    SOTTO_LOG(kInfo, "client_new_run")
        .With("client", options.client_id)
        .With("old_run_id", run_id)
        .With("run_id", accepted.run_id());
    pending_round = 0;
    compressor.reset();
    gdsec.reset();
    gdsec_model.clear();
    compression_config.Clear();
  }
  run_id = accepted.run_id();
  secagg_id = accepted.secagg_id();
  {
    std::lock_guard<std::mutex> lock(mu);
    ++stats.connections;
  }
  SOTTO_LOG(kInfo, "client_welcomed")
      .With("client", options.client_id)
      .With("run_id", run_id)
      .With("secagg_id", secagg_id);

  while (true) {
    ASSIGN_OR_RETURN(proto::Envelope e, Receive(options.idle_timeout));
    switch (e.body_case()) {
      case proto::Envelope::kRoundStart:
        if (e.run_id() != run_id) continue;
        RETURN_IF_ERROR(HandleRoundStart(e));
        break;
      case proto::Envelope::kRoundEnd:
        RETURN_IF_ERROR(HandleRoundEnd(e.round_end()));
        break;
      case proto::Envelope::kError:
        SOTTO_LOG(kWarning, "coordinator_error")
            .With("client", options.client_id)
            .With("message", e.error().message());
        break;
      default:
        break;  // heartbeats; stale protocol messages of a round we left
    }
    if (finished) return OkStatus();
  }
}

// ---- Client --------------------------------------------------------------------------------

Client::Client(ClientOptions options, core::Trainer* trainer, std::shared_ptr<net::Dialer> dialer,
               Clock* clock)
    : state_(std::make_unique<State>(std::move(options), trainer, std::move(dialer), clock)) {}

Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options, core::Trainer* trainer,
                                                 std::shared_ptr<net::Dialer> dialer,
                                                 Clock* clock) {
  RETURN_IF_ERROR(ValidateClientOptions(options));
  if (trainer == nullptr) return InvalidArgumentError("client: trainer is null");
  if (dialer == nullptr) return InvalidArgumentError("client: dialer is null");
  if (clock == nullptr) return InvalidArgumentError("client: clock is null");
  if (trainer->NumParameters() == 0) return InvalidArgumentError("client: the model is empty");
  return std::unique_ptr<Client>(new Client(std::move(options), trainer, std::move(dialer), clock));
}

Status Client::Run() {
  State& s = *state_;
  if (!s.options.state_file.empty() && !s.state_loaded) {
    RETURN_IF_ERROR(s.LoadState());
    s.state_loaded = true;
  }
  uint32_t failures = 0;  // consecutive failed attempts
  Prng jitter(DeriveSeed(s.options.seed, 0x6a177e5));
  while (!s.stop.load()) {
    StatusOr<std::shared_ptr<net::Connection>> c = s.Dial();
    Status outcome;
    if (!c.ok()) {
      outcome = c.status();
      std::lock_guard<std::mutex> lock(s.mu);
      ++s.stats.failed_dials;
    } else {
      const uint64_t before = s.stats.connections;
      outcome = s.Session(*std::move(c));
      if (outcome.ok()) return OkStatus();             // the run finished
      if (s.stats.connections > before) failures = 0;  // it was welcomed: a fresh backoff
    }
    if (s.stop.load()) break;
    if (outcome.code() == StatusCode::kCancelled) break;
    if (!IsConnectionLoss(outcome)) return outcome;
    ++failures;
    if (s.options.reconnect.max_attempts != 0 && failures >= s.options.reconnect.max_attempts) {
      return UnavailableError("gave up after " + std::to_string(failures) +
                              " failed attempts; last: " + outcome.ToString());
    }
    // Jittered exponential backoff: base * 2^(failures-1), capped; `jitter` of it is random.
    const double base =
        std::min(static_cast<double>(s.options.reconnect.max.count()),
                 static_cast<double>(s.options.reconnect.initial.count()) *
                     std::ldexp(1.0, static_cast<int>(std::min<uint32_t>(failures - 1, 30))));
    const double wait_ms =
        base * (1.0 - s.options.reconnect.jitter + s.options.reconnect.jitter * jitter.Uniform());
    SOTTO_LOG(kInfo, "client_reconnect")
        .With("client", s.options.client_id)
        .With("attempt", failures)
        .With("wait_ms", wait_ms)
        .With("after", outcome.ToString());
    s.SleepInterruptible(std::chrono::duration_cast<Clock::Duration>(
        std::chrono::duration<double, std::milli>(wait_ms)));
  }
  return CancelledError("client stopped");
}

void Client::Stop() {
  State& s = *state_;
  s.stop.store(true);
  std::shared_ptr<net::Connection> c;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    c = s.connection;
  }
  if (c != nullptr) c->Close();
}

ClientStats Client::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  ClientStats stats = state_->stats;
  // Bytes of the live connection (closed ones were added when they closed).
  if (state_->connection != nullptr) stats.bytes_sent += state_->connection->stats().bytes_sent;
  return stats;
}

std::vector<float> Client::error_memory() const {
  std::span<const float> e;
  if (state_->compressor != nullptr) e = state_->compressor->error();
  if (state_->gdsec != nullptr) e = state_->gdsec->error();
  return std::vector<float>(e.begin(), e.end());
}

std::vector<int64_t> Client::gdsec_h() const {
  if (state_->gdsec == nullptr) return {};
  std::span<const int64_t> h = state_->gdsec->h_fixed();
  return std::vector<int64_t>(h.begin(), h.end());
}

}  // namespace sotto::client
