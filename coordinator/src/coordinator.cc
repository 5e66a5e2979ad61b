#include "sotto/coordinator/coordinator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <utility>

#include "sotto/base/logging.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/coordinator/checkpoint_store.h"
#include "sotto/coordinator/round_manager.h"
#include "sotto/core/aggregate.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/gdsec.h"
#include "sotto/core/compress/sparse_codec.h"
#include "sotto/crypto/fixed_point.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/proto/parse.h"
#include "sotto/proto/secagg_convert.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/support.h"

namespace sotto::coordinator {
namespace {

// Seed streams of the run seed (each random choice has its own).
enum SeedStream : uint64_t {
  kStreamSelection = 1,
  kStreamSecAgg = 2,
};

constexpr uint32_t kCheckpointFormat = 1;

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

uint64_t Millis(Clock::Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// Frame bytes of an envelope on the wire (our encodings are canonical, so the serialized size
// is what was sent or received).
uint64_t FrameBytes(const proto::Envelope& envelope) {
  return net::kFrameHeaderBytes + envelope.ByteSizeLong();
}

void FloatsToBytes(std::span<const float> values, std::string* out) {
  out->resize(values.size() * sizeof(float));
  std::memcpy(out->data(), values.data(), out->size());  // little-endian hosts only (x86, arm)
}

template <typename T>
StatusOr<std::vector<T>> BytesToValues(const std::string& bytes, size_t expected,
                                       std::string_view field) {
  if (bytes.size() != expected * sizeof(T)) {
    return DataLossError("checkpoint: " + std::string(field) + " holds " +
                         std::to_string(bytes.size()) + " bytes, expected " +
                         std::to_string(expected * sizeof(T)));
  }
  std::vector<T> values(expected);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// GD-SEC's update for the strategy: (h + sum) / the number of clients whose h_m is in h once
// this round's contributors join.
StatusOr<std::vector<float>> GdSecGradient(const compress::GdSecServer& server,
                                           std::span<const int64_t> sum,
                                           const std::set<std::string>& members,
                                           const std::vector<std::string>& contributors) {
  size_t count = members.size();
  for (const std::string& id : contributors) count += members.count(id) == 0 ? 1 : 0;
  std::vector<float> gradient(sum.size());
  RETURN_IF_ERROR(server.Estimate(sum, gradient));
  const float inv = 1.0f / static_cast<float>(std::max<size_t>(count, 1));
  for (float& g : gradient) g *= inv;
  return gradient;
}

}  // namespace

// ---- Options -------------------------------------------------------------------------------

Status ValidateCoordinatorOptions(const CoordinatorOptions& o) {
  if (o.num_rounds == 0) return InvalidArgumentError("rounds.num_rounds: must be at least 1");
  const SelectionOptions& s = o.selection;
  if (!(s.fraction > 0 && s.fraction <= 1)) {
    return InvalidArgumentError("rounds.fraction: must be in (0, 1]");
  }
  if (s.min_clients == 0) return InvalidArgumentError("rounds.min_clients: must be at least 1");
  if (s.max_clients != 0 && s.max_clients < s.min_clients) {
    return InvalidArgumentError("rounds.max_clients: must be 0 (no cap) or >= min_clients");
  }
  if (!(s.over_selection >= 0 && s.over_selection <= 10)) {
    return InvalidArgumentError("rounds.over_selection: must be in [0, 10]");
  }
  const RoundDeadlines& d = o.deadlines;
  for (auto [value, name] : {std::pair{d.hello, "net.handshake_timeout_ms"},
                             std::pair{d.train, "rounds.train_timeout_ms"},
                             std::pair{d.advertise_keys, "rounds.advertise_keys_timeout_ms"},
                             std::pair{d.share_keys, "rounds.share_keys_timeout_ms"},
                             std::pair{d.masked_input, "rounds.masked_input_timeout_ms"},
                             std::pair{d.unmask, "rounds.unmask_timeout_ms"}}) {
    if (value <= Clock::Duration::zero()) {
      return InvalidArgumentError(std::string(name) + ": must be positive");
    }
  }
  if (o.initial_model.empty()) return InvalidArgumentError("model: the model has no parameters");
  if (o.initial_model.size() > (uint64_t{1} << 31)) {
    return InvalidArgumentError("model: more than 2^31 parameters");
  }
  for (float v : o.initial_model) {
    if (!std::isfinite(v)) return InvalidArgumentError("model: a non-finite initial parameter");
  }
  RETURN_IF_ERROR(core::MakeStrategy(o.strategy).status().WithContext("strategy"));
  RETURN_IF_ERROR(proto::ValidateCompressionConfig(o.compression));
  if (o.compression.error_feedback() == proto::ERROR_FEEDBACK_STEP_AHEAD) {
    return InvalidArgumentError(
        "compression.error_feedback: step-ahead error feedback is available in `sotto sim` "
        "only (clients would need the server's step); use classic");
  }
  if (o.compression.averaging_period() != 0) {
    return InvalidArgumentError(
        "compression.averaging_period: error averaging is available in `sotto sim` only");
  }
  const SecureAggregationOptions& a = o.secure_aggregation;
  if (a.enabled) {
    if (s.min_clients < 3) {
      return InvalidArgumentError(
          "rounds.min_clients: secure aggregation needs at least 3 clients per round (with 2, "
          "each could subtract its own input from the sum)");
    }
    if (a.policy == secagg::SupportPolicy::kUnionThreshold) {
      return InvalidArgumentError(
          "secure_aggregation.support_policy: union_threshold needs a dense counting round per "
          "round and is not served by the coordinator; use global_topk, shared_random or dense");
    }
    if (a.policy != secagg::SupportPolicy::kDense && proto::IsDense(o.compression)) {
      return InvalidArgumentError(
          "secure_aggregation.support_policy: a sparse support needs a compression.sparsifier "
          "(its error feedback keeps what the support leaves out); use dense for dense updates");
    }
    if (a.policy != secagg::SupportPolicy::kDense && !(a.density > 0 && a.density <= 1)) {
      return InvalidArgumentError("secure_aggregation.support_density: must be in (0, 1]");
    }
    if (!(a.explore >= 0 && a.explore < 1)) {
      return InvalidArgumentError("secure_aggregation.exploration: must be in [0, 1)");
    }
    if (!(a.clip > 0 && a.clip < 0x1p22)) {
      return InvalidArgumentError("secure_aggregation.clip: must be in (0, 2^22)");
    }
    if (a.ring_bits != 0 && a.ring_bits != 32 && a.ring_bits != 64) {
      return InvalidArgumentError("secure_aggregation.ring_bits: must be 0, 32 or 64");
    }
    if (a.degree < -1 || (a.degree > 0 && a.degree % 2 != 0)) {
      return InvalidArgumentError(
          "secure_aggregation.degree: must be -1 (recommended), 0 (complete graph) or even");
    }
    if (a.max_weight == 0 || a.max_weight > (uint64_t{1} << 24)) {
      return InvalidArgumentError("secure_aggregation.max_weight: must be in [1, 2^24]");
    }
    if (a.server_threads < 1) {
      return InvalidArgumentError("secure_aggregation.server_threads: must be at least 1");
    }
  }
  if (o.checkpoint_every == 0) {
    return InvalidArgumentError("checkpoint.every_rounds: must be at least 1");
  }
  if (proto::IsGdSec(o.compression)) {
    if (!o.checkpoint_dir.empty() && o.checkpoint_every != 1) {
      return InvalidArgumentError(
          "checkpoint.every_rounds: GD-SEC needs a checkpoint after every round (a restart "
          "from an older one would leave h behind the rounds clients have committed)");
    }
    if (a.enabled && a.ring_bits == 32) {
      // Each client's integers are bounded by ceil(clip * 2^kGdSecFracBits); their sum must
      // not wrap the ring.
      const double most = std::ceil(static_cast<double>(s.max_clients) * (1.0 + s.over_selection));
      if (s.max_clients == 0 ||
          most * std::ceil(a.clip * std::ldexp(1.0, compress::kGdSecFracBits)) >= 0x1p31) {
        return InvalidArgumentError(
            "secure_aggregation.ring_bits: GD-SEC's sums do not fit a 2^32 ring for this clip "
            "and rounds.max_clients (needs max_clients * (1 + over_selection) * clip * 2^24 < "
            "2^31); use 0 (automatic) or 64");
      }
    }
  }
  if (o.checkpoint_keep == 0) return InvalidArgumentError("checkpoint.keep: must be at least 1");
  if (o.evaluate_every == 0) return InvalidArgumentError("evaluate_every: must be at least 1");
  if (o.max_registered_clients == 0) {
    return InvalidArgumentError("max_registered_clients: must be at least 1");
  }
  return OkStatus();
}

// ---- Round log -----------------------------------------------------------------------------

std::string RoundSummaryJson(const RoundSummary& s) {
  std::ostringstream o;
  auto list = [&](const std::vector<std::string>& v) {
    o << '[';
    for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << '"' << JsonEscape(v[i]) << '"';
    o << ']';
  };
  o << "{\"round\":" << s.round << ",\"outcome\":\"" << JsonEscape(s.outcome) << "\"";
  o << ",\"selected\":";
  list(s.selected);
  o << ",\"contributors\":";
  list(s.contributors);
  o << ",\"dropped\":{";
  bool first = true;
  for (const auto& [id, reason] : s.dropped) {
    o << (first ? "" : ",") << '"' << JsonEscape(id) << "\":\"" << JsonEscape(reason) << '"';
    first = false;
  }
  o << "},\"uplink_bytes\":" << s.uplink_bytes << ",\"downlink_bytes\":" << s.downlink_bytes
    << ",\"dense_uplink_bytes\":" << s.dense_uplink_bytes << ",\"support_size\":" << s.support_size
    << ",\"seconds\":" << JsonNumber(s.seconds) << ",\"phase_seconds\":{";
  first = true;
  for (const auto& [phase, seconds] : s.phase_seconds) {
    o << (first ? "" : ",") << '"' << JsonEscape(phase) << "\":" << JsonNumber(seconds);
    first = false;
  }
  o << "},\"train_loss\":" << JsonNumber(s.train_loss);
  if (s.eval_loss) o << ",\"eval_loss\":" << JsonNumber(*s.eval_loss);
  if (s.eval_accuracy) o << ",\"eval_accuracy\":" << JsonNumber(*s.eval_accuracy);
  o << '}';
  return o.str();
}

// ---- State ---------------------------------------------------------------------------------

struct Coordinator::Session {
  std::shared_ptr<net::Connection> connection;
  std::string client_id;  // set by Hello
  uint64_t secagg_id = 0;
  proto::Capabilities capabilities;
  Clock::TimePoint accepted_at{};
  bool welcomed = false;
  bool closed = false;
  uint64_t sequence = 0;  // envelopes sent
};

struct Coordinator::Round {
  uint64_t number = 0;
  Clock::TimePoint started{};
  std::vector<std::string> selected;  // sorted
  std::set<std::string> awaiting;     // selected, not yet answered / dropped (plain rounds)
  size_t target = 0;                  // updates that close a plain round early (over-selection)
  std::map<std::string, std::string> dropped;  // client id -> reason
  // Plain rounds: the decoded updates.
  struct Update {
    compress::SparseUpdate sparse;
    std::vector<float> dense;
    bool is_dense = false;
    double weight = 0;
    double loss = 0;
  };
  std::map<std::string, Update> updates;
  Clock::TimePoint train_deadline{};
  // Secure rounds.
  std::optional<secagg::RoundConfig> config;
  std::unique_ptr<RoundManager> manager;
  // GD-SEC: the round's sum of sent values (fixed point), committed to h if the round completes.
  std::vector<int64_t> gdsec_sum;
  // The RoundStart: its header, and its body serialized once for every recipient (the model
  // is most of it), kept for a client that comes back.
  proto::Envelope start_header;
  std::shared_ptr<const net::EncodedBody> start_body;
  RoundSummary summary;
};

struct Coordinator::Store {
  CheckpointStore store;
};

Coordinator::Coordinator(CoordinatorOptions options, Clock* clock, Metrics* metrics)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      alive_(std::make_shared<bool>(true)) {}

Coordinator::~Coordinator() {
  *alive_ = false;
  for (auto& [id, session] : clients_) {
    if (session->connection) session->connection->Close();
  }
  for (auto& session : pending_) {
    if (session->connection) session->connection->Close();
  }
}

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(CoordinatorOptions options, Clock* clock,
                                                           Metrics* metrics) {
  if (clock == nullptr) return InvalidArgumentError("coordinator: clock is null");
  RETURN_IF_ERROR(ValidateCoordinatorOptions(options));
  std::unique_ptr<Coordinator> c(new Coordinator(std::move(options), clock, metrics));
  c->model_ = c->options_.initial_model;
  ASSIGN_OR_RETURN(c->strategy_, core::MakeStrategy(c->options_.strategy));
  if (proto::IsGdSec(c->options_.compression)) {
    ASSIGN_OR_RETURN(compress::GdSecOptions gdsec,
                     proto::GdSecOptionsFromProto(c->options_.compression));
    c->gdsec_ = std::make_unique<compress::GdSecServer>(gdsec, c->model_.size());
  }
  if (c->metrics_ != nullptr) {
    Metrics& m = *c->metrics_;
    m.Describe("sotto_rounds_total", MetricType::kCounter, "Rounds finished, by outcome.");
    m.Describe("sotto_round", MetricType::kGauge, "The last finished round.");
    m.Describe("sotto_connected_clients", MetricType::kGauge, "Clients connected and welcomed.");
    m.Describe("sotto_round_participants", MetricType::kGauge,
               "Clients whose update is in the last round's aggregate.");
    m.Describe("sotto_round_seconds", MetricType::kGauge, "Wall time of the last round.");
    m.Describe("sotto_uplink_bytes_total", MetricType::kCounter,
               "Frame bytes received from selected clients during rounds.");
    m.Describe("sotto_downlink_bytes_total", MetricType::kCounter,
               "Frame bytes sent to selected clients during rounds.");
    m.Describe("sotto_client_drops_total", MetricType::kCounter,
               "Selected clients whose update is not in a round's aggregate, by reason.");
    m.Describe("sotto_refused_messages_total", MetricType::kCounter,
               "Messages refused, by reason.");
    m.Describe("sotto_connections_total", MetricType::kCounter, "Connections accepted.");
    m.Describe("sotto_checkpoints_total", MetricType::kCounter, "Checkpoints written.");
    if (c->gdsec_ != nullptr) {
      m.Describe("sotto_gdsec_members", MetricType::kGauge,
                 "GD-SEC: clients whose h_m is in the server's h.");
    }
    m.Set("sotto_connected_clients", 0);
  }
  if (!c->options_.checkpoint_dir.empty()) {
    ASSIGN_OR_RETURN(CheckpointStore store,
                     CheckpointStore::Open(c->options_.checkpoint_dir,
                                           static_cast<int>(c->options_.checkpoint_keep)));
    c->store_ = std::make_unique<Store>(Store{std::move(store)});
    RETURN_IF_ERROR(c->Resume());
  }
  if (c->run_id_ == 0) {
    SystemRandom random;
    uint8_t bytes[8];
    RETURN_IF_ERROR(random.Fill(bytes));
    std::memcpy(&c->run_id_, bytes, sizeof bytes);
    if (c->run_id_ == 0) c->run_id_ = 1;
  }
  SOTTO_LOG(kInfo, "coordinator_start")
      .With("run_id", c->run_id_)
      .With("rounds", c->options_.num_rounds)
      .With("parameters", c->model_.size())
      .With("resumed_from", c->resumed_from_.value_or(0));
  return c;
}

Status Coordinator::Resume() {
  ASSIGN_OR_RETURN(std::optional<CheckpointStore::Loaded> loaded, store_->store.LoadLatest());
  if (!loaded.has_value()) return OkStatus();
  for (const CheckpointStore::Skipped& skipped : loaded->skipped) {
    SOTTO_LOG(kWarning, "checkpoint_skipped")
        .With("path", skipped.path)
        .With("status", skipped.status.ToString());
  }
  proto::Checkpoint ckpt;
  RETURN_IF_ERROR(proto::ParseStrict(loaded->payload, &ckpt).WithContext(loaded->path));
  const std::string where = "checkpoint " + loaded->path;
  if (ckpt.format_version() != kCheckpointFormat) {
    return DataLossError(where + ": unknown format_version " +
                         std::to_string(ckpt.format_version()));
  }
  const std::string fingerprint(options_.config_fingerprint.begin(),
                                options_.config_fingerprint.end());
  if (ckpt.config_fingerprint() != fingerprint) {
    return FailedPreconditionError(
        where +
        " was written by a run with another configuration; move the checkpoint "
        "directory away to start a new run, or restore the run's configuration");
  }
  const size_t d = options_.initial_model.size();
  if (ckpt.model().dimension() != d) {
    return FailedPreconditionError(where + ": the model has " +
                                   std::to_string(ckpt.model().dimension()) +
                                   " parameters, the configuration " + std::to_string(d));
  }
  if (ckpt.run_id() == 0 || ckpt.round() != loaded->round || ckpt.round() > options_.num_rounds) {
    return DataLossError(where + ": run id or round out of range");
  }
  ASSIGN_OR_RETURN(model_, BytesToValues<float>(ckpt.model().fp32_le(), d, "model"));
  for (float v : model_) {
    if (!std::isfinite(v)) return DataLossError(where + ": a non-finite parameter");
  }
  if (!ckpt.last_aggregate_fp32_le().empty()) {
    ASSIGN_OR_RETURN(last_aggregate_,
                     BytesToValues<float>(ckpt.last_aggregate_fp32_le(), d, "last_aggregate"));
  }
  core::StrategyMoments moments;
  const proto::StrategyState& st = ckpt.strategy();
  if (st.name() != strategy_->Name()) {
    return FailedPreconditionError(where + ": strategy " + st.name() + ", configured " +
                                   std::string(strategy_->Name()));
  }
  if (!st.first_moment_fp64_le().empty()) {
    ASSIGN_OR_RETURN(moments.first, BytesToValues<double>(st.first_moment_fp64_le(), d, "m"));
    ASSIGN_OR_RETURN(moments.second, BytesToValues<double>(st.second_moment_fp64_le(), d, "v"));
  }
  RETURN_IF_ERROR(strategy_->RestoreMoments(std::move(moments)).WithContext(where));
  if (gdsec_ != nullptr) {
    const proto::GdSecServerState& g = ckpt.gdsec();
    ASSIGN_OR_RETURN(compress::GdSecOptions gdsec,
                     proto::GdSecOptionsFromProto(options_.compression));
    if (!ckpt.has_gdsec() || g.frac_bits() != static_cast<uint32_t>(compress::kGdSecFracBits) ||
        compress::GdSecBetaQ(g.beta()) != compress::GdSecBetaQ(gdsec.beta)) {
      return DataLossError(where + ": no GD-SEC state for this configuration");
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> h, BytesToValues<int64_t>(g.h_fixed_le(), d, "gdsec.h"));
    RETURN_IF_ERROR(gdsec_->Restore(h).WithContext(where));
    gdsec_members_.clear();
    for (const std::string& id : g.members()) gdsec_members_.insert(id);
  }
  last_contributed_.clear();
  for (const auto& [id, round] : ckpt.last_contributed_round()) {
    if (round == 0 || round > ckpt.round()) {
      return DataLossError(where + ": last_contributed_round out of range");
    }
    last_contributed_.emplace(id, round);
  }
  run_id_ = ckpt.run_id();
  completed_rounds_ = ckpt.round();
  resumed_from_ = ckpt.round();
  SOTTO_LOG(kInfo, "checkpoint_resumed").With("path", loaded->path).With("round", ckpt.round());
  return OkStatus();
}

Status Coordinator::SaveCheckpoint() {
  if (store_ == nullptr) return OkStatus();
  proto::Checkpoint ckpt;
  ckpt.set_format_version(kCheckpointFormat);
  ckpt.set_run_id(run_id_);
  ckpt.set_round(completed_rounds_);
  ckpt.mutable_model()->set_dimension(model_.size());
  FloatsToBytes(model_, ckpt.mutable_model()->mutable_fp32_le());
  proto::StrategyState* st = ckpt.mutable_strategy();
  st->set_name(std::string(strategy_->Name()));
  st->set_step(completed_rounds_);
  core::StrategyMoments moments = strategy_->Moments();
  if (!moments.first.empty()) {
    st->mutable_first_moment_fp64_le()->assign(reinterpret_cast<const char*>(moments.first.data()),
                                               moments.first.size() * 8);
    st->mutable_second_moment_fp64_le()->assign(
        reinterpret_cast<const char*>(moments.second.data()), moments.second.size() * 8);
  }
  ckpt.set_config_fingerprint(
      std::string(options_.config_fingerprint.begin(), options_.config_fingerprint.end()));
  ckpt.set_created_unix_ms(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch())
          .count()));
  for (const auto& [id, round] : last_contributed_) {
    (*ckpt.mutable_last_contributed_round())[id] = round;
  }
  if (!last_aggregate_.empty())
    FloatsToBytes(last_aggregate_, ckpt.mutable_last_aggregate_fp32_le());
  ckpt.set_seed(options_.seed);
  if (gdsec_ != nullptr) {
    proto::GdSecServerState* g = ckpt.mutable_gdsec();
    g->set_beta(options_.compression.gdsec().beta());
    g->set_frac_bits(compress::kGdSecFracBits);
    std::span<const int64_t> h = gdsec_->h_fixed();
    g->mutable_h_fixed_le()->assign(reinterpret_cast<const char*>(h.data()), h.size() * 8);
    for (const std::string& id : gdsec_members_) g->add_members(id);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    if (!ckpt.SerializeToCodedStream(&coded)) return InternalError("checkpoint: serialize failed");
  }
  RETURN_IF_ERROR(store_->store.Save(
      completed_rounds_, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())));
  if (metrics_ != nullptr) metrics_->Add("sotto_checkpoints_total", 1);
  return OkStatus();
}

// ---- Connections ---------------------------------------------------------------------------

size_t Coordinator::connected_clients() const { return clients_.size(); }

bool Coordinator::CountedIn(const std::string& client_id, uint64_t round) const {
  auto it = last_contributed_.find(client_id);
  return it != last_contributed_.end() && it->second == round;
}

std::span<const int64_t> Coordinator::gdsec_h() const {
  if (gdsec_ == nullptr) return {};
  return gdsec_->h_fixed();
}

void Coordinator::Accept(std::shared_ptr<net::Connection> connection) {
  auto session = std::make_shared<Session>();
  session->connection = connection;
  session->accepted_at = clock_->Now();
  pending_.push_back(session);
  if (metrics_ != nullptr) metrics_->Add("sotto_connections_total", 1);
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<Session> weak = session;
  net::ConnectionCallbacks callbacks;
  callbacks.on_message = [this, alive, weak](proto::Envelope envelope) {
    auto live = alive.lock();
    auto s = weak.lock();
    if (live && *live && s) OnMessage(s, std::move(envelope));
  };
  callbacks.on_closed = [this, alive, weak](const Status& status) {
    auto live = alive.lock();
    auto s = weak.lock();
    if (live && *live && s) OnClosed(s, status);
  };
  connection->Start(std::move(callbacks));
}

void Coordinator::Send(Session& session, proto::Envelope& envelope) {
  if (session.closed || !session.connection) return;
  envelope.set_protocol_version(net::kProtocolVersion);
  if (envelope.run_id() == 0) envelope.set_run_id(run_id_);
  envelope.set_sequence(++session.sequence);
  const uint64_t bytes = FrameBytes(envelope);
  AfterSend(session, session.connection->Send(envelope), bytes);
}

void Coordinator::SendEncoded(Session& session, proto::Envelope& header,
                              const std::shared_ptr<const net::EncodedBody>& body) {
  if (session.closed || !session.connection) return;
  header.set_protocol_version(net::kProtocolVersion);
  if (header.run_id() == 0) header.set_run_id(run_id_);
  header.set_sequence(++session.sequence);
  const uint64_t bytes = net::EncodedFrameBytes(header, *body);
  AfterSend(session, session.connection->SendEncoded(header, body), bytes);
}

void Coordinator::AfterSend(Session& session, const Status& sent, uint64_t bytes) {
  if (!sent.ok()) {
    SOTTO_LOG(kWarning, "send_failed")
        .With("client", session.client_id)
        .With("status", sent.ToString());
    if (round_ != nullptr && !session.client_id.empty() &&
        std::binary_search(round_->selected.begin(), round_->selected.end(), session.client_id)) {
      round_->dropped.emplace(session.client_id, "send failed: " + sent.ToString());
      round_->awaiting.erase(session.client_id);
    }
    session.connection->Close();
    return;
  }
  if (round_ != nullptr && !session.client_id.empty() &&
      std::binary_search(round_->selected.begin(), round_->selected.end(), session.client_id)) {
    round_->summary.downlink_bytes += bytes;
  }
}

void Coordinator::SendTo(const std::string& client_id, proto::Envelope& envelope) {
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return;
  Send(*it->second, envelope);
}

void Coordinator::Refuse(const std::string& reason) {
  if (metrics_ != nullptr) metrics_->Add("sotto_refused_messages_total", 1, {{"reason", reason}});
}

void Coordinator::OnClosed(const std::shared_ptr<Session>& session, const Status& status) {
  session->closed = true;
  std::erase(pending_, session);
  if (!session->client_id.empty()) {
    auto it = clients_.find(session->client_id);
    if (it != clients_.end() && it->second == session) {
      clients_.erase(it);
      SOTTO_LOG(kInfo, "client_disconnected")
          .With("client", session->client_id)
          .With("status", status.ToString());
      // A plain round stops waiting for it; a secure round's deadlines drop it.
      if (round_ != nullptr && round_->awaiting.erase(session->client_id) > 0) {
        round_->dropped.emplace(session->client_id, "disconnected: " + status.ToString());
      }
    }
  }
  if (metrics_ != nullptr) {
    metrics_->Set("sotto_connected_clients", static_cast<double>(clients_.size()));
  }
}

void Coordinator::OnHello(const std::shared_ptr<Session>& session,
                          const proto::Envelope& envelope) {
  const proto::Hello& hello = envelope.hello();
  proto::Envelope reply;
  reply.set_phase(proto::PHASE_HANDSHAKE);
  auto refuse = [&](proto::RefusalReason reason, const std::string& detail, uint64_t retry_ms) {
    proto::Welcome::Refused* refused = reply.mutable_welcome()->mutable_refused();
    refused->set_reason(reason);
    refused->set_detail(detail);
    refused->set_retry_after_ms(retry_ms);
    Send(*session, reply);
    session->connection->Close();
    Refuse("handshake");
  };
  if (hello.min_protocol_version() > net::kProtocolVersion ||
      hello.max_protocol_version() < net::kProtocolVersion ||
      hello.min_protocol_version() > hello.max_protocol_version()) {
    refuse(proto::REFUSAL_REASON_UNSUPPORTED_VERSION,
           "this coordinator speaks protocol version " + std::to_string(net::kProtocolVersion), 0);
    return;
  }
  const std::string& id = envelope.sender_id();  // bound to the certificate by the transport
  if (gdsec_ != nullptr && gdsec_members_.count(id) && hello.last_run_id() != run_id_) {
    refuse(proto::REFUSAL_REASON_STATE_LOST,
           "GD-SEC: the coordinator's h holds this client's state from earlier rounds of run " +
               std::to_string(run_id_) +
               ", and the client came back without it; restore the client's state or start a "
               "new run",
           0);
    return;
  }
  auto known = secagg_ids_.find(id);
  if (known == secagg_ids_.end() && secagg_ids_.size() >= options_.max_registered_clients) {
    refuse(proto::REFUSAL_REASON_FEDERATION_FULL, "the federation is full", 60'000);
    return;
  }
  uint64_t secagg_id = 0;
  if (known != secagg_ids_.end()) {
    secagg_id = known->second;
  } else {
    secagg_id = next_secagg_id_++;
    by_secagg_id_.emplace(secagg_id, id);
    secagg_ids_.emplace(id, secagg_id);
  }
  // A client that reconnects replaces its old connection (which may not have noticed the
  // break yet).
  if (auto it = clients_.find(id); it != clients_.end() && it->second != session) {
    std::shared_ptr<Session> old = it->second;
    clients_.erase(it);
    old->closed = true;
    old->connection->Close();
  }
  std::erase(pending_, session);
  session->client_id = id;
  session->secagg_id = secagg_id;
  session->capabilities = hello.capabilities();
  session->welcomed = true;
  clients_[id] = session;
  proto::Welcome::Accepted* accepted = reply.mutable_welcome()->mutable_accepted();
  accepted->set_protocol_version(net::kProtocolVersion);
  accepted->set_run_id(run_id_);
  accepted->set_secagg_id(secagg_id);
  accepted->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  Send(*session, reply);
  SOTTO_LOG(kInfo, "client_connected").With("client", id).With("secagg_id", secagg_id);
  if (metrics_ != nullptr) {
    metrics_->Set("sotto_connected_clients", static_cast<double>(clients_.size()));
  }
  // The outcome of the round the client holds pending (it lost its connection before RoundEnd,
  // or this coordinator restarted before telling it): COMPLETED exactly when that round's sum
  // has its input. A round still running with this client in it answers when it ends.
  const uint64_t pending = hello.last_run_id() == run_id_ ? hello.pending_round() : 0;
  const bool answered_later =
      pending != 0 && round_ != nullptr && round_->number == pending &&
      std::binary_search(round_->selected.begin(), round_->selected.end(), id);
  if ((pending != 0 && !answered_later) || finished_) {
    const uint64_t told = pending != 0 && !answered_later ? pending : completed_rounds_;
    const bool counted = CountedIn(id, told);
    proto::Envelope end;
    end.set_phase(proto::PHASE_ROUND_END);
    end.set_round_id(told);
    proto::RoundEnd* body = end.mutable_round_end();
    body->set_round(told);
    body->set_outcome(counted ? proto::ROUND_OUTCOME_COMPLETED : proto::ROUND_OUTCOME_DROPPED);
    body->set_run_finished(finished_);
    body->set_reason(counted ? "" : "this round's sum does not hold the client's input");
    Send(*session, end);
  }
  // A client selected for the round in progress that lost its connection before it answered
  // (a network blip, or its process restarted while training) gets the RoundStart again, so
  // that it can still take part instead of being waited for until a deadline.
  if (round_ != nullptr &&
      std::binary_search(round_->selected.begin(), round_->selected.end(), id)) {
    Round& round = *round_;
    bool again = false;
    if (round.manager == nullptr) {
      auto dropped = round.dropped.find(id);
      const bool lost = dropped == round.dropped.end() ||
                        dropped->second.rfind("disconnected", 0) == 0 ||
                        dropped->second.rfind("send failed", 0) == 0;
      if (round.updates.count(id) == 0 && lost) {
        if (dropped != round.dropped.end()) round.dropped.erase(dropped);
        round.awaiting.insert(id);
        again = true;
      }
    } else {
      again = round.manager->phase() == secagg::ServerPhase::kCollectingKeys &&
              round.manager->server().IsLive(secagg_id) &&
              !round.manager->server().AnsweredThisPhase(secagg_id);
    }
    if (again) {
      SOTTO_LOG(kInfo, "round_start_again").With("client", id).With("round", round.number);
      SendEncoded(*session, round.start_header, round.start_body);
    }
  }
}

void Coordinator::OnMessage(const std::shared_ptr<Session>& session, proto::Envelope envelope) {
  Dispatch(session, std::move(envelope));
  // A round moves on as soon as its last awaited message is in, not at the next Tick; a fatal
  // error (a checkpoint that cannot be written) is kept for Tick to return.
  if (round_ != nullptr && pending_error_.ok()) pending_error_ = AdvanceRound();
}

void Coordinator::Dispatch(const std::shared_ptr<Session>& session, proto::Envelope envelope) {
  if (!session->welcomed) {
    if (envelope.body_case() != proto::Envelope::kHello) {
      proto::Envelope error;
      error.set_phase(proto::PHASE_CONTROL);
      error.mutable_error()->set_status_code(
          static_cast<uint32_t>(StatusCode::kFailedPrecondition));
      error.mutable_error()->set_message("the first message must be Hello");
      Send(*session, error);
      session->connection->Close();
      Refuse("before_hello");
      return;
    }
    OnHello(session, envelope);
    return;
  }
  if (envelope.body_case() == proto::Envelope::kHeartbeat) {
    proto::Envelope pong;
    pong.set_phase(proto::PHASE_CONTROL);
    pong.mutable_heartbeat()->set_nonce(envelope.heartbeat().nonce());
    Send(*session, pong);
    return;
  }
  const std::string& id = session->client_id;
  const bool in_round =
      round_ != nullptr && std::binary_search(round_->selected.begin(), round_->selected.end(), id);
  if (in_round) round_->summary.uplink_bytes += FrameBytes(envelope);
  // Replays and strays (BAD_INPUTS rows 10, 12): dropped and counted, the sender is kept.
  if (envelope.run_id() != run_id_ || round_ == nullptr || envelope.round_id() != round_->number) {
    if (envelope.body_case() != proto::Envelope::kError) {
      Refuse("replayed");
      SOTTO_LOG(kWarning, "message_refused")
          .With("client", id)
          .With("reason", "wrong run or round")
          .With("run_id", envelope.run_id())
          .With("round_id", envelope.round_id());
    }
    return;
  }
  if (!in_round) {
    Refuse("not_selected");
    SOTTO_LOG(kWarning, "message_refused").With("client", id).With("reason", "not selected");
    return;
  }
  Round& round = *round_;
  switch (envelope.body_case()) {
    case proto::Envelope::kError: {
      // The client declines the round (e.g. over its memory budget).
      const std::string reason = "declined: " + envelope.error().message();
      if (round.manager == nullptr) {
        round.awaiting.erase(id);
      }
      round.dropped.emplace(id, reason);
      return;
    }
    case proto::Envelope::kUpdate: {
      if (round.manager != nullptr || !round.awaiting.count(id)) {
        Refuse("unexpected");
        return;
      }
      const proto::Update& u = envelope.update();
      Round::Update update;
      update.weight = u.weight();
      update.loss = u.train_loss();
      Status valid = OkStatus();
      const size_t d = model_.size();
      if (u.round() != round.number) {
        valid = InvalidArgumentError("update for round " + std::to_string(u.round()));
      } else if (!(u.weight() > 0) || !std::isfinite(u.weight())) {
        valid = InvalidArgumentError("weight must be positive and finite");
      } else if (u.values_case() == proto::Update::kDenseFp32Le) {
        if (u.dense_fp32_le().size() != d * sizeof(float)) {
          valid =
              InvalidArgumentError("dense update of " + std::to_string(u.dense_fp32_le().size()) +
                                   " bytes, expected " + std::to_string(d * sizeof(float)));
        } else {
          update.is_dense = true;
          update.dense.resize(d);
          std::memcpy(update.dense.data(), u.dense_fp32_le().data(), d * sizeof(float));
          for (float v : update.dense) {
            if (!std::isfinite(v)) valid = InvalidArgumentError("non-finite value (row 8)");
          }
        }
      } else if (u.values_case() == proto::Update::kSparse) {
        const compress::DecodeLimits limits{d, d};
        valid = compress::DecodeSparseInto(
            std::span(reinterpret_cast<const uint8_t*>(u.sparse().data()), u.sparse().size()),
            limits, &update.sparse);
        if (valid.ok() && update.sparse.dim != d) {
          valid = InvalidArgumentError("sparse update of dimension " +
                                       std::to_string(update.sparse.dim));
        }
      } else {
        valid = InvalidArgumentError("update without values");
      }
      round.awaiting.erase(id);
      if (!valid.ok()) {
        Refuse("malformed_update");
        round.dropped.emplace(id, "malformed update: " + valid.ToString());
        return;
      }
      round.updates.emplace(id, std::move(update));
      return;
    }
    case proto::Envelope::kAdvertiseKeys:
    case proto::Envelope::kShareKeysResponse:
    case proto::Envelope::kMaskedInput:
    case proto::Envelope::kUnmaskResponse: {
      if (round.manager == nullptr) {
        Refuse("unexpected");
        return;
      }
      StatusOr<secagg::ClientMessage> message = proto::ClientMessageFromEnvelope(envelope);
      proto::WipeSecrets(&envelope);
      if (!message.ok()) {
        Refuse("malformed");
        round.dropped.emplace(id, "malformed message: " + message.status().ToString());
        return;
      }
      Status delivered = round.manager->Deliver(session->secagg_id, envelope.run_id(),
                                                envelope.round_id(), *std::move(message));
      if (!delivered.ok()) {
        Refuse("protocol");
        SOTTO_LOG(kWarning, "message_refused")
            .With("client", id)
            .With("status", delivered.ToString());
        if (delivered.code() != StatusCode::kPermissionDenied) {
          round.dropped.emplace(id, "protocol: " + delivered.ToString());
        }
      }
      return;
    }
    default:
      Refuse("unexpected");
      SOTTO_LOG(kWarning, "message_refused")
          .With("client", id)
          .With("reason", "unexpected message type");
      return;
  }
}

// ---- Rounds --------------------------------------------------------------------------------

Status Coordinator::Tick() {
  if (!pending_error_.ok()) return pending_error_;
  if (finished_) return OkStatus();
  const Clock::TimePoint now = clock_->Now();
  // Connections that never said Hello.
  for (size_t i = 0; i < pending_.size();) {
    std::shared_ptr<Session> s = pending_[i];
    if (now - s->accepted_at >= options_.deadlines.hello) {
      pending_.erase(pending_.begin() + static_cast<ptrdiff_t>(i));
      s->closed = true;
      s->connection->Close();
      Refuse("hello_timeout");
    } else {
      ++i;
    }
  }
  if (round_ != nullptr) return AdvanceRound();
  if (completed_rounds_ >= options_.num_rounds) {
    FinishRun({});  // resumed from the last round's checkpoint: nobody has been told
    return OkStatus();
  }
  if (clients_.size() >= options_.selection.min_clients) return StartRound();
  return OkStatus();
}

StatusOr<secagg::RoundConfig> Coordinator::SecAggConfig(uint64_t round,
                                                        const std::vector<uint64_t>& ids) {
  const SecureAggregationOptions& a = options_.secure_aggregation;
  const uint64_t n = ids.size();
  const uint64_t d = model_.size();
  const uint64_t secagg_seed = DeriveSeed(DeriveSeed(options_.seed, kStreamSecAgg), round);
  secagg::RoundConfig c;
  c.run_id = run_id_;
  c.round_id = round;
  c.client_ids = ids;
  uint64_t degree =
      a.degree < 0 ? secagg::RecommendedSecAggPlusDegree(n) : static_cast<uint64_t>(a.degree);
  if (degree + 1 >= n) degree = 0;
  c.degree = static_cast<uint32_t>(degree);
  c.graph_seed = DeriveSeed(secagg_seed, 1);
  const uint32_t shares = static_cast<uint32_t>(degree == 0 ? n : degree + 1);
  // A configured threshold is kept within [a majority of each neighbourhood, its size].
  c.threshold = a.threshold != 0
                    ? std::clamp(a.threshold, secagg::MajorityThreshold(shares), shares)
                    : secagg::MajorityThreshold(shares);
  crypto::Ring ring = crypto::Ring::kRing64;
  if (a.ring_bits == 32 || (a.ring_bits == 0 && n <= 1024)) ring = crypto::Ring::kRing32;
  if (gdsec_ != nullptr) {
    // GD-SEC's integers, round(v * 2^kGdSecFracBits) with |v| <= clip, weight 1: the 2^32 ring
    // only while n of them cannot wrap it (validated when ring_bits is 32).
    const double per_client = std::ceil(a.clip * std::ldexp(1.0, compress::kGdSecFracBits));
    ring = a.ring_bits == 32 || (a.ring_bits == 0 && static_cast<double>(n) * per_client < 0x1p31)
               ? crypto::Ring::kRing32
               : crypto::Ring::kRing64;
  }
  c.fixed_point.ring = ring;
  c.fixed_point.clip = a.clip;
  c.fixed_point.max_clients = n;
  if (gdsec_ != nullptr) {
    c.fixed_point.scale = std::ldexp(1.0, compress::kGdSecFracBits);
    c.max_weight = 1;
  } else {
    ASSIGN_OR_RETURN(c.fixed_point.scale, crypto::FinestScale(n, a.clip, ring));
    c.max_weight = a.max_weight;
  }
  c.support_policy = a.policy;
  c.mask_indexing = a.mask_indexing;
  const uint64_t size = compress::KForDensity(d, a.density);
  const uint64_t support_seed = DeriveSeed(secagg_seed, 2);
  if (a.policy == secagg::SupportPolicy::kDense) {
    ASSIGN_OR_RETURN(c.support, secagg::Support::Dense(d));
  } else if (a.policy == secagg::SupportPolicy::kGlobalTopK && !last_aggregate_.empty()) {
    const uint64_t explore = static_cast<uint64_t>(std::llround(a.explore * double(size)));
    ASSIGN_OR_RETURN(c.support, secagg::GlobalTopKSupport(last_aggregate_, size - explore, explore,
                                                          support_seed));
  } else {
    ASSIGN_OR_RETURN(c.support, secagg::SharedRandomSupport(d, size, support_seed));
  }
  RETURN_IF_ERROR(secagg::ValidateRoundConfig(c).WithContext("secure aggregation"));
  return c;
}

Status Coordinator::StartRound() {
  const uint64_t number = completed_rounds_ + 1;
  const size_t d = model_.size();
  // Eligible: connected clients whose declared memory budget holds the round's vectors.
  const uint64_t need = 3 * sizeof(float) * static_cast<uint64_t>(d);
  std::vector<std::string> eligible;
  for (const auto& [id, session] : clients_) {
    const uint64_t budget = session->capabilities.memory_budget_bytes();
    if (budget != 0 && budget < need) continue;
    eligible.push_back(id);
  }
  const SelectionOptions& sel = options_.selection;
  if (eligible.size() < sel.min_clients) return OkStatus();
  const size_t n = eligible.size();
  size_t target = static_cast<size_t>(std::ceil(sel.fraction * static_cast<double>(n)));
  target = std::clamp<size_t>(target, sel.min_clients, n);
  if (sel.max_clients != 0) target = std::min<size_t>(target, sel.max_clients);
  size_t count = std::min(
      n, static_cast<size_t>(std::ceil(static_cast<double>(target) * (1.0 + sel.over_selection))));
  std::vector<std::string> selected = eligible;  // sorted (map order)
  if (count < n) {
    Prng rng(DeriveSeed(DeriveSeed(options_.seed, kStreamSelection), number));
    rng.Shuffle(std::span<std::string>(selected));
    selected.resize(count);
    std::sort(selected.begin(), selected.end());
  }

  auto round = std::make_unique<Round>();
  round->number = number;
  round->started = clock_->Now();
  round->selected = selected;
  round->target = target;
  round->train_deadline = round->started + options_.deadlines.train;
  round->summary.round = number;
  round->summary.selected = selected;

  round->start_header.set_round_id(number);
  round->start_header.set_phase(proto::PHASE_TRAIN);
  proto::Envelope start;  // the body only
  proto::RoundStart* body = start.mutable_round_start();
  body->set_round(number);
  body->mutable_parameters()->set_dimension(d);
  FloatsToBytes(model_, body->mutable_parameters()->mutable_fp32_le());
  *body->mutable_compression() = options_.compression;
  body->set_train_deadline_ms(Millis(options_.deadlines.train));

  if (options_.secure_aggregation.enabled) {
    std::vector<uint64_t> ids;
    for (const std::string& id : selected) ids.push_back(clients_.at(id)->secagg_id);
    std::sort(ids.begin(), ids.end());
    StatusOr<secagg::RoundConfig> made = SecAggConfig(number, ids);
    if (!made.ok()) return made.status().WithContext("round " + std::to_string(number));
    secagg::RoundConfig config = *std::move(made);
    PhaseDeadlines phases;
    phases.advertise_keys = options_.deadlines.train + options_.deadlines.advertise_keys;
    phases.share_keys = options_.deadlines.share_keys;
    phases.masked_input = options_.deadlines.masked_input;
    phases.unmask = options_.deadlines.unmask;
    secagg::ServerOptions server_options;
    server_options.num_threads = options_.secure_aggregation.server_threads;
    ASSIGN_OR_RETURN(round->manager,
                     RoundManager::Create(config, phases, clock_, std::move(server_options)));
    proto::ToProto(config, body->mutable_secure_aggregation());
    round->summary.support_size = config.support.size();
    round->config = std::move(config);
  } else {
    // Plain rounds wait for every selected client (secure ones: the round manager does).
    round->awaiting.insert(selected.begin(), selected.end());
  }
  ASSIGN_OR_RETURN(round->start_body, net::EncodedBody::Create(start));
  round_ = std::move(round);
  SOTTO_LOG(kInfo, "round_start")
      .With("round", number)
      .With("selected", selected.size())
      .With("connected", clients_.size())
      .With("secure", options_.secure_aggregation.enabled);
  for (const std::string& id : selected) {
    auto it = clients_.find(id);
    if (it != clients_.end()) SendEncoded(*it->second, round_->start_header, round_->start_body);
  }
  return AdvanceRound();
}

Status Coordinator::AdvanceRound() {
  Round& round = *round_;
  const Clock::TimePoint now = clock_->Now();
  if (round.manager == nullptr) {
    const bool all_in = round.awaiting.empty();
    const bool enough_early =
        options_.selection.over_selection > 0 && round.updates.size() >= round.target;
    if (!all_in && !enough_early && now < round.train_deadline) return OkStatus();
    for (const std::string& id : round.awaiting)
      round.dropped.emplace(id, "no update by the deadline");
    round.awaiting.clear();
    if (round.updates.size() < options_.selection.min_clients) {
      return FinishRound(false, {},
                         "too few updates: " + std::to_string(round.updates.size()) + " of " +
                             std::to_string(options_.selection.min_clients) + " needed");
    }
    // Summed in client-id order (std::map): the mean does not depend on arrival order. GD-SEC
    // sums integers (exact in any order).
    const size_t d = model_.size();
    core::WeightedMeanAggregator aggregator(d);
    if (gdsec_ != nullptr) round.gdsec_sum.assign(d, 0);
    double loss_sum = 0.0;
    double weight_sum = 0.0;
    std::vector<std::string> refused;
    for (auto& [id, update] : round.updates) {
      Status added;
      if (gdsec_ != nullptr) {
        // AddSent checks the whole message before adding any of it.
        added = update.is_dense ? InvalidArgumentError("a GD-SEC round takes sparse updates")
                                : compress::GdSecServer::AddSent(update.sparse, round.gdsec_sum);
      } else {
        added = update.is_dense ? aggregator.Add(update.dense, update.weight)
                                : aggregator.AddSparse(update.sparse.indices, update.sparse.values,
                                                       update.weight);
      }
      if (!added.ok()) {
        round.dropped.emplace(id, "refused update: " + added.ToString());
        refused.push_back(id);
        continue;
      }
      loss_sum += update.weight * update.loss;
      weight_sum += update.weight;
    }
    for (const std::string& id : refused) round.updates.erase(id);
    if (round.updates.size() < options_.selection.min_clients) {
      return FinishRound(false, {}, "too few valid updates");
    }
    round.summary.train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
    for (const auto& [id, update] : round.updates) round.summary.contributors.push_back(id);
    if (gdsec_ != nullptr) {
      ASSIGN_OR_RETURN(
          std::vector<float> gradient,
          GdSecGradient(*gdsec_, round.gdsec_sum, gdsec_members_, round.summary.contributors));
      return FinishRound(true, std::move(gradient), "");
    }
    std::vector<float> mean(d);
    RETURN_IF_ERROR(aggregator.Mean(mean));
    return FinishRound(true, std::move(mean), "");
  }

  // Secure round: let the round manager advance (on answers or on its phase deadlines).
  for (int guard = 0; guard < 8; ++guard) {
    ASSIGN_OR_RETURN(std::vector<secagg::Outgoing> out, round.manager->Poll());
    if (out.empty()) break;
    for (secagg::Outgoing& o : out) {
      auto owner = by_secagg_id_.find(o.to);
      if (owner == by_secagg_id_.end()) continue;
      proto::Envelope envelope;
      envelope.set_round_id(round.number);
      proto::ServerMessageToEnvelope(o.message, &envelope);
      SendTo(owner->second, envelope);
    }
  }
  if (!round.manager->done()) return OkStatus();
  const secagg::SecAggServer& server = round.manager->server();
  static constexpr const char* kPhaseNames[] = {"advertise_keys", "share_keys", "masked_input",
                                                "unmask"};
  const std::vector<double>& phases = round.manager->phase_seconds();
  for (size_t i = 0; i < phases.size() && i < 4; ++i) {
    round.summary.phase_seconds.emplace_back(kPhaseNames[i], phases[i]);
  }
  const secagg::AggregateResult* result = server.result();
  if (result == nullptr) {
    const std::string reason =
        server.abort().has_value() ? server.abort()->status.ToString() : "aborted";
    return FinishRound(false, {}, reason);
  }
  const secagg::RoundConfig& config = *round.config;
  for (uint64_t id : result->contributors) {
    round.summary.contributors.push_back(by_secagg_id_.at(id));
  }
  std::sort(round.summary.contributors.begin(), round.summary.contributors.end());
  if (gdsec_ != nullptr) {
    // The ring carries GD-SEC's integers (weight 1): the sum is exact.
    const std::vector<int64_t> sums = secagg::SignedSums(config, *result);
    round.gdsec_sum.assign(model_.size(), 0);
    for (size_t i = 0; i < sums.size(); ++i)
      round.gdsec_sum[config.support.Coordinate(i)] = sums[i];
    ASSIGN_OR_RETURN(
        std::vector<float> gradient,
        GdSecGradient(*gdsec_, round.gdsec_sum, gdsec_members_, round.summary.contributors));
    return FinishRound(true, std::move(gradient), "");
  }
  ASSIGN_OR_RETURN(std::vector<double> mean_on_support,
                   secagg::DecodeWeightedMean(config, *result));
  std::vector<float> mean(model_.size(), 0.0f);
  for (size_t i = 0; i < mean_on_support.size(); ++i) {
    mean[config.support.Coordinate(i)] = static_cast<float>(mean_on_support[i]);
  }
  return FinishRound(true, std::move(mean), "");
}

Status Coordinator::FinishRound(bool completed, std::vector<float> mean,
                                const std::string& abort_reason) {
  std::unique_ptr<Round> round = std::move(round_);
  RoundSummary& summary = round->summary;
  std::string reason = abort_reason;
  if (completed) {
    Status applied = strategy_->Apply(model_, mean);
    if (!applied.ok()) {
      completed = false;
      reason = applied.ToString();
    }
  }
  if (!completed) summary.contributors.clear();
  summary.outcome = completed ? "completed" : "aborted";
  const std::set<std::string> contributors(summary.contributors.begin(),
                                           summary.contributors.end());
  for (const std::string& id : round->selected) {
    if (contributors.count(id)) continue;
    auto it = round->dropped.find(id);
    std::string why = it != round->dropped.end() ? it->second
                      : completed                ? "not in the sum (dropped by the protocol)"
                                                 : "round aborted: " + reason;
    summary.dropped.emplace(id, why);
  }
  summary.dense_uplink_bytes = contributors.size() * (model_.size() * sizeof(float) + 32);
  summary.seconds = Seconds(clock_->Now() - round->started);
  completed_rounds_ = round->number;
  if (completed) {
    for (const std::string& id : contributors) last_contributed_[id] = round->number;
  }
  if (completed && gdsec_ != nullptr) {
    // h moves only now that the round counts: it stays the sum of the committed h_m.
    RETURN_IF_ERROR(gdsec_->Commit(round->gdsec_sum));
    gdsec_members_.insert(contributors.begin(), contributors.end());
    // The sum of the sent differences (global_topk ranks the next support by it).
    last_aggregate_.resize(model_.size());
    for (size_t i = 0; i < model_.size(); ++i) {
      last_aggregate_[i] = static_cast<float>(
          std::ldexp(static_cast<double>(round->gdsec_sum[i]), -compress::kGdSecFracBits));
    }
    if (metrics_ != nullptr) {
      metrics_->Set("sotto_gdsec_members", static_cast<double>(gdsec_members_.size()));
    }
  } else if (completed) {
    last_aggregate_ = std::move(mean);
  }
  if (completed && options_.evaluate &&
      (round->number % options_.evaluate_every == 0 || round->number == options_.num_rounds)) {
    StatusOr<std::pair<double, double>> eval = options_.evaluate(model_);
    if (eval.ok()) {
      summary.eval_loss = eval->first;
      summary.eval_accuracy = eval->second;
    } else {
      SOTTO_LOG(kWarning, "evaluation_failed").With("status", eval.status().ToString());
    }
  }
  // Durable before anyone is told: a restart never re-runs a round a client committed.
  if (round->number % options_.checkpoint_every == 0 || round->number == options_.num_rounds) {
    RETURN_IF_ERROR(SaveCheckpoint().WithContext("round " + std::to_string(round->number)));
  }
  if (!options_.round_log_path.empty()) {
    std::ofstream log(options_.round_log_path, std::ios::app);
    log << RoundSummaryJson(summary) << '\n';
    if (!log) {
      SOTTO_LOG(kWarning, "round_log_failed").With("path", options_.round_log_path);
    }
  }
  if (metrics_ != nullptr) {
    Metrics& m = *metrics_;
    m.Add("sotto_rounds_total", 1, {{"outcome", summary.outcome}});
    m.Set("sotto_round", static_cast<double>(round->number));
    m.Set("sotto_round_participants", static_cast<double>(contributors.size()));
    m.Set("sotto_round_seconds", summary.seconds);
    m.Add("sotto_uplink_bytes_total", static_cast<double>(summary.uplink_bytes));
    m.Add("sotto_downlink_bytes_total", static_cast<double>(summary.downlink_bytes));
    for (const auto& [id, why] : summary.dropped) {
      const std::string kind = why.substr(0, why.find(':'));
      m.Add("sotto_client_drops_total", 1, {{"reason", kind}});
    }
  }
  SOTTO_LOG(kInfo, "round_end")
      .With("round", round->number)
      .With("outcome", summary.outcome)
      .With("contributors", contributors.size())
      .With("dropped", summary.dropped.size())
      .With("uplink_bytes", summary.uplink_bytes)
      .With("seconds", summary.seconds);
  const bool last = round->number == options_.num_rounds;
  for (const std::string& id : round->selected) {
    proto::Envelope end;
    end.set_round_id(round->number);
    end.set_phase(proto::PHASE_ROUND_END);
    proto::RoundEnd* body = end.mutable_round_end();
    body->set_round(round->number);
    body->set_outcome(!completed               ? proto::ROUND_OUTCOME_ABORTED
                      : contributors.count(id) ? proto::ROUND_OUTCOME_COMPLETED
                                               : proto::ROUND_OUTCOME_DROPPED);
    body->set_participants(static_cast<uint32_t>(contributors.size()));
    body->set_reason(completed ? "" : reason);
    body->set_run_finished(last);
    SendTo(id, end);
  }
  history_.push_back(std::move(summary));
  if (last) FinishRun(std::set<std::string>(round->selected.begin(), round->selected.end()));
  return OkStatus();
}

void Coordinator::FinishRun(const std::set<std::string>& told) {
  if (finished_) return;
  finished_ = true;
  // Connected clients that did not get the last round's RoundEnd learn that the run is over.
  for (const auto& [id, session] : clients_) {
    if (told.count(id)) continue;
    proto::Envelope end;
    end.set_round_id(completed_rounds_);
    end.set_phase(proto::PHASE_ROUND_END);
    proto::RoundEnd* body = end.mutable_round_end();
    body->set_round(completed_rounds_);
    body->set_outcome(CountedIn(id, completed_rounds_) ? proto::ROUND_OUTCOME_COMPLETED
                                                       : proto::ROUND_OUTCOME_DROPPED);
    body->set_run_finished(true);
    Send(*session, end);
  }
  SOTTO_LOG(kInfo, "run_finished").With("run_id", run_id_).With("rounds", completed_rounds_);
}

void Coordinator::Shutdown() {
  for (auto& [id, session] : clients_) {
    session->closed = true;
    session->connection->Close();
  }
  for (auto& session : pending_) {
    session->closed = true;
    session->connection->Close();
  }
  clients_.clear();
  pending_.clear();
}

std::string Coordinator::StatusPage() const {
  std::ostringstream o;
  o << "<!doctype html><html><head><meta charset=\"utf-8\"><title>sotto coordinator</title>"
       "</head><body><h1>sotto coordinator: "
    << HtmlEscape(options_.run_name) << "</h1>\n<p>run " << run_id_ << ", round "
    << completed_rounds_ << " of " << options_.num_rounds
    << (finished_           ? " (finished)"
        : round_ != nullptr ? " (a round is in progress)"
                            : "")
    << ", " << model_.size() << " parameters, " << clients_.size()
    << " clients connected</p>\n<h2>clients</h2><ul>";
  for (const auto& [id, session] : clients_) {
    o << "<li>" << HtmlEscape(id) << " (id " << session->secagg_id << ")</li>";
  }
  o << "</ul>\n<h2>last rounds</h2><table border=\"1\"><tr><th>round</th><th>outcome</th>"
       "<th>contributors</th><th>dropped</th><th>uplink bytes</th><th>seconds</th>"
       "<th>accuracy</th></tr>";
  const size_t from = history_.size() > 20 ? history_.size() - 20 : 0;
  for (size_t i = history_.size(); i-- > from;) {
    const RoundSummary& s = history_[i];
    o << "<tr><td>" << s.round << "</td><td>" << s.outcome << "</td><td>" << s.contributors.size()
      << "</td><td>" << s.dropped.size() << "</td><td>" << s.uplink_bytes << "</td><td>"
      << JsonNumber(s.seconds) << "</td><td>"
      << (s.eval_accuracy ? JsonNumber(*s.eval_accuracy) : "") << "</td></tr>";
  }
  o << "</table></body></html>\n";
  return o.str();
}

}  // namespace sotto::coordinator
