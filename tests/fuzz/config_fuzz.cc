// Fuzz target for the configuration files of `sotto coordinator` and `sotto client`
// (cli/src/federation_config.h): strict JSON parsing into FederationConfig, then the builders
// that turn it into options (BAD_INPUTS row 25).
//
// Input: the bytes of a config file. Properties (anything else aborts): parsing answers OK or
// InvalidArgument; the builders answer OK or InvalidArgument / NotFound (a data directory that
// does not exist); an accepted coordinator config has a model of the declared size. To keep
// runs small the builders are skipped for models over 10^6 parameters, and data is read only
// for the synthetic dataset.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_config_corpus (tests/fuzz/corpus_main.cc).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "federation_config.h"
#include "sotto/base/check.h"

namespace sotto::cli {
namespace {

void CheckCode(const Status& status, std::initializer_list<StatusCode> allowed) {
  if (status.ok()) return;
  for (StatusCode code : allowed) {
    if (status.code() == code) return;
  }
  SOTTO_CHECK(false) << "unexpected status " << status;
}

// An upper bound on the parameters the model section describes (saturating).
uint64_t ParameterBound(const proto::ModelConfig& m) {
  uint64_t in = m.input_dim() + 1;
  uint64_t bound = 0;
  uint64_t width = in;
  for (uint32_t h : m.hidden()) {
    if (h > (1u << 20) || width > (1u << 20)) return UINT64_MAX;
    bound += width * (uint64_t{h} + 1);
    width = h;
  }
  if (width > (1u << 20) || m.num_classes() > (1u << 20)) return UINT64_MAX;
  return bound + width * (uint64_t{m.num_classes()} + 1);
}

bool SmallData(const proto::DataConfig& d) {
  return d.dataset().empty() || (d.dataset() == "synthetic" && d.num_parts() <= 64);
}

void Run(const uint8_t* data, size_t size) {
  StatusOr<FederationConfigFile> file =
      ParseFederationConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  CheckCode(file.status(), {StatusCode::kInvalidArgument});
  if (!file.ok()) return;
  const proto::FederationConfig& c = file->config;
  if (ParameterBound(c.model()) > 1'000'000) return;
  if (SmallData(c.coordinator().eval_data())) {
    StatusOr<CoordinatorSetup> setup = BuildCoordinatorSetup(*file);
    CheckCode(setup.status(), {StatusCode::kInvalidArgument, StatusCode::kNotFound});
    if (setup.ok()) SOTTO_CHECK(!setup->options.initial_model.empty());
  }
  if (SmallData(c.client().data())) {
    StatusOr<ClientSetup> setup = BuildClientSetup(*file);
    CheckCode(setup.status(), {StatusCode::kInvalidArgument, StatusCode::kNotFound,
                               StatusCode::kFailedPrecondition});
    if (setup.ok()) SOTTO_CHECK(setup->trainer != nullptr);
  }
}

}  // namespace
}  // namespace sotto::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sotto::cli::Run(data, size);
  return 0;
}
