#include "sotto/base/logging.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace sotto {
namespace {

std::mutex& SinkMutex() {
  static std::mutex* mu = new std::mutex();  // never destroyed: logging works during exit
  return *mu;
}

std::unique_ptr<LogSink>& SinkSlot() {
  static auto* sink = new std::unique_ptr<LogSink>(MakeTextLogSink());
  return *sink;
}

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

// Writes all of `text` to `fd`, retrying short writes.
void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;  // nowhere to report a failing log sink
    done += static_cast<size_t>(n);
  }
}

class TextSink final : public LogSink {
 public:
  void Write(const LogRecord& r) override {
    std::string line;
    line += static_cast<char>(std::toupper(LogLevelName(r.level)[0]));
    line += ' ';
    line += FormatWallTime(r.time);
    line += ' ';
    line += r.event;
    for (const LogField& f : r.fields) {
      line += ' ';
      line += f.key;
      line += '=';
      bool needs_quotes = f.quoted && f.value.find_first_of(" \"=") != std::string::npos;
      if (needs_quotes) {
        line += '"';
        line += JsonEscape(f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
    line += '\n';
    WriteAll(STDERR_FILENO, line);
  }
};

class JsonSink final : public LogSink {
 public:
  explicit JsonSink(int fd) : fd_(fd) {}
  void Write(const LogRecord& r) override {
    // Plain appends: GCC 12 misreports `"literal" + std::string` under -O3 (-Wrestrict).
    std::string line = "{\"ts\":\"";
    line.append(FormatWallTime(r.time)).append("\",\"level\":\"");
    line.append(LogLevelName(r.level)).append("\",\"event\":\"");
    line.append(JsonEscape(r.event)).append("\"");
    for (const LogField& f : r.fields) {
      line.append(",\"").append(JsonEscape(f.key)).append("\":");
      if (f.quoted) {
        line.append("\"").append(JsonEscape(f.value)).append("\"");
      } else {
        line.append(f.value);
      }
    }
    line.append("}\n");
    WriteAll(fd_, line);
  }

 private:
  int fd_;
};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

std::unique_ptr<LogSink> MakeTextLogSink() { return std::make_unique<TextSink>(); }
std::unique_ptr<LogSink> MakeJsonLogSink(int fd) { return std::make_unique<JsonSink>(fd); }

std::unique_ptr<LogSink> SetLogSink(std::unique_ptr<LogSink> sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  std::swap(SinkSlot(), sink);
  return sink;
}

void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }
LogLevel MinLogLevel() { return static_cast<LogLevel>(g_min_level.load()); }

std::string FormatWallTime(Clock::WallTime time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

LogMessage::LogMessage(LogLevel level, std::string_view event)
    : enabled_(static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed)) {
  if (enabled_) {
    record_.level = level;
    record_.time = Clock::Real()->WallNow();
    record_.event = std::string(event);
  }
}

LogMessage::~LogMessage() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(SinkMutex());
  if (SinkSlot()) SinkSlot()->Write(record_);
}

LogMessage& LogMessage::With(std::string_view key, std::string_view value) {
  if (enabled_) record_.fields.push_back({std::string(key), std::string(value), true});
  return *this;
}

LogMessage& LogMessage::With(std::string_view key, bool value) {
  if (enabled_) record_.fields.push_back({std::string(key), value ? "true" : "false", false});
  return *this;
}

LogMessage& LogMessage::With(std::string_view key, double value) {
  if (!enabled_) return *this;
  if (!std::isfinite(value)) {
    // JSON has no NaN/Inf literals: log them as strings.
    return With(key, std::string_view(std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf")));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  record_.fields.push_back({std::string(key), buf, false});
  return *this;
}

LogMessage& LogMessage::With(std::string_view key, const Status& status) {
  return With(key, status.ToString());
}

LogMessage& LogMessage::WithInt(std::string_view key, int64_t value) {
  if (enabled_) record_.fields.push_back({std::string(key), std::to_string(value), false});
  return *this;
}

LogMessage& LogMessage::WithUint(std::string_view key, uint64_t value) {
  if (enabled_) record_.fields.push_back({std::string(key), std::to_string(value), false});
  return *this;
}

}  // namespace sotto
