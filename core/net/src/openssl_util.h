#pragma once

// RAII owners for OpenSSL handles (BoringSSL's bssl::UniquePtr, by hand), error-queue
// draining, and the small pieces of X.509 handling shared by certs.cc and the TLS code.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::net::internal {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;

// Drains this thread's OpenSSL error queue into one line ("" when empty).
std::string DrainOpenSslErrors();
// `context` + ": " + the drained errors, as `code`.
Status OpenSslError(StatusCode code, const std::string& context);

// The identity a certificate asserts: its single subject CN, which must be a valid peer id
// (sotto/net/envelope_codec.h). Unauthenticated otherwise.
StatusOr<std::string> CertificateIdentity(X509* certificate);

// Reads a PEM private key. PermissionDenied if the file is readable or writable by group or
// others (like OpenSSH), NotFound / InvalidArgument for a missing or unreadable file.
StatusOr<EvpPkeyPtr> ReadPrivateKeyFile(const std::string& path);
// Reads the first PEM certificate of a file.
StatusOr<X509Ptr> ReadCertificateFile(const std::string& path);

}  // namespace sotto::net::internal
