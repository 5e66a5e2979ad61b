#include "sotto/base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sotto/base/status_macros.h"
#include "sotto/base/statusor.h"

namespace sotto {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = InvalidArgumentError("bad magic");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "bad magic");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: bad magic");
}

TEST(StatusTest, OkCodeDropsMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, CopyAndCompare) {
  Status a = DataLossError("checksum");
  Status b = a;
  EXPECT_EQ(a, b);
  b = NotFoundError("checksum");
  EXPECT_FALSE(a == b);
  Status c = std::move(a);
  EXPECT_EQ(c.code(), StatusCode::kDataLoss);
}

TEST(StatusTest, WithContextPrefixes) {
  EXPECT_EQ(InvalidArgumentError("label 12 out of range").WithContext("/tmp/x.idx").ToString(),
            "INVALID_ARGUMENT: /tmp/x.idx: label 12 out of range");
  EXPECT_TRUE(OkStatus().WithContext("file").ok());
}

TEST(StatusTest, EveryFactoryHasItsCode) {
  EXPECT_EQ(AbortedError("").code(), StatusCode::kAborted);
  EXPECT_EQ(UnavailableError("").code(), StatusCode::kUnavailable);
  EXPECT_EQ(UnauthenticatedError("").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(ResourceExhaustedError("").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(DeadlineExceededError("").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(FailedPreconditionError("").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(PermissionDeniedError("").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusCodeName(StatusCode::kDataLoss), "DATA_LOSS");
}

StatusOr<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgumentError("not positive");
  return x;
}

StatusOr<int> Twice(int x) {
  ASSIGN_OR_RETURN(int v, ParsePositive(x));
  return 2 * v;
}

Status CheckBoth(int a, int b) {
  RETURN_IF_ERROR(ParsePositive(a).status());
  RETURN_IF_ERROR(ParsePositive(b).status());
  return OkStatus();
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<int> good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  StatusOr<int> bad = ParsePositive(-1);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(StatusOrTest, MacrosPropagate) {
  EXPECT_EQ(*Twice(4), 8);
  EXPECT_EQ(Twice(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, -2).message(), "not positive");
}

TEST(StatusOrTest, MoveOnlyValues) {
  StatusOr<std::unique_ptr<std::string>> p = std::make_unique<std::string>("x");
  ASSERT_TRUE(p.ok());
  std::unique_ptr<std::string> taken = std::move(p).value();
  EXPECT_EQ(*taken, "x");
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  StatusOr<int> bad = NotFoundError("nope");
  EXPECT_DEATH((void)bad.value(), "NOT_FOUND: nope");
}

TEST(StatusOrDeathTest, ConstructionFromOkAborts) {
  EXPECT_DEATH({ StatusOr<int> s = OkStatus(); }, "OK Status");
}

}  // namespace
}  // namespace sotto
