#include "sotto/coordinator/metrics.h"

#include <cmath>
#include <cstdio>

#include "sotto/base/check.h"

namespace sotto::coordinator {
namespace {

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

std::string Escape(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

void CheckLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    SOTTO_CHECK(ValidName(key, false)) << "bad metric label name '" << key << "'";
  }
}

}  // namespace

Metrics::Family& Metrics::FamilyFor(std::string_view name) {
  SOTTO_CHECK(ValidName(name, true)) << "bad metric name '" << name << "'";
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  return it->second;
}

void Metrics::Describe(std::string_view name, MetricType type, std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name);
  family.type = type;
  family.help = std::string(help);
}

void Metrics::Add(std::string_view name, double delta, const Labels& labels) {
  CheckLabels(labels);
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name);
  SOTTO_CHECK(family.type != MetricType::kCounter || delta >= 0)
      << "counter " << name << " cannot decrease (delta " << delta << ")";
  family.series[labels] += delta;
}

void Metrics::Set(std::string_view name, double value, const Labels& labels) {
  CheckLabels(labels);
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name);
  SOTTO_CHECK(family.type != MetricType::kCounter) << "Set on counter " << name;
  family.series[labels] = value;
}

double Metrics::Value(std::string_view name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0.0;
  auto series = it->second.series.find(labels);
  return series == it->second.series.end() ? 0.0 : series->second;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    if (!family.help.empty()) out += "# HELP " + name + " " + Escape(family.help, false) + "\n";
    out += "# TYPE " + name + " " + TypeName(family.type) + "\n";
    for (const auto& [labels, value] : family.series) {
      out += name;
      if (!labels.empty()) {
        out += "{";
        bool first = true;
        for (const auto& [key, label_value] : labels) {
          if (!first) out += ",";
          first = false;
          out += key + "=\"" + Escape(label_value, true) + "\"";
        }
        out += "}";
      }
      out += " " + FormatValue(value) + "\n";
    }
  }
  return out;
}

}  // namespace sotto::coordinator
