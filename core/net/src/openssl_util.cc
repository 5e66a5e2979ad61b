#include "openssl_util.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sotto/net/envelope_codec.h"

namespace sotto::net::internal {
namespace {

// Opens `path` for reading, refusing anything but a regular file.
StatusOr<BioPtr> OpenForReading(const std::string& path, struct stat* info) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int error = errno;
    const std::string message = path + ": " + std::strerror(error);
    return error == ENOENT ? NotFoundError(message) : InvalidArgumentError(message);
  }
  if (::fstat(fd, info) != 0 || !S_ISREG(info->st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    ::close(fd);
    return OpenSslError(StatusCode::kInternal, "BIO_new_fd");
  }
  return bio;
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) {
      out += "; ";
    }
    out += buffer;
  }
  return out;
}

Status OpenSslError(StatusCode code, const std::string& context) {
  const std::string errors = DrainOpenSslErrors();
  return Status(code, errors.empty() ? context : context + ": " + errors);
}

StatusOr<std::string> CertificateIdentity(X509* certificate) {
  if (certificate == nullptr) {
    return UnauthenticatedError("no peer certificate");
  }
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return UnauthenticatedError("certificate has no subject CN");
  }
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return UnauthenticatedError("certificate has more than one subject CN");
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    return OpenSslError(StatusCode::kUnauthenticated, "certificate CN is not a string");
  }
  std::string identity(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  const Status valid = ValidatePeerId(identity);
  if (!valid.ok()) {
    return UnauthenticatedError("certificate CN is not a valid identity: " +
                                std::string(valid.message()));
  }
  return identity;
}

StatusOr<EvpPkeyPtr> ReadPrivateKeyFile(const std::string& path) {
  struct stat info {};
  StatusOr<BioPtr> bio = OpenForReading(path, &info);
  if (!bio.ok()) {
    return bio.status();
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return PermissionDeniedError(path + ": private key file has mode " + mode +
                                 ", readable by others; chmod 600 it");
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!key) {
    return OpenSslError(StatusCode::kInvalidArgument, path + ": not a PEM private key");
  }
  return key;
}

StatusOr<X509Ptr> ReadCertificateFile(const std::string& path) {
  struct stat info {};
  StatusOr<BioPtr> bio = OpenForReading(path, &info);
  if (!bio.ok()) {
    return bio.status();
  }
  X509Ptr certificate(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (!certificate) {
    return OpenSslError(StatusCode::kInvalidArgument, path + ": not a PEM certificate");
  }
  return certificate;
}

}  // namespace sotto::net::internal
