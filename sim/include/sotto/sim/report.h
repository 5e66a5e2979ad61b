#pragma once

// Reports of a simulated federation: a CSV of rounds, an SVG line plot, a terminal table.
//
// The plot writer is a small, dependency-free SVG renderer for line series (accuracy against
// rounds, accuracy against uplink megabytes); several series share one axis so runs with
// different compressors can be compared on one figure.

#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/sim/simulation.h"

namespace sotto::sim {

struct PlotSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct PlotPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  std::vector<PlotSeries> series;
};

// Renders panels side by side into one SVG file. InvalidArgument for a series whose x and y
// differ in length; Unavailable if the file cannot be written.
Status WritePlotSvg(const std::string& path, const std::string& title,
                    const std::vector<PlotPanel>& panels);

// One line per round: round,participants,train_loss,test_loss,test_accuracy,uplink_bytes,...
Status WriteRoundsCsv(const std::string& path, const std::vector<RoundRecord>& rounds);

// The standard figure of one run: test accuracy vs round and vs cumulative uplink MB.
Status WriteRunPlot(const std::string& path, const std::string& title, const SimResult& result);

// Machine-readable summary of a run.
Status WriteSummaryJson(const std::string& path, const SimConfig& config, const SimResult& result);

// The progress line printed after each round.
std::string FormatRoundLine(const RoundRecord& record, int total_rounds);

// The end-of-run table (per evaluated round) and summary lines.
std::string FormatResultTable(const SimConfig& config, const SimResult& result);

// A small text chart of test accuracy by round, for the terminal.
std::string FormatAsciiChart(const SimResult& result);

// Human units: "1.23 MB", "456 KB".
std::string FormatBytes(double bytes);

}  // namespace sotto::sim
