#pragma once

// A federation's small PKI: a certificate authority, and the server and client certificates
// it issues, created with the OpenSSL API (no shell-out). `sotto certs init|issue` and the
// tests use it; TLS (sotto/net/tls.h) reads the files it writes.
//
//   ASSIGN_OR_RETURN(auto ca, net::CertificateAuthority::Create("sotto federation CA"));
//   RETURN_IF_ERROR(ca.credential().WriteFiles(dir + "/ca.pem", dir + "/ca.key"));
//   ASSIGN_OR_RETURN(auto server, ca.IssueServer({"localhost", "127.0.0.1"}));
//   ASSIGN_OR_RETURN(auto alice, ca.IssueClient("alice"));
//
// What is issued (X.509 v3, ECDSA P-256 keys, SHA-256 signatures, 128-bit random serials):
//   CA      subject CN = the given name; basicConstraints critical CA:TRUE, pathlen:0;
//           keyUsage critical keyCertSign, cRLSign; subjectKeyIdentifier.
//   server  CN = the first name; subjectAltName DNS:/IP: for every name; basicConstraints
//           critical CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage serverAuth.
//   client  CN = the client id (its identity on the wire: ValidatePeerId); basicConstraints
//           critical CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage
//           clientAuth. A client certificate cannot serve as a server's, nor the reverse.
//
// Secrets: private keys live in OpenSSL's EVP_PKEY (freed by OpenSSL, which clears key
// material) and go to disk straight from OpenSSL into a file created with mode 0600; no
// sotto buffer ever holds one. Loading refuses a key file readable by group or others.
//
// Thread-safety: a CertificateAuthority or Credential may be used from several threads for
// const operations; nothing here keeps global state.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::net {

struct CertificateOptions {
  // Where "now" comes from (not owned; a FakeClock in tests).
  Clock* clock = Clock::Real();
  // not_before = now - backdate (tolerates clock skew between machines).
  std::chrono::seconds backdate{3600};
  // not_after = now + validity.
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
};

// A private key and its certificate. Move-only.
class Credential {
 public:
  Credential(Credential&&) noexcept;
  Credential& operator=(Credential&&) noexcept;
  ~Credential();

  // The certificate in PEM.
  std::string CertificatePem() const;
  // The subject CN.
  std::string CommonName() const;

  // Writes the certificate (mode 0644) and the private key (unencrypted PKCS#8 PEM, mode
  // 0600), each to a new file: AlreadyExists if either path exists (nothing is overwritten),
  // and the certificate is not written when the key cannot be.
  Status WriteFiles(const std::string& certificate_path, const std::string& key_path) const;

  // Reads a certificate and its private key (the key file must have mode 0600 or stricter:
  // PermissionDenied otherwise). InvalidArgument if they do not belong together.
  static StatusOr<Credential> ReadFiles(const std::string& certificate_path,
                                        const std::string& key_path);

  struct Impl;  // OpenSSL handles (certs.cc)

 private:
  friend class CertificateAuthority;
  explicit Credential(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class CertificateAuthority {
 public:
  // A new CA with a fresh key and a self-signed certificate for `name` (1 to 64 printable
  // characters). InvalidArgument for a bad name or options.
  static StatusOr<CertificateAuthority> Create(std::string_view name,
                                               const CertificateOptions& options = {});
  // An existing CA from its files. FailedPrecondition if the certificate is not a CA's.
  static StatusOr<CertificateAuthority> Load(const std::string& certificate_path,
                                             const std::string& key_path);

  // A server certificate for `names` (at least one; DNS names of [A-Za-z0-9.-] labels or
  // IPv4/IPv6 addresses). InvalidArgument for a bad name.
  StatusOr<Credential> IssueServer(const std::vector<std::string>& names,
                                   const CertificateOptions& options = {}) const;
  // A client certificate whose CN is `client_id` (ValidatePeerId).
  StatusOr<Credential> IssueClient(std::string_view client_id,
                                   const CertificateOptions& options = {}) const;

  // The CA's own certificate and key (write it with WriteFiles; distribute only the
  // certificate).
  const Credential& credential() const { return credential_; }

 private:
  explicit CertificateAuthority(Credential credential) : credential_(std::move(credential)) {}
  Credential credential_;
};

}  // namespace sotto::net
