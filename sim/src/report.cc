#include "sotto/sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "sotto/base/logging.h"
#include "sotto/secagg/support.h"

namespace sotto::sim {
namespace {

constexpr double kPanelWidth = 520;
constexpr double kPanelHeight = 380;
constexpr double kMarginLeft = 70;
constexpr double kMarginRight = 20;
constexpr double kMarginTop = 60;
constexpr double kMarginBottom = 55;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string XmlEscape(std::string_view s) {
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

// "Nice" tick positions covering [lo, hi] (Heckbert's labelling).
std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string TickLabel(double v) {
  double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1e4 || a < 1e-3) return Fmt("%.0e", v);
  if (std::abs(v - std::round(v)) < 1e-9) return Fmt("%.0f", v);
  return Fmt("%.3g", v);
}

void RenderPanel(std::ostringstream& svg, const PlotPanel& panel, double ox, double oy) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  double ymin = xmin, ymax = -xmin;
  for (const PlotSeries& s : panel.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if (panel.log_x && s.x[i] <= 0) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  auto tx = [&](double x) { return panel.log_x ? std::log10(x) : x; };
  double lx0 = tx(xmin), lx1 = tx(xmax);
  if (lx1 - lx0 < 1e-12) lx0 -= 0.5, lx1 += 0.5;

  const double plot_w = kPanelWidth - kMarginLeft - kMarginRight;
  const double plot_h = kPanelHeight - kMarginTop - kMarginBottom;
  const double px = ox + kMarginLeft, py = oy + kMarginTop;
  auto X = [&](double x) { return px + (tx(x) - lx0) / (lx1 - lx0) * plot_w; };
  auto Y = [&](double y) { return py + plot_h - (y - ymin) / (ymax - ymin) * plot_h; };

  svg << "<text x='" << ox + kPanelWidth / 2 << "' y='" << oy + 38
      << "' text-anchor='middle' font-size='15' font-weight='bold'>" << XmlEscape(panel.title)
      << "</text>\n";
  svg << "<rect x='" << px << "' y='" << py << "' width='" << plot_w << "' height='" << plot_h
      << "' fill='white' stroke='#333'/>\n";

  for (double t : NiceTicks(ymin, ymax, 6)) {
    if (t < ymin || t > ymax) continue;
    svg << "<line x1='" << px << "' x2='" << px + plot_w << "' y1='" << Y(t) << "' y2='" << Y(t)
        << "' stroke='#ddd'/>\n";
    svg << "<text x='" << px - 6 << "' y='" << Y(t) + 4 << "' text-anchor='end' font-size='11'>"
        << TickLabel(t) << "</text>\n";
  }
  std::vector<double> xticks;
  if (panel.log_x) {
    for (double e = std::floor(lx0); e <= std::ceil(lx1); e += 1) {
      if (e >= lx0 - 1e-9 && e <= lx1 + 1e-9) xticks.push_back(std::pow(10.0, e));
    }
  } else {
    xticks = NiceTicks(xmin, xmax, 6);
  }
  for (double t : xticks) {
    if (tx(t) < lx0 - 1e-9 || tx(t) > lx1 + 1e-9) continue;
    svg << "<line y1='" << py << "' y2='" << py + plot_h << "' x1='" << X(t) << "' x2='" << X(t)
        << "' stroke='#eee'/>\n";
    svg << "<text x='" << X(t) << "' y='" << py + plot_h + 16
        << "' text-anchor='middle' font-size='11'>" << TickLabel(t) << "</text>\n";
  }
  svg << "<text x='" << px + plot_w / 2 << "' y='" << py + plot_h + 38
      << "' text-anchor='middle' font-size='12'>" << XmlEscape(panel.x_label) << "</text>\n";
  svg << "<text transform='translate(" << ox + 18 << "," << py + plot_h / 2
      << ") rotate(-90)' text-anchor='middle' font-size='12'>" << XmlEscape(panel.y_label)
      << "</text>\n";

  for (size_t s = 0; s < panel.series.size(); ++s) {
    const PlotSeries& series = panel.series[s];
    const char* color = kColors[s % (sizeof(kColors) / sizeof(kColors[0]))];
    svg << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='";
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      if (panel.log_x && series.x[i] <= 0) continue;
      svg << Fmt("%.2f", X(series.x[i])) << "," << Fmt("%.2f", Y(series.y[i])) << " ";
    }
    svg << "'/>\n";
    const double ly = py + 14 + 16 * static_cast<double>(s);
    svg << "<line x1='" << px + plot_w - 150 << "' x2='" << px + plot_w - 128 << "' y1='" << ly
        << "' y2='" << ly << "' stroke='" << color << "' stroke-width='3'/>\n";
    svg << "<text x='" << px + plot_w - 122 << "' y='" << ly + 4 << "' font-size='11'>"
        << XmlEscape(series.name) << "</text>\n";
  }
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return UnavailableError("cannot open " + path + " for writing");
  out << text;
  out.close();
  if (!out) return UnavailableError("failed writing " + path);
  return OkStatus();
}

}  // namespace

std::string FormatBytes(double bytes) {
  if (bytes >= 1e9) return Fmt("%.2f GB", bytes / 1e9);
  if (bytes >= 1e6) return Fmt("%.2f MB", bytes / 1e6);
  if (bytes >= 1e3) return Fmt("%.1f KB", bytes / 1e3);
  return Fmt("%.0f B", bytes);
}

Status WritePlotSvg(const std::string& path, const std::string& title,
                    const std::vector<PlotPanel>& panels) {
  for (const PlotPanel& p : panels) {
    for (const PlotSeries& s : p.series) {
      if (s.x.size() != s.y.size()) {
        return InvalidArgumentError("plot series '" + s.name + "' has x and y of different length");
      }
    }
  }
  const double width = kPanelWidth * static_cast<double>(std::max<size_t>(1, panels.size()));
  std::ostringstream svg;
  svg << "<?xml version='1.0' encoding='UTF-8'?>\n"
      << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << kPanelHeight
      << "' font-family='DejaVu Sans, Arial, sans-serif'>\n"
      << "<rect width='100%' height='100%' fill='#fafafa'/>\n"
      << "<text x='" << width / 2 << "' y='18' text-anchor='middle' font-size='14'>"
      << XmlEscape(title) << "</text>\n";
  for (size_t i = 0; i < panels.size(); ++i) {
    RenderPanel(svg, panels[i], kPanelWidth * static_cast<double>(i), 0);
  }
  svg << "</svg>\n";
  return WriteFile(path, svg.str());
}

Status WriteRoundsCsv(const std::string& path, const std::vector<RoundRecord>& rounds) {
  std::ostringstream csv;
  csv << "round,participants,train_loss,test_loss,test_accuracy,uplink_bytes,downlink_bytes,"
         "cumulative_uplink_bytes,seconds,support_size,dropped,aborted\n";
  for (const RoundRecord& r : rounds) {
    csv << r.round << ',' << r.participants << ',' << Fmt("%.6g", r.train_loss) << ','
        << (r.evaluated ? Fmt("%.6g", r.test_loss) : "") << ','
        << (r.evaluated ? Fmt("%.6g", r.test_accuracy) : "") << ',' << r.uplink_bytes << ','
        << r.downlink_bytes << ',' << r.cumulative_uplink_bytes << ',' << Fmt("%.4f", r.seconds)
        << ',' << r.support_size << ',' << r.dropped << ',' << (r.aborted ? 1 : 0) << '\n';
  }
  return WriteFile(path, csv.str());
}

Status WriteRunPlot(const std::string& path, const std::string& title, const SimResult& result) {
  PlotSeries by_round{"test accuracy", {}, {}};
  PlotSeries by_bytes{"test accuracy", {}, {}};
  PlotSeries loss{"train loss", {}, {}};
  for (const RoundRecord& r : result.rounds) {
    loss.x.push_back(r.round);
    loss.y.push_back(r.train_loss);
    if (!r.evaluated) continue;
    by_round.x.push_back(r.round);
    by_round.y.push_back(r.test_accuracy);
    by_bytes.x.push_back(static_cast<double>(r.cumulative_uplink_bytes) / 1e6);
    by_bytes.y.push_back(r.test_accuracy);
  }
  std::vector<PlotPanel> panels;
  panels.push_back({"Test accuracy by round", "round", "accuracy", false, {by_round}});
  panels.push_back(
      {"Test accuracy by uplink", "cumulative uplink (MB)", "accuracy", false, {by_bytes}});
  panels.push_back({"Training loss", "round", "mean local loss", false, {loss}});
  return WritePlotSvg(path, title, panels);
}

Status WriteSummaryJson(const std::string& path, const SimConfig& config, const SimResult& result) {
  std::ostringstream js;
  js << "{\n"
     << "  \"dataset\": \"" << JsonEscape(config.dataset) << "\",\n"
     << "  \"clients\": " << config.num_clients << ",\n"
     << "  \"rounds\": " << config.rounds << ",\n"
     << "  \"partition\": \"" << PartitionKindName(config.partition) << "\",\n"
     << "  \"model\": \"" << learn::ModelKindName(config.model.kind) << "\",\n"
     << "  \"strategy\": \"" << core::StrategyKindName(config.strategy.kind) << "\",\n"
     << "  \"seed\": " << config.seed << ",\n"
     << "  \"compression\": \"" << CompressionModeName(config.compression) << "\",\n"
     << "  \"secure_aggregation\": "
     << (config.secagg.enabled
             ? "\"" + std::string(secagg::SupportPolicyName(config.secagg.policy)) + "\""
             : std::string("null"))
     << ",\n"
     << "  \"num_parameters\": " << result.num_parameters << ",\n"
     << "  \"final_accuracy\": " << Fmt("%.6f", result.final_accuracy) << ",\n"
     << "  \"best_accuracy\": " << Fmt("%.6f", result.best_accuracy) << ",\n"
     << "  \"total_uplink_bytes\": " << result.total_uplink_bytes << ",\n"
     << "  \"dense_uplink_bytes\": " << result.dense_uplink_bytes << ",\n"
     << "  \"seconds\": " << Fmt("%.3f", result.seconds) << "\n"
     << "}\n";
  return WriteFile(path, js.str());
}

std::string FormatRoundLine(const RoundRecord& r, int total_rounds) {
  char buf[256];
  const int width = static_cast<int>(std::to_string(total_rounds).size());
  std::string acc = r.evaluated ? Fmt("%.4f", r.test_accuracy) : "   -  ";
  std::snprintf(buf, sizeof(buf),
                "round %*d/%d  clients %3zu  train_loss %.4f  test_acc %s  uplink %10s  "
                "(%.1fs)",
                width, r.round, total_rounds, r.participants, r.train_loss, acc.c_str(),
                FormatBytes(static_cast<double>(r.uplink_bytes)).c_str(), r.seconds);
  std::string line = buf;
  if (r.support_size > 0) {
    line += "  secagg |S| " + std::to_string(r.support_size);
    if (r.dropped > 0) line += " dropped " + std::to_string(r.dropped);
    if (r.aborted) line += "  ABORTED (too few survivors; model unchanged)";
  }
  return line;
}

std::string FormatResultTable(const SimConfig& config, const SimResult& result) {
  std::ostringstream out;
  out << "\n"
      << "| round | train loss | test loss | test accuracy | uplink (cumulative) |\n"
      << "|------:|-----------:|----------:|--------------:|--------------------:|\n";
  for (const RoundRecord& r : result.rounds) {
    if (!r.evaluated) continue;
    char line[160];
    std::snprintf(line, sizeof(line), "| %5d | %10.4f | %9.4f | %13.4f | %19s |\n", r.round,
                  r.train_loss, r.test_loss, r.test_accuracy,
                  FormatBytes(static_cast<double>(r.cumulative_uplink_bytes)).c_str());
    out << line;
  }
  out << "\n"
      << config.num_clients << " clients, " << config.rounds << " rounds, " << result.num_parameters
      << " parameters, " << result.train_samples << " training samples, " << result.test_samples
      << " test samples\n"
      << "final test accuracy " << Fmt("%.4f", result.final_accuracy) << " (best "
      << Fmt("%.4f", result.best_accuracy) << ")\n"
      << "uplink " << FormatBytes(static_cast<double>(result.total_uplink_bytes))
      << " (dense fp32 would be " << FormatBytes(static_cast<double>(result.dense_uplink_bytes))
      << ", ratio "
      << Fmt("%.3f", static_cast<double>(result.total_uplink_bytes) /
                         std::max<double>(1.0, static_cast<double>(result.dense_uplink_bytes)))
      << ")\n"
      << "wall time " << Fmt("%.1f", result.seconds) << " s\n";
  return out.str();
}

std::string FormatAsciiChart(const SimResult& result) {
  std::vector<const RoundRecord*> points;
  for (const RoundRecord& r : result.rounds) {
    if (r.evaluated) points.push_back(&r);
  }
  if (points.empty()) return "";
  double lo = 1.0, hi = 0.0;
  for (const RoundRecord* r : points) {
    lo = std::min(lo, r->test_accuracy);
    hi = std::max(hi, r->test_accuracy);
  }
  lo = std::floor(lo * 20) / 20;  // 0.05 steps
  hi = std::max(lo + 0.05, std::ceil(hi * 20) / 20);
  constexpr int kRows = 10;
  const size_t cols = std::min<size_t>(points.size(), 60);
  std::ostringstream out;
  out << "test accuracy by round\n";
  for (int row = kRows; row >= 0; --row) {
    const double level = lo + (hi - lo) * row / kRows;
    out << Fmt("%6.3f", level) << " |";
    for (size_t c = 0; c < cols; ++c) {
      const RoundRecord* r = points[c * points.size() / cols];
      const int r_row = static_cast<int>(std::lround((r->test_accuracy - lo) / (hi - lo) * kRows));
      out << (r_row == row ? '*' : (r_row > row ? ':' : ' '));
    }
    out << "\n";
  }
  out << "       +" << std::string(cols, '-') << "\n"
      << "        round " << points.front()->round << " .. " << points.back()->round << "\n";
  return out.str();
}

}  // namespace sotto::sim
