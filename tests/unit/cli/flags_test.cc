#include "flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sotto::cli {
namespace {

struct Fixture {
  int rounds = 20;
  double lr = 0.05;
  bool quiet = false;
  std::string name = "x";
  uint64_t seed = 1;
  std::vector<size_t> hidden = {128};
  FlagSet flags{"sotto test", "test flags"};
  Fixture() {
    flags.Add("rounds", &rounds, "rounds");
    flags.Add("lr", &lr, "learning rate");
    flags.Add("quiet", &quiet, "quiet");
    flags.Add("name", &name, "name");
    flags.Add("seed", &seed, "seed");
    flags.Add("hidden", &hidden, "widths");
  }
};

TEST(FlagSetTest, ParsesAllForms) {
  Fixture f;
  ASSERT_TRUE(f.flags
                  .Parse({"--rounds=5", "--lr", "0.5", "--quiet", "--name=abc", "--seed",
                          "18446744073709551615", "--hidden=64,32"})
                  .ok());
  EXPECT_EQ(f.rounds, 5);
  EXPECT_DOUBLE_EQ(f.lr, 0.5);
  EXPECT_TRUE(f.quiet);
  EXPECT_EQ(f.name, "abc");
  EXPECT_EQ(f.seed, 18446744073709551615ULL);
  EXPECT_EQ(f.hidden, (std::vector<size_t>{64, 32}));
  EXPECT_TRUE(f.flags.WasSet("rounds"));
}

TEST(FlagSetTest, NegatedBoolean) {
  Fixture f;
  f.quiet = true;
  ASSERT_TRUE(f.flags.Parse({"--no-quiet"}).ok());
  EXPECT_FALSE(f.quiet);
}

TEST(FlagSetTest, RefusesBadInputNamingTheFlag) {
  const std::vector<std::vector<std::string>> bad = {
      {"--rounds=abc"},        {"--rounds=5x"}, {"--lr=nan"}, {"--lr=1e999"},    {"--seed=-1"},
      {"--unknown=1"},         {"positional"},  {"--rounds"}, {"--quiet=maybe"}, {"--hidden=64,"},
      {"--rounds=99999999999"}};
  for (const auto& args : bad) {
    Fixture f;
    Status s = f.flags.Parse(args);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << args[0];
    if (args[0].rfind("--", 0) == 0 && args[0] != "--unknown=1") {
      std::string name = args[0].substr(2, args[0].find('=') - 2);
      EXPECT_NE(s.message().find(name), std::string::npos) << s;
    }
  }
}

TEST(FlagSetTest, HelpListsFlagsWithDefaults) {
  Fixture f;
  ASSERT_TRUE(f.flags.Parse({"--help"}).ok());
  EXPECT_TRUE(f.flags.help_requested());
  std::string usage = f.flags.Usage();
  EXPECT_NE(usage.find("--rounds VALUE"), std::string::npos) << usage;
  EXPECT_NE(usage.find("(default 20)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("(default 128)"), std::string::npos) << usage;
}

}  // namespace
}  // namespace sotto::cli
