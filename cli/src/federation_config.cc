#include "federation_config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "sotto/base/file.h"
#include "sotto/base/status_macros.h"
#include "sotto/core/learn/federated_data.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/strategy.h"
#include "sotto/crypto/hash.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/proto/parse.h"

namespace sotto::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr size_t kMaxRunNameBytes = 128;
constexpr uint64_t kMaxInputDim = uint64_t{1} << 24;
constexpr uint32_t kMaxClasses = 1 << 20;
constexpr uint32_t kMaxHiddenWidth = 1 << 20;
constexpr uint32_t kMaxThreads = 1024;
constexpr uint32_t kMaxDegree = 1 << 20;
constexpr double kMaxOverSelection = 10.0;
constexpr double kMaxSecAggClip = 0x1p22;  // as the simulator: the fixed-point range
// Domain separation of the config fingerprint (bump when its input changes meaning).
constexpr char kFingerprintLabel[] = "sotto federation config fingerprint v1";

Status Bad(std::string_view path, std::string_view problem) {
  return InvalidArgumentError(std::string(path) + ": " + std::string(problem));
}

// ---- Reading -------------------------------------------------------------------------------

// Records the path of every non-null member of `object`, read as message type `type`.
void CollectPresent(const google::protobuf::Struct& object, const Descriptor* type,
                    const std::string& prefix, std::set<std::string, std::less<>>* present) {
  for (const auto& [key, value] : object.fields()) {
    if (value.kind_case() == google::protobuf::Value::kNullValue) continue;
    const FieldDescriptor* field = type->FindFieldByName(key);
    for (int i = 0; field == nullptr && i < type->field_count(); ++i) {
      if (type->field(i)->json_name() == key) field = type->field(i);
    }
    if (field == nullptr) continue;  // the typed parse has refused the file already
    const std::string path = prefix.empty() ? field->name() : prefix + "." + field->name();
    present->insert(path);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated() &&
        value.kind_case() == google::protobuf::Value::kStructValue) {
      CollectPresent(value.struct_value(), field->message_type(), path, present);
    }
  }
}

// ---- Values --------------------------------------------------------------------------------

// Reads optional fields of one section: the value when present, else a default; checks ranges.
class Section {
 public:
  Section(const FederationConfigFile& file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}

  std::string Path(std::string_view name) const { return prefix_ + "." + std::string(name); }
  bool Has(std::string_view name) const { return file_.Has(Path(name)); }

  template <typename T>
  T Or(std::string_view name, T value, T fallback) const {
    return Has(name) ? value : fallback;
  }

  // A duration in ms, > 0 and at most kMaxTimeoutMs when present.
  StatusOr<std::chrono::milliseconds> Millis(std::string_view name, uint64_t value,
                                             std::chrono::milliseconds fallback,
                                             bool zero_allowed = false) const {
    if (!Has(name)) return fallback;
    if (value == 0 && !zero_allowed) return Bad(Path(name), "must be > 0");
    if (value > kMaxTimeoutMs) return Bad(Path(name), "must be at most 7 days (604800000 ms)");
    return std::chrono::milliseconds(static_cast<int64_t>(value));
  }

  // A count that must be >= 1 when present.
  StatusOr<uint64_t> Positive(std::string_view name, uint64_t value, uint64_t fallback,
                              uint64_t max = UINT64_MAX) const {
    if (!Has(name)) return fallback;
    if (value == 0) return Bad(Path(name), "must be at least 1");
    if (value > max) return Bad(Path(name), "must be at most " + std::to_string(max));
    return value;
  }

  StatusOr<uint16_t> Port(std::string_view name, uint32_t value) const {
    if (value > 65535) return Bad(Path(name), "must be a TCP port (0 to 65535)");
    return static_cast<uint16_t>(value);
  }

 private:
  const FederationConfigFile& file_;
  std::string prefix_;
};

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---- Sections shared by both sides ----------------------------------------------------------

struct ResolvedModel {
  learn::ModelSpec spec;
  uint64_t init_seed = 1;
};

StatusOr<ResolvedModel> ResolveModel(const FederationConfigFile& file) {
  const proto::ModelConfig& m = file.config.model();
  const Section s(file, "model");
  ResolvedModel r;
  if (!s.Has("kind")) return Bad("model.kind", "required (linear, logistic, softmax or mlp)");
  StatusOr<learn::ModelKind> kind = learn::ParseModelKind(m.kind());
  if (!kind.ok()) {
    return Bad("model.kind", "unknown model kind " + Quoted(m.kind()) +
                                 " (expected linear, logistic, softmax or mlp)");
  }
  r.spec.kind = *kind;
  if (!s.Has("input_dim") || m.input_dim() == 0) {
    return Bad("model.input_dim", "required, at least 1 (the number of features)");
  }
  if (m.input_dim() > kMaxInputDim) {
    return Bad("model.input_dim", "must be at most " + std::to_string(kMaxInputDim));
  }
  r.spec.input_dim = static_cast<size_t>(m.input_dim());
  uint32_t classes = m.num_classes();
  switch (r.spec.kind) {
    case learn::ModelKind::kLinearRegression:
      if (classes != 0) return Bad("model.num_classes", "must be 0 (or absent) for linear");
      break;
    case learn::ModelKind::kLogisticRegression:
      if (!s.Has("num_classes")) classes = 2;
      if (classes != 2) return Bad("model.num_classes", "must be 2 (or absent) for logistic");
      break;
    case learn::ModelKind::kSoftmaxRegression:
    case learn::ModelKind::kMlp:
      if (classes < 2 || classes > kMaxClasses) {
        return Bad("model.num_classes",
                   "required for " + m.kind() + ", in [2, " + std::to_string(kMaxClasses) + "]");
      }
      break;
  }
  r.spec.num_classes = static_cast<int>(classes);
  if (r.spec.kind == learn::ModelKind::kMlp) {
    if (m.hidden_size() < 1 || m.hidden_size() > 2) {
      return Bad("model.hidden", "mlp needs 1 or 2 hidden layer widths");
    }
    for (int i = 0; i < m.hidden_size(); ++i) {
      if (m.hidden(i) == 0 || m.hidden(i) > kMaxHiddenWidth) {
        return Bad("model.hidden[" + std::to_string(i) + "]",
                   "must be in [1, " + std::to_string(kMaxHiddenWidth) + "]");
      }
      r.spec.hidden.push_back(m.hidden(i));
    }
  } else if (m.hidden_size() > 0) {
    return Bad("model.hidden", "only for mlp");
  }
  r.init_seed = s.Or<uint64_t>("init_seed", m.init_seed(), 1);
  return r;
}

StatusOr<std::unique_ptr<learn::Model>> MakeModelFrom(const ResolvedModel& r) {
  StatusOr<std::unique_ptr<learn::Model>> model = learn::MakeModel(r.spec);
  // Too many parameters (ResourceExhausted from MakeModel) is an impossible config value too.
  if (!model.ok()) return Bad("model", model.status().message());
  if ((*model)->NumParameters() > kMaxModelParameters) {
    return Bad("model", std::to_string((*model)->NumParameters()) + " parameters, more than " +
                            std::to_string(kMaxModelParameters) +
                            "; reduce input_dim, hidden or num_classes");
  }
  return model;
}

// cert_file and key_file default to what `sotto certs issue` writes next to the CA
// certificate: DIR/<name>.pem and DIR/<name>.key.
Status ResolveTls(const FederationConfigFile& file, const std::string& default_name,
                  net::TlsCredentialFiles* out) {
  const proto::TlsConfig& t = file.config.tls();
  if (t.ca_file().empty()) return Bad("tls.ca_file", "required (the federation CA, PEM)");
  const size_t slash = t.ca_file().rfind('/');
  const std::string dir = slash == std::string::npos ? "" : t.ca_file().substr(0, slash + 1);
  out->ca_file = t.ca_file();
  out->cert_file = t.cert_file().empty() ? dir + default_name + ".pem" : t.cert_file();
  out->key_file = t.key_file().empty() ? dir + default_name + ".key" : t.key_file();
  return OkStatus();
}

StatusOr<uint32_t> FrameCap(const Section& s, std::string_view name, uint64_t value) {
  if (value == 0) return Bad(s.Path(name), "must be at least 1");
  if (value > net::kMaxFramePayloadBytes) {
    return Bad(s.Path(name),
               "must be at most " + std::to_string(net::kMaxFramePayloadBytes) + " (1 GiB)");
  }
  return static_cast<uint32_t>(value);
}

// The net section over a connection's defaults. `server`: the coordinator's side (it receives
// updates and sends models), else a client's.
Status ResolveNet(const FederationConfigFile& file, bool server, net::ConnectionOptions* o) {
  const proto::NetConfig& n = file.config.net();
  const Section s(file, "net");
  net::Deadlines& d = o->deadlines;
  ASSIGN_OR_RETURN(d.handshake,
                   s.Millis("handshake_timeout_ms", n.handshake_timeout_ms(), d.handshake));
  ASSIGN_OR_RETURN(d.read, s.Millis("read_timeout_ms", n.read_timeout_ms(), d.read));
  ASSIGN_OR_RETURN(d.write, s.Millis("write_timeout_ms", n.write_timeout_ms(), d.write));
  ASSIGN_OR_RETURN(d.idle, s.Millis("idle_timeout_ms", n.idle_timeout_ms(), d.idle,
                                    /*zero_allowed=*/true));
  ASSIGN_OR_RETURN(
      o->max_queued_messages,
      s.Positive("max_queued_messages", n.max_queued_messages(), o->max_queued_messages));
  ASSIGN_OR_RETURN(o->max_queued_bytes,
                   s.Positive("max_queued_bytes", n.max_queued_bytes(), o->max_queued_bytes));
  net::FrameCaps& model_caps = server ? o->send_caps : o->receive_caps;
  net::FrameCaps& update_caps = server ? o->receive_caps : o->send_caps;
  if (s.Has("max_model_frame_bytes")) {
    ASSIGN_OR_RETURN(uint32_t cap, FrameCap(s, "max_model_frame_bytes", n.max_model_frame_bytes()));
    RETURN_IF_ERROR(model_caps.Set(net::MessageType::kRoundStart, cap));
  }
  if (s.Has("max_update_frame_bytes")) {
    ASSIGN_OR_RETURN(uint32_t cap,
                     FrameCap(s, "max_update_frame_bytes", n.max_update_frame_bytes()));
    RETURN_IF_ERROR(update_caps.Set(net::MessageType::kUpdate, cap));
    RETURN_IF_ERROR(update_caps.Set(net::MessageType::kMaskedInput, cap));
  }
  RETURN_IF_ERROR(net::ValidateConnectionOptions(*o).WithContext("net"));
  return OkStatus();
}

// ---- Coordinator ---------------------------------------------------------------------------

Status ResolveRounds(const FederationConfigFile& file, coordinator::CoordinatorOptions* o) {
  const proto::RoundsConfig& r = file.config.rounds();
  const Section s(file, "rounds");
  ASSIGN_OR_RETURN(uint64_t rounds, s.Positive("num_rounds", r.num_rounds(), 10));
  o->num_rounds = static_cast<uint32_t>(rounds);
  coordinator::SelectionOptions& sel = o->selection;
  sel.fraction = s.Or("fraction", r.fraction(), 1.0);
  if (!(sel.fraction > 0 && sel.fraction <= 1)) return Bad("rounds.fraction", "must be in (0, 1]");
  ASSIGN_OR_RETURN(uint64_t min_clients, s.Positive("min_clients", r.min_clients(), 1));
  sel.min_clients = static_cast<uint32_t>(min_clients);
  sel.max_clients = r.max_clients();
  if (sel.max_clients != 0 && sel.max_clients < sel.min_clients) {
    return Bad("rounds.max_clients", "must be 0 (no cap) or at least rounds.min_clients (" +
                                         std::to_string(sel.min_clients) + ")");
  }
  sel.over_selection = r.over_selection();
  if (!(sel.over_selection >= 0 && sel.over_selection <= kMaxOverSelection)) {
    return Bad("rounds.over_selection", "must be in [0, 10]");
  }
  coordinator::RoundDeadlines& d = o->deadlines;
  ASSIGN_OR_RETURN(d.train,
                   s.Millis("train_timeout_ms", r.train_timeout_ms(),
                            std::chrono::duration_cast<std::chrono::milliseconds>(d.train)));
  ASSIGN_OR_RETURN(
      d.advertise_keys,
      s.Millis("advertise_keys_timeout_ms", r.advertise_keys_timeout_ms(),
               std::chrono::duration_cast<std::chrono::milliseconds>(d.advertise_keys)));
  ASSIGN_OR_RETURN(d.share_keys,
                   s.Millis("share_keys_timeout_ms", r.share_keys_timeout_ms(),
                            std::chrono::duration_cast<std::chrono::milliseconds>(d.share_keys)));
  ASSIGN_OR_RETURN(d.masked_input,
                   s.Millis("masked_input_timeout_ms", r.masked_input_timeout_ms(),
                            std::chrono::duration_cast<std::chrono::milliseconds>(d.masked_input)));
  ASSIGN_OR_RETURN(d.unmask,
                   s.Millis("unmask_timeout_ms", r.unmask_timeout_ms(),
                            std::chrono::duration_cast<std::chrono::milliseconds>(d.unmask)));
  return OkStatus();
}

Status ResolveStrategy(const FederationConfigFile& file, core::StrategyOptions* o) {
  const proto::StrategyConfig& st = file.config.strategy();
  const Section s(file, "strategy");
  if (s.Has("name")) {
    StatusOr<core::StrategyKind> kind = core::ParseStrategyKind(st.name());
    if (!kind.ok()) {
      return Bad("strategy.name", "unknown strategy " + Quoted(st.name()) +
                                      " (expected fedavg, fedsgd, fedadam or fedyogi)");
    }
    o->kind = *kind;
  }
  o->server_lr = s.Or("server_lr", st.server_lr(), o->server_lr);
  if (!(o->server_lr > 0) || !std::isfinite(o->server_lr)) {
    return Bad("strategy.server_lr", "must be a finite number > 0");
  }
  o->beta1 = s.Or("beta1", st.beta1(), o->beta1);
  if (!(o->beta1 >= 0 && o->beta1 < 1)) return Bad("strategy.beta1", "must be in [0, 1)");
  o->beta2 = s.Or("beta2", st.beta2(), o->beta2);
  if (!(o->beta2 >= 0 && o->beta2 < 1)) return Bad("strategy.beta2", "must be in [0, 1)");
  o->tau = s.Or("tau", st.tau(), o->tau);
  if (!(o->tau > 0) || !std::isfinite(o->tau)) return Bad("strategy.tau", "must be > 0");
  // The strategy's own checks, should they ever be stricter than the ones above.
  StatusOr<std::unique_ptr<core::Strategy>> made = core::MakeStrategy(*o);
  if (!made.ok()) return InvalidArgumentError(made.status().WithContext("strategy").message());
  return OkStatus();
}

Status ResolveSecureAggregation(const FederationConfigFile& file, const CoordinatorSetup& setup,
                                coordinator::SecureAggregationOptions* o) {
  const proto::SecureAggregationConfig& a = file.config.secure_aggregation();
  const Section s(file, "secure_aggregation");
  o->enabled = a.enabled();
  if (!o->enabled) return OkStatus();
  const bool dense_updates = proto::IsDense(file.config.compression());
  switch (a.support_policy()) {
    case proto::SUPPORT_POLICY_UNSPECIFIED:
      o->policy =
          dense_updates ? secagg::SupportPolicy::kDense : secagg::SupportPolicy::kGlobalTopK;
      break;
    case proto::SUPPORT_POLICY_DENSE:
      o->policy = secagg::SupportPolicy::kDense;
      break;
    case proto::SUPPORT_POLICY_SHARED_RANDOM:
      o->policy = secagg::SupportPolicy::kSharedRandom;
      break;
    case proto::SUPPORT_POLICY_GLOBAL_TOP_K:
      o->policy = secagg::SupportPolicy::kGlobalTopK;
      break;
    case proto::SUPPORT_POLICY_UNION_THRESHOLD:
      o->policy = secagg::SupportPolicy::kUnionThreshold;
      break;
    default:
      return Bad("secure_aggregation.support_policy",
                 "unknown value " + std::to_string(a.support_policy()));
  }
  if (dense_updates && o->policy != secagg::SupportPolicy::kDense) {
    return Bad("secure_aggregation.support_policy",
               "dense updates (no compression.sparsifier) go with SUPPORT_POLICY_DENSE; set a "
               "sparsifier to use a sparse support");
  }
  o->density = s.Or("support_density", a.support_density(), o->density);
  if (!(o->density > 0 && o->density <= 1)) {
    return Bad("secure_aggregation.support_density", "must be in (0, 1]");
  }
  o->explore = s.Or("exploration", a.exploration(), o->explore);
  if (!(o->explore >= 0 && o->explore < 1)) {
    return Bad("secure_aggregation.exploration", "must be in [0, 1)");
  }
  o->clip = s.Or("clip", a.clip(), o->clip);
  if (!(o->clip > 0 && o->clip < kMaxSecAggClip)) {
    return Bad("secure_aggregation.clip", "must be in (0, 2^22)");
  }
  if (a.ring_bits() != 0 && a.ring_bits() != 32 && a.ring_bits() != 64) {
    return Bad("secure_aggregation.ring_bits", "must be 32 or 64 (0 or absent: automatic)");
  }
  o->ring_bits = static_cast<int>(a.ring_bits());
  if (!s.Has("degree")) {
    o->degree = -1;  // the recommended SecAgg+ degree
  } else if (a.degree() % 2 != 0 || a.degree() > kMaxDegree) {
    return Bad("secure_aggregation.degree",
               "must be even (0: the complete graph), at most " + std::to_string(kMaxDegree));
  } else {
    o->degree = static_cast<int>(a.degree());
  }
  o->threshold = a.threshold();
  const uint32_t max_clients = setup.options.selection.max_clients;
  if (o->threshold != 0 && max_clients != 0 && o->threshold > max_clients) {
    return Bad("secure_aggregation.threshold",
               "must not exceed rounds.max_clients (" + std::to_string(max_clients) + ")");
  }
  if (o->threshold != 0 && o->degree > 0 && o->threshold > static_cast<uint32_t>(o->degree) + 1) {
    return Bad("secure_aggregation.threshold",
               "must not exceed degree + 1 (the closed neighbourhood of a client)");
  }
  ASSIGN_OR_RETURN(o->max_weight,
                   s.Positive("max_weight", a.max_weight(), o->max_weight, uint64_t{1} << 32));
  switch (a.mask_indexing()) {
    case proto::MASK_INDEXING_UNSPECIFIED:
    case proto::MASK_INDEXING_SUPPORT_POSITION:
      o->mask_indexing = secagg::MaskIndexing::kSupportPosition;
      break;
    case proto::MASK_INDEXING_COORDINATE:
      o->mask_indexing = secagg::MaskIndexing::kCoordinate;
      break;
    default:
      return Bad("secure_aggregation.mask_indexing",
                 "unknown value " + std::to_string(a.mask_indexing()));
  }
  if (s.Has("scale") && a.scale() != 0) {
    return Bad("secure_aggregation.scale",
               "chosen by the coordinator (the finest scale at which the round's clipped inputs "
               "cannot wrap); leave it out");
  }
  if (a.union_threshold() != 0) {
    return Bad("secure_aggregation.union_threshold", "not supported by the coordinator yet");
  }
  if (a.sign_advertisements()) {
    return Bad("secure_aggregation.sign_advertisements", "not supported by the coordinator yet");
  }
  return OkStatus();
}

proto::SupportPolicy ToProto(secagg::SupportPolicy policy) {
  switch (policy) {
    case secagg::SupportPolicy::kDense:
      return proto::SUPPORT_POLICY_DENSE;
    case secagg::SupportPolicy::kSharedRandom:
      return proto::SUPPORT_POLICY_SHARED_RANDOM;
    case secagg::SupportPolicy::kGlobalTopK:
      return proto::SUPPORT_POLICY_GLOBAL_TOP_K;
    case secagg::SupportPolicy::kUnionThreshold:
      return proto::SUPPORT_POLICY_UNION_THRESHOLD;
  }
  return proto::SUPPORT_POLICY_UNSPECIFIED;
}

// What defines a run, with defaults filled in (see the file comment).
std::vector<uint8_t> Fingerprint(const FederationConfigFile& file,
                                 const coordinator::CoordinatorOptions& o,
                                 const ResolvedModel& model) {
  proto::FederationConfig d;
  d.set_run_name(o.run_name);
  d.mutable_coordinator()->set_seed(o.seed);
  proto::RoundsConfig* r = d.mutable_rounds();
  r->set_num_rounds(o.num_rounds);
  r->set_fraction(o.selection.fraction);
  r->set_min_clients(o.selection.min_clients);
  r->set_max_clients(o.selection.max_clients);
  r->set_over_selection(o.selection.over_selection);
  proto::ModelConfig* m = d.mutable_model();
  m->set_kind(std::string(learn::ModelKindName(model.spec.kind)));
  m->set_input_dim(model.spec.input_dim);
  m->set_num_classes(static_cast<uint32_t>(model.spec.num_classes));
  for (size_t h : model.spec.hidden) m->add_hidden(static_cast<uint32_t>(h));
  m->set_init_seed(model.init_seed);
  proto::StrategyConfig* st = d.mutable_strategy();
  st->set_name(std::string(core::StrategyKindName(o.strategy.kind)));
  st->set_server_lr(o.strategy.server_lr);
  st->set_beta1(o.strategy.beta1);
  st->set_beta2(o.strategy.beta2);
  st->set_tau(o.strategy.tau);
  *d.mutable_compression() = file.config.compression();
  const coordinator::SecureAggregationOptions& a = o.secure_aggregation;
  proto::SecureAggregationConfig* sa = d.mutable_secure_aggregation();
  sa->set_enabled(a.enabled);
  if (a.enabled) {
    sa->set_support_policy(ToProto(a.policy));
    sa->set_threshold(a.threshold);
    sa->set_clip(a.clip);
    sa->set_ring_bits(static_cast<uint32_t>(a.ring_bits));
    sa->set_max_weight(a.max_weight);
    sa->set_mask_indexing(a.mask_indexing == secagg::MaskIndexing::kCoordinate
                              ? proto::MASK_INDEXING_COORDINATE
                              : proto::MASK_INDEXING_SUPPORT_POSITION);
    sa->set_support_density(a.density);
    sa->set_exploration(a.explore);
  }
  const std::string bytes = proto::SerializeDeterministic(d);
  crypto::Blake2b256Hasher hasher;
  hasher.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kFingerprintLabel),
                                         sizeof(kFingerprintLabel) - 1));
  hasher.UpdateU64(bytes.size());
  hasher.Update(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  // The degree is -1 (recommended) or >= 0, which the uint32 field cannot hold.
  hasher.UpdateU64(a.enabled ? static_cast<uint64_t>(static_cast<int64_t>(a.degree)) : 0);
  const crypto::Blake2b256Digest digest = hasher.Final();
  return std::vector<uint8_t>(digest.begin(), digest.end());
}

StatusOr<learn::FederatedDataSpec> ResolveData(const FederationConfigFile& file,
                                               const std::string& prefix,
                                               const proto::DataConfig& data) {
  const Section s(file, prefix);
  learn::FederatedDataSpec spec;
  if (data.dataset().empty()) {
    return Bad(s.Path("dataset"), "required (synthetic or fashion-mnist)");
  }
  if (data.dataset() != "synthetic" && data.dataset() != "fashion-mnist") {
    return Bad(s.Path("dataset"), "unknown dataset " + Quoted(data.dataset()) +
                                      " (expected synthetic or fashion-mnist)");
  }
  spec.dataset = data.dataset();
  if (!data.directory().empty()) spec.directory = data.directory();
  ASSIGN_OR_RETURN(spec.num_parts, s.Positive("num_parts", data.num_parts(), 1, 1u << 20));
  if (data.part() >= spec.num_parts) {
    return Bad(s.Path("part"), "must be below num_parts (" + std::to_string(spec.num_parts) + ")");
  }
  if (s.Has("partition")) {
    StatusOr<learn::PartitionKind> kind = learn::ParsePartitionKind(data.partition());
    if (!kind.ok()) {
      return Bad(s.Path("partition"), "unknown partition " + Quoted(data.partition()) +
                                          " (expected iid, dirichlet or shards)");
    }
    spec.partition = *kind;
  }
  spec.dirichlet_alpha = s.Or("dirichlet_alpha", data.dirichlet_alpha(), spec.dirichlet_alpha);
  if (!(spec.dirichlet_alpha > 0) || !std::isfinite(spec.dirichlet_alpha)) {
    return Bad(s.Path("dirichlet_alpha"), "must be a finite number > 0");
  }
  spec.seed = s.Or<uint64_t>("seed", data.seed(), 1);
  spec.max_train_samples = static_cast<size_t>(data.max_samples());
  RETURN_IF_ERROR(learn::ValidateFederatedDataSpec(spec).WithContext(prefix));
  return spec;
}

Status ResolveEvaluation(const FederationConfigFile& file, const ResolvedModel& model,
                         CoordinatorSetup* setup) {
  if (!file.Has("coordinator.eval_data")) return OkStatus();
  ASSIGN_OR_RETURN(
      learn::FederatedDataSpec spec,
      ResolveData(file, "coordinator.eval_data", file.config.coordinator().eval_data()));
  StatusOr<learn::Dataset> test = learn::LoadFederatedTestSet(spec);
  if (!test.ok()) return test.status().WithContext("coordinator.eval_data");
  ASSIGN_OR_RETURN(std::unique_ptr<learn::Model> eval_model, MakeModelFrom(model));
  if (Status s = eval_model->CheckCompatible(*test); !s.ok()) {
    return InvalidArgumentError("coordinator.eval_data: the test split does not fit the model: " +
                                std::string(s.message()));
  }
  struct Evaluator {
    std::unique_ptr<learn::Model> model;
    learn::Dataset test;
  };
  setup->eval_samples = test->num_samples;
  auto evaluator = std::make_shared<Evaluator>(Evaluator{std::move(eval_model), std::move(*test)});
  setup->options.evaluate =
      [evaluator](std::span<const float> params) -> StatusOr<std::pair<double, double>> {
    if (params.size() != evaluator->model->NumParameters()) {
      return InvalidArgumentError("evaluate: the model has " + std::to_string(params.size()) +
                                  " parameters, expected " +
                                  std::to_string(evaluator->model->NumParameters()));
    }
    const learn::EvalResult r = learn::EvaluateDataset(*evaluator->model, params, evaluator->test);
    return std::make_pair(r.loss, r.accuracy);
  };
  return OkStatus();
}

}  // namespace

StatusOr<FederationConfigFile> ParseFederationConfig(std::string_view json) {
  FederationConfigFile file;
  RETURN_IF_ERROR(proto::ParseJson(json, &file.config));
  google::protobuf::Struct object;
  RETURN_IF_ERROR(proto::ParseJson(json, &object));
  CollectPresent(object, proto::FederationConfig::descriptor(), "", &file.present);
  return file;
}

StatusOr<FederationConfigFile> LoadFederationConfig(const std::string& path) {
  StatusOr<std::string> text = ReadFileLimited(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext("config file");
  StatusOr<FederationConfigFile> file = ParseFederationConfig(*text);
  if (!file.ok()) return file.status().WithContext(path);
  return file;
}

StatusOr<CoordinatorSetup> BuildCoordinatorSetup(const FederationConfigFile& file) {
  const proto::FederationConfig& c = file.config;
  const Section top(file, "coordinator");
  CoordinatorSetup setup;
  coordinator::CoordinatorOptions& o = setup.options;

  o.run_name = file.Has("run_name") ? c.run_name() : "sotto";
  if (o.run_name.empty() || o.run_name.size() > kMaxRunNameBytes) {
    return Bad("run_name", "must be 1 to 128 characters");
  }
  o.seed = top.Or<uint64_t>("seed", c.coordinator().seed(), 1);
  RETURN_IF_ERROR(ResolveRounds(file, &o));

  ASSIGN_OR_RETURN(ResolvedModel model, ResolveModel(file));
  ASSIGN_OR_RETURN(std::unique_ptr<learn::Model> made, MakeModelFrom(model));
  o.initial_model.resize(made->NumParameters());
  made->Initialize(model.init_seed, o.initial_model);

  RETURN_IF_ERROR(ResolveStrategy(file, &o.strategy));

  if (Status s = proto::ValidateCompressionConfig(c.compression()); !s.ok()) {
    return InvalidArgumentError(s.message());  // messages name compression.<field>
  }
  o.compression = c.compression();
  RETURN_IF_ERROR(ResolveSecureAggregation(file, setup, &o.secure_aggregation));

  const Section ckpt(file, "checkpoint");
  o.checkpoint_dir = c.checkpoint().directory();
  ASSIGN_OR_RETURN(uint64_t every, ckpt.Positive("every_rounds", c.checkpoint().every_rounds(),
                                                 o.checkpoint_every));
  o.checkpoint_every = static_cast<uint32_t>(every);
  ASSIGN_OR_RETURN(uint64_t keep, ckpt.Positive("keep", c.checkpoint().keep(), o.checkpoint_keep));
  o.checkpoint_keep = static_cast<uint32_t>(keep);

  const proto::CoordinatorConfig& cc = c.coordinator();
  if (top.Has("round_log") && cc.round_log().empty()) {
    return Bad("coordinator.round_log", "must be a file path (leave it out for the default)");
  }
  if (!cc.round_log().empty()) {
    o.round_log_path = cc.round_log();
  } else if (!o.checkpoint_dir.empty()) {
    o.round_log_path = o.checkpoint_dir + "/rounds.jsonl";
  }
  ASSIGN_OR_RETURN(uint64_t eval_every, top.Positive("evaluate_every", cc.evaluate_every(), 1));
  o.evaluate_every = static_cast<uint32_t>(eval_every);
  if (cc.heartbeat_interval_ms() > kMaxTimeoutMs) {
    return Bad("coordinator.heartbeat_interval_ms", "must be at most 7 days (604800000 ms)");
  }
  o.heartbeat_interval_ms = cc.heartbeat_interval_ms();
  ASSIGN_OR_RETURN(uint64_t threads, top.Positive("threads", cc.threads(), 1, kMaxThreads));
  o.secure_aggregation.server_threads = static_cast<int>(threads);
  ASSIGN_OR_RETURN(
      std::chrono::milliseconds hello,
      top.Millis("hello_timeout_ms", cc.hello_timeout_ms(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(o.deadlines.hello)));
  o.deadlines.hello = hello;

  // Transport.
  setup.listener.bind_address = cc.listen_address().empty() ? "127.0.0.1" : cc.listen_address();
  ASSIGN_OR_RETURN(setup.listener.port, top.Port("port", cc.port()));
  RETURN_IF_ERROR(ResolveTls(file, "server", &setup.listener.credentials));
  const Section net_section(file, "net");
  ASSIGN_OR_RETURN(uint64_t max_connections,
                   net_section.Positive("max_connections", c.net().max_connections(),
                                        setup.listener.max_connections));
  setup.listener.max_connections = static_cast<size_t>(max_connections);
  setup.listener.connection = net::ServerConnectionOptions();
  RETURN_IF_ERROR(ResolveNet(file, /*server=*/true, &setup.listener.connection));

  const Section metrics(file, "metrics");
  ASSIGN_OR_RETURN(setup.metrics.port, metrics.Port("port", c.metrics().port()));
  setup.metrics_enabled = setup.metrics.port != 0;
  if (!c.metrics().listen_address().empty()) setup.metrics.host = c.metrics().listen_address();

  // The coordinator's own checks across sections (e.g. GD-SEC and checkpoint.every_rounds), so
  // that a config is refused when it is read, not when the coordinator starts.
  if (Status valid = coordinator::ValidateCoordinatorOptions(o); !valid.ok()) {
    return InvalidArgumentError(valid.message());
  }
  o.config_fingerprint = Fingerprint(file, o, model);
  RETURN_IF_ERROR(ResolveEvaluation(file, model, &setup));
  return setup;
}

StatusOr<ClientSetup> BuildClientSetup(const FederationConfigFile& file) {
  const proto::FederationConfig& c = file.config;
  const proto::ClientConfig& cl = c.client();
  const Section s(file, "client");
  ClientSetup setup;
  client::ClientOptions& o = setup.options;

  if (cl.client_id().empty()) {
    return Bad("client.client_id", "required (the CN of this client's certificate)");
  }
  if (Status id = net::ValidatePeerId(cl.client_id()); !id.ok()) {
    return Bad("client.client_id", id.message());
  }
  o.client_id = cl.client_id();
  o.capabilities = cl.capabilities();
  o.memory_budget_bytes = cl.capabilities().memory_budget_bytes();
  o.uplink_bytes_per_second = cl.capabilities().uplink_bytes_per_second();
  o.seed = s.Or<uint64_t>("seed", cl.seed(), 1);
  ASSIGN_OR_RETURN(uint64_t threads, s.Positive("threads", cl.threads(), 1, kMaxThreads));
  o.threads = static_cast<int>(threads);

  const Section rs(file, "client.reconnect");
  const proto::ReconnectConfig& rc = cl.reconnect();
  ASSIGN_OR_RETURN(o.reconnect.initial,
                   rs.Millis("initial_backoff_ms", rc.initial_backoff_ms(), o.reconnect.initial));
  ASSIGN_OR_RETURN(o.reconnect.max, rs.Millis("max_backoff_ms", rc.max_backoff_ms(),
                                              std::max(o.reconnect.max, o.reconnect.initial)));
  if (o.reconnect.max < o.reconnect.initial) {
    return Bad("client.reconnect.max_backoff_ms", "must be at least initial_backoff_ms (" +
                                                      std::to_string(o.reconnect.initial.count()) +
                                                      ")");
  }
  o.reconnect.jitter = rs.Or("jitter", rc.jitter(), o.reconnect.jitter);
  if (!(o.reconnect.jitter >= 0 && o.reconnect.jitter <= 1)) {
    return Bad("client.reconnect.jitter", "must be in [0, 1]");
  }
  o.reconnect.max_attempts = rc.max_attempts();
  ASSIGN_OR_RETURN(o.welcome_timeout,
                   s.Millis("welcome_timeout_ms", cl.welcome_timeout_ms(), o.welcome_timeout));
  ASSIGN_OR_RETURN(o.idle_timeout, s.Millis("idle_timeout_ms", cl.idle_timeout_ms(), o.idle_timeout,
                                            /*zero_allowed=*/true));
  if (s.Has("state_file") && cl.state_file().empty()) {
    return Bad("client.state_file", "must be a file path (leave it out to keep no state file)");
  }
  // "{client_id}" stands for the id, so that clients can share one config file.
  o.state_file = cl.state_file();
  for (size_t at = o.state_file.find("{client_id}"); at != std::string::npos;
       at = o.state_file.find("{client_id}", at + o.client_id.size())) {
    o.state_file.replace(at, std::string_view("{client_id}").size(), o.client_id);
  }

  // Transport.
  net::TlsClientOptions& d = setup.dialer;
  d.host = cl.coordinator_host().empty() ? "127.0.0.1" : cl.coordinator_host();
  if (cl.coordinator_port() == 0) {
    return Bad("client.coordinator_port", "required (the coordinator's TCP port)");
  }
  ASSIGN_OR_RETURN(d.port, s.Port("coordinator_port", cl.coordinator_port()));
  d.server_name = cl.server_name();
  RETURN_IF_ERROR(ResolveTls(file, o.client_id, &d.credentials));
  d.connection = net::ClientConnectionOptions();
  RETURN_IF_ERROR(ResolveNet(file, /*server=*/false, &d.connection));

  // The stock trainer.
  ASSIGN_OR_RETURN(ResolvedModel model, ResolveModel(file));
  const Section ls(file, "client.local");
  const proto::LocalTrainingConfig& lc = cl.local();
  learn::SgdOptions sgd;
  sgd.learning_rate = ls.Or("learning_rate", lc.learning_rate(), sgd.learning_rate);
  if (!(sgd.learning_rate > 0) || !std::isfinite(sgd.learning_rate)) {
    return Bad("client.local.learning_rate", "must be a finite number > 0");
  }
  sgd.momentum = lc.momentum();
  if (!(sgd.momentum >= 0 && sgd.momentum < 1)) {
    return Bad("client.local.momentum", "must be in [0, 1)");
  }
  ASSIGN_OR_RETURN(uint64_t batch, ls.Positive("batch_size", lc.batch_size(), sgd.batch_size));
  sgd.batch_size = static_cast<size_t>(batch);
  sgd.epochs = ls.Or("epochs", lc.epochs(), sgd.epochs);
  if (!(sgd.epochs > 0) || !std::isfinite(sgd.epochs) || sgd.epochs > 1e6) {
    return Bad("client.local.epochs", "must be in (0, 1e6]");
  }
  RETURN_IF_ERROR(learn::ValidateSgdOptions(sgd).WithContext("client.local"));

  ASSIGN_OR_RETURN(learn::FederatedDataSpec spec, ResolveData(file, "client.data", cl.data()));
  StatusOr<learn::Dataset> data = learn::LoadFederatedPart(spec, cl.data().part());
  if (!data.ok()) return data.status().WithContext("client.data");
  ASSIGN_OR_RETURN(std::unique_ptr<learn::Model> made, MakeModelFrom(model));
  if (Status fits = made->CheckCompatible(*data); !fits.ok()) {
    return InvalidArgumentError("client.data: the data does not fit the model: " +
                                std::string(fits.message()));
  }
  StatusOr<std::unique_ptr<core::ModelTrainer>> trainer =
      core::ModelTrainer::Create(std::move(made), std::move(*data), sgd);
  if (!trainer.ok()) return trainer.status().WithContext("client");
  setup.trainer = std::move(*trainer);
  return setup;
}

}  // namespace sotto::cli
