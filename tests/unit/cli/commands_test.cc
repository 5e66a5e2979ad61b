// The coordinator and client commands' usage paths, in process: help, bad flags and configs
// that are refused before anything starts (exit status 2). Whole runs are in
// tests/e2e/cli_federation_test.sh.
#include "commands.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sotto::cli {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CoordinatorCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCoordinatorCommand({"--help"}), 0);
  EXPECT_EQ(RunCoordinatorCommand({}), 2);  // --config is required
  EXPECT_EQ(RunCoordinatorCommand({"--config"}), 2);
  EXPECT_EQ(RunCoordinatorCommand({"--bogus"}), 2);
  EXPECT_EQ(RunCoordinatorCommand({"--config", "/nonexistent/sotto.json"}), 2);
  const std::string unknown = WriteTemp("unknown.json", R"({"rounds": {"bogus": 1}})");
  EXPECT_EQ(RunCoordinatorCommand({"--config", unknown}), 2);
  const std::string fraction =
      WriteTemp("fraction.json",
                R"({"rounds": {"fraction": 2}, "model": {"kind": "logistic", "input_dim": 20},
          "tls": {"ca_file": "ca.pem"}})");
  EXPECT_EQ(RunCoordinatorCommand({"--config", fraction}), 2);
  std::remove(unknown.c_str());
  std::remove(fraction.c_str());
}

TEST(CoordinatorCommandTest, MissingCredentialsExitOne) {
  const std::string config =
      WriteTemp("nocreds.json", R"({"model": {"kind": "logistic", "input_dim": 20},
                          "tls": {"ca_file": "/nonexistent/sotto/ca.pem"}})");
  EXPECT_EQ(RunCoordinatorCommand({"--config", config}), 1);
  std::remove(config.c_str());
}

TEST(ClientCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunClientCommand({"--help"}), 0);
  EXPECT_EQ(RunClientCommand({}), 2);
  EXPECT_EQ(RunClientCommand({"--bogus"}), 2);
  EXPECT_EQ(RunClientCommand({"--config", "/nonexistent/sotto.json"}), 2);
  const std::string config =
      WriteTemp("client.json",
                R"({"client": {"client_id": "c", "data": {"dataset": "synthetic", "num_parts": 2}},
          "model": {"kind": "logistic", "input_dim": 20}, "tls": {"ca_file": "ca.pem"}})");
  EXPECT_EQ(RunClientCommand({"--config", config}), 2);  // no coordinator port
  EXPECT_EQ(RunClientCommand({"--config", config, "--coordinator-port", "70000"}), 2);
  EXPECT_EQ(RunClientCommand({"--config", config, "--coordinator-port", "9", "--data-part", "2"}),
            2);
  EXPECT_EQ(
      RunClientCommand({"--config", config, "--coordinator-port", "9", "--client-id", "not an id"}),
      2);
  std::remove(config.c_str());
}

TEST(ClientCommandTest, MissingCredentialsExitOne) {
  const std::string config = WriteTemp(
      "client_nocreds.json",
      R"({"client": {"client_id": "c", "coordinator_port": 9, "data": {"dataset": "synthetic"}},
          "model": {"kind": "logistic", "input_dim": 20},
          "tls": {"ca_file": "/nonexistent/sotto/ca.pem"}})");
  EXPECT_EQ(RunClientCommand({"--config", config}), 1);
  std::remove(config.c_str());
}

}  // namespace
}  // namespace sotto::cli
