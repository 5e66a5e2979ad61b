#pragma once

// A small structured logger: every record is an event name plus typed key/value fields.
//
//   SOTTO_LOG(kInfo, "round_done").With("round", 3).With("loss", 0.41);
//
// prints, with the default text sink on stderr,
//   I 2026-11-23T18:40:01.123Z round_done round=3 loss=0.41
// and, with the JSON-lines sink,
//   {"ts":"2026-11-23T18:40:01.123Z","level":"info","event":"round_done","round":3,"loss":0.41}
//
// The record is emitted when the statement ends. Sinks are process-wide and swapped with
// SetLogSink(); logging is thread-safe (one record is written atomically). Never pass secrets.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/base/status.h"

namespace sotto {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

std::string_view LogLevelName(LogLevel level);  // "debug", "info", ...

struct LogField {
  std::string key;
  std::string value;    // already formatted
  bool quoted = false;  // a string value (quoted in JSON), as opposed to a number or bool
};

struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  Clock::WallTime time;
  std::string event;
  std::vector<LogField> fields;
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(const LogRecord& record) = 0;
};

// Human-readable lines on stderr.
std::unique_ptr<LogSink> MakeTextLogSink();
// One JSON object per line on `fd` (not owned).
std::unique_ptr<LogSink> MakeJsonLogSink(int fd);

// Replaces the process-wide sink (nullptr: discard everything). Returns the previous one.
std::unique_ptr<LogSink> SetLogSink(std::unique_ptr<LogSink> sink);
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

// "2026-11-23T18:40:01.123Z"
std::string FormatWallTime(Clock::WallTime time);
// Escapes a string for use inside JSON quotes.
std::string JsonEscape(std::string_view s);

class LogMessage {
 public:
  LogMessage(LogLevel level, std::string_view event);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  LogMessage& With(std::string_view key, std::string_view value);
  LogMessage& With(std::string_view key, const char* value) {
    return With(key, std::string_view(value));
  }
  LogMessage& With(std::string_view key, const std::string& value) {
    return With(key, std::string_view(value));
  }
  LogMessage& With(std::string_view key, bool value);
  LogMessage& With(std::string_view key, double value);
  LogMessage& With(std::string_view key, const Status& status);
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  LogMessage& With(std::string_view key, T value) {
    if constexpr (std::is_signed_v<T>) {
      return WithInt(key, static_cast<int64_t>(value));
    } else {
      return WithUint(key, static_cast<uint64_t>(value));
    }
  }
  LogMessage& With(std::string_view key, float value) {
    return With(key, static_cast<double>(value));
  }

 private:
  LogMessage& WithInt(std::string_view key, int64_t value);
  LogMessage& WithUint(std::string_view key, uint64_t value);

  bool enabled_;
  LogRecord record_;
};

}  // namespace sotto

#define SOTTO_LOG(level, event) ::sotto::LogMessage(::sotto::LogLevel::level, event)
