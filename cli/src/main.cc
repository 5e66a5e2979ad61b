// sotto: one binary, subcommands. `sotto --help` lists them; `sotto <cmd> --help` explains one.

#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"

namespace {

constexpr char kUsage[] =
    "usage: sotto <command> [flags]\n"
    "\n"
    "sotto is a federated-learning framework with sparsified updates and secure aggregation.\n"
    "\n"
    "commands:\n"
    "  sim          run a simulated federation in one process (try: sotto sim --help)\n"
    "  coordinator  run a federation's coordinator over mutual TLS (--config FILE)\n"
    "  client       run one federation client over mutual TLS (--config FILE)\n"
    "  certs        create a federation CA and issue coordinator/client certificates\n"
    "  version      print the version\n"
    "\n"
    "Run `sotto <command> --help` for the flags of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::printf("sotto %s\n", SOTTO_VERSION);
    return 0;
  }
  if (command == "sim") return sotto::cli::RunSimCommand(args);
  if (command == "certs") return sotto::cli::RunCertsCommand(args);
  if (command == "coordinator") return sotto::cli::RunCoordinatorCommand(args);
  if (command == "client") return sotto::cli::RunClientCommand(args);
  std::fprintf(stderr, "sotto: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
