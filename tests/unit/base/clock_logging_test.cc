#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/base/clock.h"
#include "sotto/base/logging.h"

namespace sotto {
namespace {

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock;
  Clock::TimePoint t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(std::chrono::seconds(3));
  EXPECT_DOUBLE_EQ(SecondsBetween(t0, clock.Now()), 3.0);
  clock.SleepFor(std::chrono::milliseconds(500));
  EXPECT_DOUBLE_EQ(SecondsBetween(t0, clock.Now()), 3.5);
  EXPECT_EQ(FormatWallTime(clock.WallNow()), "2026-01-01T00:00:03.500Z");
}

TEST(RealClockTest, IsMonotonic) {
  Clock* clock = Clock::Real();
  Clock::TimePoint a = clock->Now();
  Clock::TimePoint b = clock->Now();
  EXPECT_LE(a, b);
}

class CaptureSink : public LogSink {
 public:
  explicit CaptureSink(std::vector<LogRecord>* out) : out_(out) {}
  void Write(const LogRecord& r) override { out_->push_back(r); }

 private:
  std::vector<LogRecord>* out_;
};

TEST(LoggingTest, RecordsTypedFields) {
  std::vector<LogRecord> records;
  auto previous = SetLogSink(std::make_unique<CaptureSink>(&records));
  SOTTO_LOG(kInfo, "round_done").With("round", 3).With("loss", 0.25).With("who", "c1");
  SOTTO_LOG(kDebug, "hidden");  // below the default level
  SetLogSink(std::move(previous));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event, "round_done");
  ASSERT_EQ(records[0].fields.size(), 3u);
  EXPECT_EQ(records[0].fields[0].value, "3");
  EXPECT_FALSE(records[0].fields[0].quoted);
  EXPECT_EQ(records[0].fields[1].value, "0.25");
  EXPECT_TRUE(records[0].fields[2].quoted);
}

TEST(LoggingTest, JsonSinkWritesOneObjectPerLine) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto previous = SetLogSink(MakeJsonLogSink(fds[1]));
  SOTTO_LOG(kWarning, "drop").With("reason", "say \"hi\"").With("nan", 0.0 / 0.0);
  SetLogSink(std::move(previous));
  close(fds[1]);
  char buf[512] = {};
  ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  ASSERT_GT(n, 0);
  std::string line(buf, static_cast<size_t>(n));
  EXPECT_NE(line.find("\"level\":\"warning\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"reason\":\"say \\\"hi\\\"\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"nan\":\"nan\""), std::string::npos) << line;
  EXPECT_EQ(line.back(), '\n');
}

TEST(CheckDeathTest, FailedCheckAbortsWithMessage) {
  int k = 5, d = 3;
  EXPECT_DEATH(SOTTO_CHECK(k <= d) << "k=" << k, "check failed: k <= d k=5");
  EXPECT_DEATH(SOTTO_CHECK_OK(InternalError("boom")), "INTERNAL: boom");
}

}  // namespace
}  // namespace sotto
