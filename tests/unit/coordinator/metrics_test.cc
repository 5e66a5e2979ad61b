// Tests of sotto/coordinator/metrics.h: the Prometheus text format (HELP/TYPE lines, labels,
// escaping, deterministic order), counters and gauges, and refused names.

#include "sotto/coordinator/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace sotto::coordinator {
namespace {

TEST(MetricsTest, RendersThePrometheusTextFormat) {
  Metrics m;
  m.Describe("sotto_rounds_total", MetricType::kCounter, "Rounds completed.");
  m.Describe("sotto_connected_clients", MetricType::kGauge, "Clients connected now.");
  m.Add("sotto_rounds_total", 2);
  m.Add("sotto_rounds_total", 1);
  m.Set("sotto_connected_clients", 17);
  m.Add("sotto_drops_total", 1, {{"reason", "no_response"}});
  m.Add("sotto_drops_total", 2, {{"reason", "bad \"share\"\n\\x"}});
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP sotto_connected_clients Clients connected now.\n"
            "# TYPE sotto_connected_clients gauge\n"
            "sotto_connected_clients 17\n"
            "# TYPE sotto_drops_total untyped\n"
            "sotto_drops_total{reason=\"bad \\\"share\\\"\\n\\\\x\"} 2\n"
            "sotto_drops_total{reason=\"no_response\"} 1\n"
            "# HELP sotto_rounds_total Rounds completed.\n"
            "# TYPE sotto_rounds_total counter\n"
            "sotto_rounds_total 3\n");
  EXPECT_EQ(m.Value("sotto_rounds_total"), 3.0);
  EXPECT_EQ(m.Value("sotto_drops_total", {{"reason", "no_response"}}), 1.0);
  EXPECT_EQ(m.Value("absent"), 0.0);
}

TEST(MetricsTest, SeveralLabelsAndSpecialValues) {
  Metrics m;
  m.Set("g", NAN, {{"b", "2"}, {"a", "1"}});
  m.Set("g", INFINITY, {{"a", "0"}});
  m.Set("h", 0.125);
  EXPECT_EQ(m.RenderPrometheus(),
            "# TYPE g untyped\n"
            "g{a=\"0\"} +Inf\n"
            "g{a=\"1\",b=\"2\"} NaN\n"
            "# TYPE h untyped\n"
            "h 0.125\n");
}

TEST(MetricsTest, ConcurrentAddsAllCount) {
  Metrics m;
  m.Describe("c", MetricType::kCounter, "");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) m.Add("c", 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.Value("c"), 4000.0);
}

TEST(MetricsDeathTest, RefusesBadNamesAndDecreasingCounters) {
  Metrics m;
  EXPECT_DEATH(m.Add("9lives", 1), "bad metric name");
  EXPECT_DEATH(m.Add("ok", 1, {{"bad-label", "x"}}), "bad metric label name");
  m.Describe("c", MetricType::kCounter, "");
  EXPECT_DEATH(m.Add("c", -1), "cannot decrease");
  EXPECT_DEATH(m.Set("c", 5), "Set on counter");
}

}  // namespace
}  // namespace sotto::coordinator
