// The federation PKI (sotto/net/certs.h): what is issued, how it verifies, how it is stored.

#include "sotto/net/certs.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "net_test_util.h"

namespace sotto::net {
namespace {

using testing::TempDir;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Owner = std::unique_ptr<X509, X509Free>;

X509Owner Parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return X509Owner(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// X509_V_OK or the verification error of `leaf` against `ca`, at `at` (or the real time).
int Verify(X509* ca, X509* leaf, std::optional<time_t> at = std::nullopt) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  if (at.has_value()) {
    X509_STORE_CTX_set_time(ctx.get(), 0, *at);
  }
  const int ok = X509_verify_cert(ctx.get());
  return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

mode_t Mode(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::Create("test CA");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<CertificateAuthority>(*std::move(ca));
    ca_cert_ = Parse(ca_->credential().CertificatePem());
    ASSERT_NE(ca_cert_, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<CertificateAuthority> ca_;
  X509Owner ca_cert_;
};

TEST_F(CertsTest, CaIsACaWithTheGivenName) {
  EXPECT_EQ(X509_check_ca(ca_cert_.get()), 1);
  EXPECT_EQ(ca_->credential().CommonName(), "test CA");
  EXPECT_EQ(Verify(ca_cert_.get(), ca_cert_.get()), X509_V_OK);  // self-signed
}

TEST_F(CertsTest, ClientCertificateCarriesTheIdAndOnlyClientAuth) {
  auto alice = ca_->IssueClient("alice");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->CommonName(), "alice");
  X509Owner cert = Parse(alice->CertificatePem());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Verify(ca_cert_.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_NE(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

TEST_F(CertsTest, ServerCertificateNamesHostsAndAddresses) {
  auto server = ca_->IssueServer({"localhost", "127.0.0.1", "::1", "coordinator.example.org"});
  ASSERT_TRUE(server.ok()) << server.status();
  X509Owner cert = Parse(server->CertificatePem());
  EXPECT_EQ(Verify(ca_cert_.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_NE(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "coordinator.example.org", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert.get(), "evil.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 1);
}

TEST_F(CertsTest, AnotherCaDoesNotVerify) {
  auto other = CertificateAuthority::Create("other CA");
  ASSERT_TRUE(other.ok());
  auto mallory = other->IssueClient("alice");
  ASSERT_TRUE(mallory.ok());
  X509Owner cert = Parse(mallory->CertificatePem());
  EXPECT_NE(Verify(ca_cert_.get(), cert.get()), X509_V_OK);
}

TEST_F(CertsTest, ValidityComesFromTheClock) {
  FakeClock clock;
  CertificateOptions options;
  options.clock = &clock;
  options.backdate = std::chrono::minutes(10);
  options.validity = std::chrono::hours(1);
  CertificateOptions ca_options;
  ca_options.clock = &clock;
  ca_options.backdate = std::chrono::hours(48);
  auto fake_ca = CertificateAuthority::Create("fake-time CA", ca_options);
  ASSERT_TRUE(fake_ca.ok());
  auto issued = fake_ca->IssueClient("alice", options);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Owner cert = Parse(issued->CertificatePem());
  const time_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch()).count();
  X509Owner ca = Parse(fake_ca->credential().CertificatePem());
  EXPECT_EQ(Verify(ca.get(), cert.get(), now + 1800), X509_V_OK);
  EXPECT_EQ(Verify(ca.get(), cert.get(), now - 3600), X509_V_ERR_CERT_NOT_YET_VALID);
  EXPECT_EQ(Verify(ca.get(), cert.get(), now + 7200), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(CertsTest, ACertificateIssuedInThePastHasExpiredNow) {
  testing::ShiftedClock ten_days_ago(-std::chrono::hours(240));
  CertificateOptions options;
  options.clock = &ten_days_ago;
  options.validity = std::chrono::hours(24);
  auto issued = ca_->IssueClient("alice", options);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(Verify(ca_cert_.get(), Parse(issued->CertificatePem()).get()),
            X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(CertsTest, WritesKeysPrivatelyAndReadsThemBack) {
  const std::string ca_pem = dir_.File("ca.pem");
  const std::string ca_key = dir_.File("ca.key");
  ASSERT_TRUE(ca_->credential().WriteFiles(ca_pem, ca_key).ok());
  EXPECT_EQ(Mode(ca_key) & 077, 0u);
  EXPECT_EQ(Mode(ca_key) & 0600, 0600u);
  EXPECT_EQ(Mode(ca_pem) & 0400, 0400u);
  // Never overwrites.
  EXPECT_EQ(ca_->credential().WriteFiles(ca_pem, dir_.File("other.key")).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ca_->credential().WriteFiles(dir_.File("other.pem"), ca_key).code(),
            StatusCode::kAlreadyExists);

  auto loaded = CertificateAuthority::Load(ca_pem, ca_key);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->credential().CertificatePem(), ca_->credential().CertificatePem());
  auto bob = loaded->IssueClient("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(Verify(ca_cert_.get(), Parse(bob->CertificatePem()).get()), X509_V_OK);
}

TEST_F(CertsTest, RefusesKeyFilesReadableByOthers) {
  const std::string pem = dir_.File("ca.pem");
  const std::string key = dir_.File("ca.key");
  ASSERT_TRUE(ca_->credential().WriteFiles(pem, key).ok());
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  EXPECT_EQ(CertificateAuthority::Load(pem, key).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Credential::ReadFiles(pem, key).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(CertsTest, RefusesMismatchedMissingAndNonCaFiles) {
  auto alice = ca_->IssueClient("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(ca_->credential().WriteFiles(dir_.File("ca.pem"), dir_.File("ca.key")).ok());
  ASSERT_TRUE(alice->WriteFiles(dir_.File("alice.pem"), dir_.File("alice.key")).ok());
  EXPECT_EQ(Credential::ReadFiles(dir_.File("ca.pem"), dir_.File("alice.key")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Credential::ReadFiles(dir_.File("none.pem"), dir_.File("alice.key")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      CertificateAuthority::Load(dir_.File("alice.pem"), dir_.File("alice.key")).status().code(),
      StatusCode::kFailedPrecondition);
  // A certificate file that is not PEM.
  ASSERT_TRUE(ca_->IssueClient("carol")->WriteFiles(dir_.File("x.pem"), dir_.File("x.key")).ok());
  EXPECT_EQ(Credential::ReadFiles(dir_.File("x.key"), dir_.File("x.key")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CertsTest, RefusesBadNamesAndOptions) {
  EXPECT_EQ(CertificateAuthority::Create("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CertificateAuthority::Create("line\nbreak").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueClient("a b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueClient("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueServer({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueServer({"bad_name"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueServer({"localhost,DNS:evil.org"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->IssueServer({"-leading.example"}).status().code(), StatusCode::kInvalidArgument);
  CertificateOptions options;
  options.validity = std::chrono::seconds(0);
  EXPECT_EQ(ca_->IssueClient("alice", options).status().code(), StatusCode::kInvalidArgument);
  options = {};
  options.clock = nullptr;
  EXPECT_EQ(ca_->IssueClient("alice", options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CertsTest, SerialNumbersDiffer) {
  auto a = ca_->IssueClient("alice");
  auto b = ca_->IssueClient("alice");
  ASSERT_TRUE(a.ok() && b.ok());
  X509Owner x = Parse(a->CertificatePem());
  X509Owner y = Parse(b->CertificatePem());
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(x.get()), X509_get0_serialNumber(y.get())), 0);
}

}  // namespace
}  // namespace sotto::net
