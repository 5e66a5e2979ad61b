#include "sotto/core/learn/libsvm.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "learn/gz_reader.h"
#include "sotto/base/status_macros.h"

namespace sotto::learn {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits a line (comment already removed) into whitespace-separated tokens.
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// A whole token as a double, or an error text (without location). Accepts one leading '+',
// which LIBSVM files use for labels ("+1") and from_chars does not.
std::optional<std::string> ParseDouble(std::string_view token, std::string_view what, double* out) {
  std::string_view digits = token;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  if (digits.empty() || digits[0] == '+' || (token[0] == '+' && digits[0] == '-')) {
    return "cannot parse " + std::string(what) + " '" + std::string(token) + "'";
  }
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  if (ec == std::errc::result_out_of_range) {
    return std::string(what) + " '" + std::string(token) + "' is out of range";
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return "cannot parse " + std::string(what) + " '" + std::string(token) + "'";
  }
  if (!std::isfinite(*out)) {
    return std::string(what) + " '" + std::string(token) + "' is not finite (NaN or Inf)";
  }
  return std::nullopt;
}

// A finite double that must also be finite as a float.
std::optional<std::string> ParseFloat(std::string_view token, std::string_view what, float* out) {
  double value = 0.0;
  if (auto error = ParseDouble(token, what, &value)) return error;
  *out = static_cast<float>(value);
  if (!std::isfinite(*out)) {
    return std::string(what) + " '" + std::string(token) + "' overflows a float";
  }
  return std::nullopt;
}

// What the parser collects before the dense array is built: labels (as parsed), the line of
// each sample (for errors found once the whole file is read) and the sparse entries.
struct SparseRows {
  std::vector<double> labels;
  std::vector<size_t> lines;
  std::vector<size_t> row_begin;  // entries of sample r: [row_begin[r], row_begin[r + 1])
  std::vector<size_t> indices;    // 1-based
  std::vector<float> values;
  size_t max_index = 0;
};

class Parser {
 public:
  Parser(const LibsvmOptions& options, std::string_view source)
      : options_(options), source_(source) {}

  StatusOr<Dataset> Parse(std::string_view text) {
    if (options_.num_classes < 0 || options_.num_classes > kMaxLibsvmClasses) {
      return InvalidArgumentError(std::string(source_) + ": options.num_classes " +
                                  std::to_string(options_.num_classes) + " is outside [0, " +
                                  std::to_string(kMaxLibsvmClasses) + "]");
    }
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      ++line_no;
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
        line = line.substr(0, hash);
      }
      RETURN_IF_ERROR(ParseLine(line, line_no));
    }
    rows_.row_begin.push_back(rows_.indices.size());
    if (rows_.labels.empty()) return Error(0, "no samples");
    return Densify();
  }

 private:
  Status Error(size_t line, std::string_view message) const {
    std::string where(source_);
    if (line > 0) where += ":" + std::to_string(line);
    return InvalidArgumentError(where + ": " + std::string(message));
  }

  Status ParseLine(std::string_view line, size_t line_no) {
    const std::vector<std::string_view> tokens = Tokens(line);
    if (tokens.empty()) return OkStatus();
    if (tokens[0].find(':') != std::string_view::npos) {
      return Error(line_no,
                   "missing label (the line starts with '" + std::string(tokens[0]) + "')");
    }
    double label = 0.0;
    if (auto error = ParseDouble(tokens[0], "label", &label)) return Error(line_no, *error);
    rows_.row_begin.push_back(rows_.indices.size());
    rows_.labels.push_back(label);
    rows_.lines.push_back(line_no);

    size_t previous = 0;
    for (size_t t = 1; t < tokens.size(); ++t) {
      const std::string_view token = tokens[t];
      if (t == 1 && token.starts_with("qid:")) {
        int64_t qid = 0;
        const std::string_view digits = token.substr(4);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), qid);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
          return Error(line_no, "cannot parse '" + std::string(token) + "'");
        }
        continue;
      }
      const size_t colon = token.find(':');
      if (colon == std::string_view::npos) {
        return Error(line_no, "expected index:value, got '" + std::string(token) + "'");
      }
      ASSIGN_OR_RETURN(const size_t index, ParseIndex(token.substr(0, colon), line_no));
      if (index == previous) {
        return Error(line_no, "duplicate index " + std::to_string(index));
      }
      if (index < previous) {
        return Error(line_no, "index " + std::to_string(index) + " after index " +
                                  std::to_string(previous) +
                                  " (indices must be strictly ascending)");
      }
      if (options_.dim > 0 && index > options_.dim) {
        return Error(line_no, "index " + std::to_string(index) + " exceeds dim " +
                                  std::to_string(options_.dim));
      }
      float value = 0.0f;
      if (auto error = ParseFloat(token.substr(colon + 1), "value", &value)) {
        return Error(line_no, *error + " at index " + std::to_string(index));
      }
      previous = index;
      rows_.indices.push_back(index);
      rows_.values.push_back(value);
      rows_.max_index = std::max(rows_.max_index, index);
    }
    return OkStatus();
  }

  StatusOr<size_t> ParseIndex(std::string_view text, size_t line_no) const {
    if (!text.empty() && text[0] == '-') {
      return Error(line_no, "negative index " + std::string(text) + " (indices are 1-based)");
    }
    uint64_t index = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec == std::errc::result_out_of_range) {
      return Error(line_no, "index " + std::string(text) + " is out of range");
    }
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return Error(line_no, "cannot parse index '" + std::string(text) + "'");
    }
    if (index == 0) return Error(line_no, "index 0 (indices are 1-based)");
    if (index > std::numeric_limits<size_t>::max()) {
      return Error(line_no, "index " + std::string(text) + " is out of range");
    }
    return static_cast<size_t>(index);
  }

  // Applies the label rules of libsvm.h; fills data->labels and data->num_classes.
  Status ClassLabels(Dataset* data) const {
    const std::vector<double>& labels = rows_.labels;
    for (size_t r = 0; r < labels.size(); ++r) {
      if (labels[r] != std::floor(labels[r])) {
        return Error(rows_.lines[r], "class label " + FormatLabel(labels[r]) +
                                         " is not an integer (use regression for real targets)");
      }
      if (std::fabs(labels[r]) >= kMaxLibsvmClasses) {
        return Error(rows_.lines[r], "class label " + FormatLabel(labels[r]) +
                                         " is too large (the limit is " +
                                         std::to_string(kMaxLibsvmClasses - 1) + ")");
      }
    }
    bool plus_minus_one = true;
    for (double label : labels) plus_minus_one &= (label == -1.0 || label == 1.0);
    int64_t max_label = 0;
    data->labels.resize(labels.size());
    for (size_t r = 0; r < labels.size(); ++r) {
      int64_t label = static_cast<int64_t>(labels[r]);
      if (plus_minus_one) label = label > 0 ? 1 : 0;
      if (label < 0) {
        return Error(rows_.lines[r], "negative class label " + std::to_string(label) +
                                         " (labels must be >= 0, or all be -1/+1)");
      }
      if (options_.num_classes > 0 && label >= options_.num_classes) {
        return Error(rows_.lines[r], "class label " + std::to_string(label) + " is outside [0, " +
                                         std::to_string(options_.num_classes) + ")");
      }
      max_label = std::max(max_label, label);
      data->labels[r] = static_cast<int32_t>(label);
    }
    data->num_classes = options_.num_classes > 0 ? options_.num_classes
                                                 : std::max<int>(static_cast<int>(max_label) + 1,
                                                                 plus_minus_one ? 2 : 1);
    return OkStatus();
  }

  static std::string FormatLabel(double label) {
    std::array<char, 32> buffer;
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), label);
    return ec == std::errc() ? std::string(buffer.data(), end) : "?";
  }

  StatusOr<Dataset> Densify() const {
    Dataset data;
    data.num_samples = rows_.labels.size();
    data.dim = options_.dim > 0 ? options_.dim : rows_.max_index;
    if (data.dim == 0) {
      return Error(0, "no sample has any feature; give options.dim to load such a file");
    }
    if (data.dim > options_.max_dense_values / data.num_samples) {
      return ResourceExhaustedError(std::string(source_) + ": " + std::to_string(data.num_samples) +
                                    " samples x " + std::to_string(data.dim) +
                                    " features exceed the limit of " +
                                    std::to_string(options_.max_dense_values) + " dense values");
    }
    if (options_.regression) {
      data.num_classes = 0;
      data.targets.resize(data.num_samples);
      for (size_t r = 0; r < data.num_samples; ++r) {
        data.targets[r] = static_cast<float>(rows_.labels[r]);
        if (!std::isfinite(data.targets[r])) {
          return Error(rows_.lines[r],
                       "target " + FormatLabel(rows_.labels[r]) + " overflows a float");
        }
      }
    } else {
      RETURN_IF_ERROR(ClassLabels(&data));
    }
    data.features.assign(data.num_samples * data.dim, 0.0f);
    for (size_t r = 0; r < data.num_samples; ++r) {
      float* row = data.features.data() + r * data.dim;
      for (size_t e = rows_.row_begin[r]; e < rows_.row_begin[r + 1]; ++e) {
        row[rows_.indices[e] - 1] = rows_.values[e];
      }
    }
    return data;
  }

  const LibsvmOptions& options_;
  std::string_view source_;
  SparseRows rows_;
};

}  // namespace

StatusOr<Dataset> ParseLibsvm(std::string_view text, const LibsvmOptions& options,
                              std::string_view source_name) {
  return Parser(options, source_name).Parse(text);
}

StatusOr<Dataset> LoadLibsvm(const std::string& path, const LibsvmOptions& options) {
  ASSIGN_OR_RETURN(const std::string text, internal::ReadWholeFile(path));
  return ParseLibsvm(text, options, path);
}

}  // namespace sotto::learn
