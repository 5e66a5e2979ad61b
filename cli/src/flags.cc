#include "flags.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace sotto::cli {
namespace {

Status Bad(std::string_view what, std::string_view text, std::string_view expected) {
  return InvalidArgumentError("--" + std::string(what) + ": '" + std::string(text) + "' is not " +
                              std::string(expected));
}

std::string DoubleText(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Status ParseInt64(std::string_view text, std::string_view what, int64_t* out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Bad(what, text, "an integer");
  }
  *out = v;
  return OkStatus();
}

Status ParseUint64(std::string_view text, std::string_view what, uint64_t* out) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Bad(what, text, "a non-negative integer");
  }
  *out = v;
  return OkStatus();
}

Status ParseDouble(std::string_view text, std::string_view what, double* out) {
  // std::from_chars for double is in libstdc++ 11+; strtod needs a terminated copy.
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno == ERANGE || !std::isfinite(v)) {
    return Bad(what, text, "a finite number");
  }
  *out = v;
  return OkStatus();
}

FlagSet::Flag FlagSet::NewFlag(std::string name, std::string help, std::string default_text) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.default_text = std::move(default_text);
  return f;
}

FlagSet::FlagSet(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void FlagSet::Add(std::string name, std::string* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), "\"" + *value + "\"");
  f.set = [value](std::string_view text) {
    *value = std::string(text);
    return OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, int* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), std::to_string(*value));
  f.set = [value, name](std::string_view text) {
    int64_t v;
    if (Status s = ParseInt64(text, name, &v); !s.ok()) return s;
    if (v < INT32_MIN || v > INT32_MAX) return Bad(name, text, "in the range of int");
    *value = static_cast<int>(v);
    return OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, uint64_t* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), std::to_string(*value));
  f.set = [value, name](std::string_view text) { return ParseUint64(text, name, value); };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, double* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), DoubleText(*value));
  f.set = [value, name](std::string_view text) { return ParseDouble(text, name, value); };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, float* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), DoubleText(*value));
  f.set = [value, name](std::string_view text) {
    double v;
    if (Status s = ParseDouble(text, name, &v); !s.ok()) return s;
    if (std::abs(v) > 3.4e38) return Bad(name, text, "in the range of float");
    *value = static_cast<float>(v);
    return OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, bool* value, std::string help) {
  Flag f = NewFlag(name, std::move(help), *value ? "true" : "false");
  f.is_bool = true;
  f.bool_target = value;
  f.set = [value, name](std::string_view text) {
    if (text == "true" || text == "1" || text == "yes") {
      *value = true;
    } else if (text == "false" || text == "0" || text == "no") {
      *value = false;
    } else {
      return Bad(name, text, "true or false");
    }
    return OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::Add(std::string name, std::vector<size_t>* value, std::string help) {
  std::string def;
  for (size_t i = 0; i < value->size(); ++i) def += (i ? "," : "") + std::to_string((*value)[i]);
  Flag f = NewFlag(name, std::move(help), def.empty() ? "\"\"" : def);
  f.set = [value, name](std::string_view text) {
    std::vector<size_t> parsed;
    size_t start = 0;
    while (start <= text.size() && !text.empty()) {
      size_t comma = text.find(',', start);
      std::string_view item =
          text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
      uint64_t v;
      if (Status s = ParseUint64(item, name, &v); !s.ok()) return s;
      parsed.push_back(static_cast<size_t>(v));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    *value = std::move(parsed);
    return OkStatus();
  };
  flags_.push_back(std::move(f));
}

FlagSet::Flag* FlagSet::Find(std::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasSet(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.was_set;
  }
  return false;
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return InvalidArgumentError("unexpected argument '" + std::string(arg) + "' (see " +
                                  command_ + " --help)");
    }
    std::string_view body = arg.substr(2);
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    Flag* flag = Find(name);
    if (flag == nullptr && eq == std::string_view::npos && name.substr(0, 3) == "no-") {
      Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        *negated->bool_target = false;
        negated->was_set = true;
        continue;
      }
    }
    if (flag == nullptr) {
      return InvalidArgumentError("unknown flag --" + std::string(name) + " (see " + command_ +
                                  " --help)");
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = body.substr(eq + 1);
    } else if (flag->is_bool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError("--" + std::string(name) + " needs a value");
    }
    if (Status s = flag->set(value); !s.ok()) return s;
    flag->was_set = true;
  }
  return OkStatus();
}

std::string FlagSet::Usage() const {
  std::ostringstream out;
  out << "usage: " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name + (f.is_bool ? "" : " VALUE");
    out << left;
    if (left.size() < 28) {
      out << std::string(28 - left.size(), ' ');
    } else {
      out << "\n" << std::string(28, ' ');
    }
    out << f.help << " (default " << f.default_text << ")\n";
  }
  out << "  --help                    show this help\n";
  return out.str();
}

}  // namespace sotto::cli
