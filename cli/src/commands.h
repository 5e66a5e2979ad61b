#pragma once

// The `sotto` subcommands. Each takes the arguments after its name and returns the process
// exit code: 0 success, 1 the work failed, 2 bad usage.

#include <string>
#include <vector>

namespace sotto::cli {

int RunSimCommand(const std::vector<std::string>& args);
int RunCertsCommand(const std::vector<std::string>& args);
int RunCoordinatorCommand(const std::vector<std::string>& args);
int RunClientCommand(const std::vector<std::string>& args);

}  // namespace sotto::cli
