#include "sotto/net/certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "openssl_util.h"
#include "sotto/base/status_macros.h"
#include "sotto/net/envelope_codec.h"

namespace sotto::net {

struct Credential::Impl {
  internal::EvpPkeyPtr key;
  internal::X509Ptr certificate;
};

namespace {

using internal::BignumPtr;
using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::OpenSslError;
using internal::X509ExtensionPtr;
using internal::X509Ptr;

constexpr size_t kMaxCaNameBytes = 64;
constexpr size_t kMaxDnsNameBytes = 253;
constexpr size_t kSerialBytes = 16;  // 128-bit random serial numbers

Status CheckOptions(const CertificateOptions& options) {
  if (options.clock == nullptr) {
    return InvalidArgumentError("certificate options: clock is null");
  }
  if (options.backdate.count() < 0) {
    return InvalidArgumentError("certificate options: backdate is negative");
  }
  if (options.validity.count() <= 0) {
    return InvalidArgumentError("certificate options: validity must be positive");
  }
  return OkStatus();
}

Status CheckCaName(std::string_view name) {
  if (name.empty() || name.size() > kMaxCaNameBytes) {
    return InvalidArgumentError("CA name must have 1 to " + std::to_string(kMaxCaNameBytes) +
                                " characters");
  }
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError("CA name holds a non-printable character");
    }
  }
  return OkStatus();
}

bool IsIpAddress(const std::string& name) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

bool IsDnsName(const std::string& name) {
  if (name.empty() || name.size() > kMaxDnsNameBytes) {
    return false;
  }
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    const char c = i < name.size() ? name[i] : '.';
    if (c == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') {
        return false;
      }
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

StatusOr<EvpPkeyPtr> GenerateKey() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return OpenSslError(StatusCode::kInternal, "P-256 key generation");
  }
  return key;
}

Status SetValidity(X509* certificate, const CertificateOptions& options) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(options.clock->WallNow().time_since_epoch());
  const time_t not_before = static_cast<time_t>((now - options.backdate).count());
  const time_t not_after = static_cast<time_t>((now + options.validity).count());
  if (ASN1_TIME_set(X509_getm_notBefore(certificate), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate), not_after) == nullptr) {
    return OpenSslError(StatusCode::kInvalidArgument, "certificate validity");
  }
  return OkStatus();
}

Status SetSerial(X509* certificate) {
  unsigned char bytes[kSerialBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return OpenSslError(StatusCode::kInternal, "RAND_bytes");
  }
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, full length
  BignumPtr number(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr) {
    return OpenSslError(StatusCode::kInternal, "certificate serial");
  }
  return OkStatus();
}

Status AddExtension(X509* subject, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, subject, nullptr, nullptr, 0);
  X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension || X509_add_ext(subject, extension.get(), -1) != 1) {
    return OpenSslError(StatusCode::kInternal, std::string("extension ") + OBJ_nid2sn(nid));
  }
  return OkStatus();
}

struct Extension {
  int nid;
  std::string value;
};

// A certificate for a new key with subject CN `common_name`, signed by `issuer` (or
// self-signed when `issuer` is null).
StatusOr<std::unique_ptr<Credential::Impl>> MakeCertificate(
    const std::string& common_name, const Credential::Impl* issuer,
    const std::vector<Extension>& extensions, const CertificateOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  auto out = std::make_unique<Credential::Impl>();
  ASSIGN_OR_RETURN(out->key, GenerateKey());
  out->certificate.reset(X509_new());
  X509* certificate = out->certificate.get();
  if (certificate == nullptr || X509_set_version(certificate, X509_VERSION_3) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_new");
  }
  RETURN_IF_ERROR(SetSerial(certificate));
  X509_NAME* subject = X509_get_subject_name(certificate);
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, "subject CN");
  }
  X509* issuer_certificate = issuer ? issuer->certificate.get() : certificate;
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : out->key.get();
  if (X509_set_issuer_name(certificate, X509_get_subject_name(issuer_certificate)) != 1 ||
      X509_set_pubkey(certificate, out->key.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "issuer / public key");
  }
  RETURN_IF_ERROR(SetValidity(certificate, options));
  for (const Extension& extension : extensions) {
    RETURN_IF_ERROR(AddExtension(certificate, issuer_certificate, extension.nid, extension.value));
  }
  if (X509_sign(certificate, signing_key, EVP_sha256()) == 0) {
    return OpenSslError(StatusCode::kInternal, "signing the certificate");
  }
  return out;
}

// Creates `path` (which must not exist) with `mode` and lets `write` fill it through a BIO.
Status WriteNewFile(const std::string& path, mode_t mode, const std::function<int(BIO*)>& write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    const int error = errno;
    const std::string message = path + ": " + std::strerror(error);
    return error == EEXIST ? AlreadyExistsError(message) : UnavailableError(message);
  }
  Status status;
  {
    BioPtr bio(BIO_new_fd(fd, BIO_NOCLOSE));
    if (!bio || write(bio.get()) != 1 || BIO_flush(bio.get()) != 1) {
      status = OpenSslError(StatusCode::kUnavailable, path + ": write failed");
    }
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = UnavailableError(path + ": fsync: " + std::strerror(errno));
  }
  ::close(fd);
  if (!status.ok()) {
    ::unlink(path.c_str());
  }
  return status;
}

std::string SubjectCommonName(X509* certificate) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return "";
  }
  unsigned char* utf8 = nullptr;
  const int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) {
    ERR_clear_error();
    return "";
  }
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

}  // namespace

// ---- Credential ----

Credential::Credential(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Credential::Credential(Credential&&) noexcept = default;
Credential& Credential::operator=(Credential&&) noexcept = default;
Credential::~Credential() = default;

std::string Credential::CertificatePem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), impl_->certificate.get()) != 1) {
    ERR_clear_error();
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string Credential::CommonName() const { return SubjectCommonName(impl_->certificate.get()); }

Status Credential::WriteFiles(const std::string& certificate_path,
                              const std::string& key_path) const {
  struct stat info {};
  for (const std::string* path : {&certificate_path, &key_path}) {
    if (::lstat(path->c_str(), &info) == 0) {
      return AlreadyExistsError(*path + ": exists; refusing to overwrite");
    }
  }
  EVP_PKEY* key = impl_->key.get();
  RETURN_IF_ERROR(WriteNewFile(key_path, 0600, [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  }));
  X509* certificate = impl_->certificate.get();
  const Status status = WriteNewFile(certificate_path, 0644, [certificate](BIO* bio) {
    return PEM_write_bio_X509(bio, certificate);
  });
  if (!status.ok()) {
    ::unlink(key_path.c_str());
  }
  return status;
}

StatusOr<Credential> Credential::ReadFiles(const std::string& certificate_path,
                                           const std::string& key_path) {
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->certificate, internal::ReadCertificateFile(certificate_path));
  ASSIGN_OR_RETURN(impl->key, internal::ReadPrivateKeyFile(key_path));
  if (X509_check_private_key(impl->certificate.get(), impl->key.get()) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        key_path + " is not the key of " + certificate_path);
  }
  return Credential(std::move(impl));
}

// ---- CertificateAuthority ----

StatusOr<CertificateAuthority> CertificateAuthority::Create(std::string_view name,
                                                            const CertificateOptions& options) {
  RETURN_IF_ERROR(CheckCaName(name));
  ASSIGN_OR_RETURN(auto impl,
                   MakeCertificate(std::string(name), nullptr,
                                   {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                    {NID_subject_key_identifier, "hash"}},
                                   options));
  return CertificateAuthority(Credential(std::move(impl)));
}

StatusOr<CertificateAuthority> CertificateAuthority::Load(const std::string& certificate_path,
                                                          const std::string& key_path) {
  ASSIGN_OR_RETURN(Credential credential, Credential::ReadFiles(certificate_path, key_path));
  if (X509_check_ca(credential.impl_->certificate.get()) < 1) {
    return FailedPreconditionError(certificate_path + " is not a CA certificate");
  }
  return CertificateAuthority(std::move(credential));
}

StatusOr<Credential> CertificateAuthority::IssueServer(const std::vector<std::string>& names,
                                                       const CertificateOptions& options) const {
  if (names.empty()) {
    return InvalidArgumentError("a server certificate needs at least one name");
  }
  std::string alt_names;
  for (const std::string& name : names) {
    std::string entry;
    if (IsIpAddress(name)) {
      entry = "IP:" + name;
    } else if (IsDnsName(name)) {
      entry = "DNS:" + name;
    } else {
      return InvalidArgumentError("server name is neither a DNS name nor an IP address");
    }
    alt_names += (alt_names.empty() ? "" : ",") + entry;
  }
  ASSIGN_OR_RETURN(auto impl, MakeCertificate(names.front(), credential_.impl_.get(),
                                              {{NID_basic_constraints, "critical,CA:FALSE"},
                                               {NID_key_usage, "critical,digitalSignature"},
                                               {NID_ext_key_usage, "serverAuth"},
                                               {NID_subject_alt_name, alt_names},
                                               {NID_subject_key_identifier, "hash"},
                                               {NID_authority_key_identifier, "keyid:always"}},
                                              options));
  return Credential(std::move(impl));
}

StatusOr<Credential> CertificateAuthority::IssueClient(std::string_view client_id,
                                                       const CertificateOptions& options) const {
  RETURN_IF_ERROR(ValidatePeerId(client_id).WithContext("client id"));
  ASSIGN_OR_RETURN(auto impl, MakeCertificate(std::string(client_id), credential_.impl_.get(),
                                              {{NID_basic_constraints, "critical,CA:FALSE"},
                                               {NID_key_usage, "critical,digitalSignature"},
                                               {NID_ext_key_usage, "clientAuth"},
                                               {NID_subject_key_identifier, "hash"},
                                               {NID_authority_key_identifier, "keyid:always"}},
                                              options));
  return Credential(std::move(impl));
}

}  // namespace sotto::net
