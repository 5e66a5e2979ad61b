#pragma once

// The coordinator's metrics, rendered in the Prometheus text exposition format (version 0.0.4)
// for GET /metrics (sotto/coordinator/http_server.h).
//
//   Metrics m;
//   m.Describe("sotto_rounds_total", MetricType::kCounter, "Rounds completed.");
//   m.Add("sotto_rounds_total", 1);
//   m.Add("sotto_client_drops_total", 1, {{"reason", "no_response"}});
//   m.Set("sotto_connected_clients", 17);
//   std::string text = m.RenderPrometheus();
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names [a-zA-Z_][a-zA-Z0-9_]* (a bad name
// is a programming error: SOTTO_CHECK). Label values are escaped (\\, \", \n) when rendered. A
// series is a (name, labels) pair; Add on a counter must be >= 0. Metrics without a Describe
// render as untyped. Output is sorted by name, then labels, so it is deterministic.
//
// Thread-safety: every method may be called from any thread (one mutex).

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sotto::coordinator {

enum class MetricType { kUntyped, kCounter, kGauge };

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  void Describe(std::string_view name, MetricType type, std::string_view help);
  // Counter or gauge: value += delta (a counter refuses a negative delta: SOTTO_CHECK).
  void Add(std::string_view name, double delta, const Labels& labels = {});
  // Gauge: value = v.
  void Set(std::string_view name, double value, const Labels& labels = {});
  // The current value of a series (0 when absent).
  double Value(std::string_view name, const Labels& labels = {}) const;

  std::string RenderPrometheus() const;

 private:
  struct Family {
    MetricType type = MetricType::kUntyped;
    std::string help;
    std::map<Labels, double> series;
  };
  Family& FamilyFor(std::string_view name);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace sotto::coordinator
