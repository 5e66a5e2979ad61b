// `sotto certs init|issue`: a federation's certificate authority and the certificates it issues
// (sotto/net/certs.h: ECDSA P-256, X.509 v3, created with the OpenSSL API), so that mutual TLS
// between the coordinator and its clients is one command to set up.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "flags.h"
#include "sotto/base/status_macros.h"
#include "sotto/net/certs.h"

namespace sotto::cli {
namespace {

constexpr char kUsage[] =
    "usage: sotto certs init  --dir DIR [--name NAME] [--days N]\n"
    "       sotto certs issue --dir DIR (--server NAME[,NAME...] | --client ID) [--days N]\n"
    "\n"
    "init   creates the federation CA: DIR/ca.pem (give it to every party) and DIR/ca.key\n"
    "       (mode 0600; keep it offline).\n"
    "issue  signs with DIR/ca.pem + DIR/ca.key: --server writes DIR/server.pem and\n"
    "       DIR/server.key for the coordinator (names: DNS names or IP addresses, the first is\n"
    "       the CN); --client writes DIR/ID.pem and DIR/ID.key, whose CN ID is that client's\n"
    "       identity on the wire.\n"
    "Existing files are never overwritten.\n";

struct CertFlags {
  std::string dir;
  std::string name = "sotto federation CA";
  std::string server;
  std::string client;
  int days = 365;
};

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

Status Run(const std::string& verb, const CertFlags& f) {
  if (f.dir.empty()) return InvalidArgumentError("--dir: required");
  if (f.days < 1) return InvalidArgumentError("--days: must be at least 1");
  net::CertificateOptions options;
  options.validity = std::chrono::hours(24) * f.days;
  const std::string ca_pem = f.dir + "/ca.pem";
  const std::string ca_key = f.dir + "/ca.key";
  if (verb == "init") {
    if (!f.server.empty() || !f.client.empty()) {
      return InvalidArgumentError("--server/--client: belong to `sotto certs issue`");
    }
    ASSIGN_OR_RETURN(net::CertificateAuthority ca,
                     net::CertificateAuthority::Create(f.name, options));
    RETURN_IF_ERROR(ca.credential().WriteFiles(ca_pem, ca_key));
    std::printf("wrote %s and %s (CA \"%s\", valid %d days)\n", ca_pem.c_str(), ca_key.c_str(),
                f.name.c_str(), f.days);
    return OkStatus();
  }
  if (f.server.empty() == f.client.empty()) {
    return InvalidArgumentError("--server or --client: give exactly one");
  }
  ASSIGN_OR_RETURN(net::CertificateAuthority ca, net::CertificateAuthority::Load(ca_pem, ca_key));
  if (!f.server.empty()) {
    ASSIGN_OR_RETURN(net::Credential server, ca.IssueServer(SplitComma(f.server), options));
    const std::string pem = f.dir + "/server.pem";
    const std::string key = f.dir + "/server.key";
    RETURN_IF_ERROR(server.WriteFiles(pem, key));
    std::printf("wrote %s and %s (server %s)\n", pem.c_str(), key.c_str(), f.server.c_str());
    return OkStatus();
  }
  ASSIGN_OR_RETURN(net::Credential client, ca.IssueClient(f.client, options));
  const std::string pem = f.dir + "/" + f.client + ".pem";
  const std::string key = f.dir + "/" + f.client + ".key";
  RETURN_IF_ERROR(client.WriteFiles(pem, key));
  std::printf("wrote %s and %s (client %s)\n", pem.c_str(), key.c_str(), f.client.c_str());
  return OkStatus();
}

}  // namespace

int RunCertsCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string verb = args[0];
  if (verb != "init" && verb != "issue") {
    std::fprintf(stderr, "sotto certs: unknown subcommand '%s'\n\n%s", verb.c_str(), kUsage);
    return 2;
  }
  CertFlags f;
  FlagSet flags("sotto certs " + verb, kUsage);
  flags.Add("dir", &f.dir, "directory of ca.pem / ca.key and the issued files");
  flags.Add("name", &f.name, "init: the CA's name");
  flags.Add("server", &f.server, "issue: the coordinator's names, comma-separated");
  flags.Add("client", &f.client, "issue: the client id (the certificate's CN)");
  flags.Add("days", &f.days, "validity in days");
  if (Status s = flags.Parse(std::vector<std::string>(args.begin() + 1, args.end())); !s.ok()) {
    std::fprintf(stderr, "sotto certs: %s\n", s.ToString().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (Status s = Run(verb, f); !s.ok()) {
    std::fprintf(stderr, "sotto certs %s: %s\n", verb.c_str(), s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sotto::cli
