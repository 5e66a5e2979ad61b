#include "sotto/sim/report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace sotto::sim {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

SimResult TwoRounds() {
  SimResult r;
  RoundRecord a;
  a.round = 1;
  a.participants = 3;
  a.train_loss = 1.5;
  a.evaluated = true;
  a.test_accuracy = 0.5;
  a.uplink_bytes = 1000;
  a.cumulative_uplink_bytes = 1000;
  RoundRecord b = a;
  b.round = 2;
  b.test_accuracy = 0.75;
  b.cumulative_uplink_bytes = 2000;
  r.rounds = {a, b};
  r.final_accuracy = 0.75;
  r.best_accuracy = 0.75;
  r.total_uplink_bytes = 2000;
  r.dense_uplink_bytes = 4000;
  return r;
}

TEST(ReportTest, CsvHasHeaderAndOneLinePerRound) {
  const std::string path = testing::TempDir() + "/rounds.csv";
  ASSERT_TRUE(WriteRoundsCsv(path, TwoRounds().rounds).ok());
  std::string csv = ReadAll(path);
  EXPECT_EQ(csv.rfind("round,participants,train_loss", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n2,3,1.5,0,0.75,1000,0,2000,"), std::string::npos) << csv;
}

TEST(ReportTest, RoundLineShowsTheSecureRound) {
  RoundRecord r;
  r.round = 3;
  r.participants = 8;
  r.support_size = 1017;
  r.dropped = 2;
  std::string line = FormatRoundLine(r, 20);
  EXPECT_NE(line.find("secagg |S| 1017 dropped 2"), std::string::npos) << line;
  EXPECT_EQ(line.find("ABORTED"), std::string::npos) << line;
  r.aborted = true;
  line = FormatRoundLine(r, 20);
  EXPECT_NE(line.find("ABORTED"), std::string::npos) << line;
  r.support_size = 0;  // plaintext rounds say nothing about secure aggregation
  EXPECT_EQ(FormatRoundLine(r, 20).find("secagg"), std::string::npos);
}

TEST(ReportTest, SvgIsWellFormedAndHasEverySeries) {
  const std::string path = testing::TempDir() + "/plot.svg";
  ASSERT_TRUE(WriteRunPlot(path, "a <title>", TwoRounds()).ok());
  std::string svg = ReadAll(path);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("a &lt;title&gt;"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) {
    ++polylines;
  }
  EXPECT_EQ(polylines, 3u);
}

TEST(ReportTest, MismatchedSeriesIsRefused) {
  PlotPanel panel{"t", "x", "y", false, {{"s", {1, 2}, {1}}}};
  EXPECT_EQ(WritePlotSvg(testing::TempDir() + "/bad.svg", "t", {panel}).code(),
            StatusCode::kInvalidArgument);
}

TEST(ReportTest, UnwritablePathIsUnavailable) {
  EXPECT_EQ(WriteRoundsCsv("/nonexistent-dir/x.csv", {}).code(), StatusCode::kUnavailable);
}

TEST(ReportTest, TableShowsFinalAccuracyAndRatio) {
  SimConfig config;
  std::string table = FormatResultTable(config, TwoRounds());
  EXPECT_NE(table.find("final test accuracy 0.7500"), std::string::npos) << table;
  EXPECT_NE(table.find("ratio 0.500"), std::string::npos) << table;
  EXPECT_NE(FormatAsciiChart(TwoRounds()).find('*'), std::string::npos);
}

TEST(ReportTest, FormatBytesPicksUnits) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(1500), "1.5 KB");
  EXPECT_EQ(FormatBytes(2.5e6), "2.50 MB");
  EXPECT_EQ(FormatBytes(3e9), "3.00 GB");
}

}  // namespace
}  // namespace sotto::sim
