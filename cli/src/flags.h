#pragma once

// FlagSet: typed command-line flags for the `sotto` subcommands.
//
//   FlagSet flags("sotto sim", "Run a simulated federation in one process.");
//   flags.Add("rounds", &config.rounds, "number of rounds");
//   RETURN_IF_ERROR(flags.Parse(args));   // InvalidArgument naming the flag on bad input
//   if (flags.help_requested()) { std::cout << flags.Usage(); return 0; }
//
// Accepted forms: --name=value, --name value, and --name / --no-name for booleans. Values are
// parsed strictly (the whole text must parse, numbers must be finite and in range); an unknown
// flag or a stray positional argument is an error. The defaults shown in Usage() are the
// variables' values when they were added.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::cli {

class FlagSet {
 public:
  FlagSet(std::string command, std::string summary);

  void Add(std::string name, std::string* value, std::string help);
  void Add(std::string name, int* value, std::string help);
  void Add(std::string name, uint64_t* value, std::string help);
  void Add(std::string name, double* value, std::string help);
  void Add(std::string name, float* value, std::string help);
  void Add(std::string name, bool* value, std::string help);
  // A comma-separated list of sizes ("128,64").
  void Add(std::string name, std::vector<size_t>* value, std::string help);

  Status Parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_requested_; }
  // True if the flag was given on the command line.
  bool WasSet(std::string_view name) const;
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool* bool_target = nullptr;
    std::function<Status(std::string_view)> set;
    bool was_set = false;
  };
  static Flag NewFlag(std::string name, std::string help, std::string default_text);
  Flag* Find(std::string_view name);

  std::string command_;
  std::string summary_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

// Strict parsers, exposed for tests. InvalidArgument naming `what` on failure.
Status ParseInt64(std::string_view text, std::string_view what, int64_t* out);
Status ParseUint64(std::string_view text, std::string_view what, uint64_t* out);
Status ParseDouble(std::string_view text, std::string_view what, double* out);

}  // namespace sotto::cli
