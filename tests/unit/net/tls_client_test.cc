// Upstream TLS: TlsClientContext and the client side of TlsTransport against the server side over
// a socketpair — SNI, ALPN, CA and subjectAltName verification, client certificates, session reuse
// through TlsSessionCache. Certificates are generated in the test (EC P-256).
#include <gtest/gtest.h>

#include <cerrno>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "tls_test_util.h"

namespace portico::net {
namespace {

using tlstest::makeCert;
using tlstest::Pem;

TlsServerConfigConstSharedPtr serverTable(const Pem& pem, const std::string& clientCa = {}) {
  TlsServerCertConfig config;
  config.certChainPem = pem.cert;
  config.privateKeyPem = pem.key;
  config.rootCaPem = clientCa;
  config.sessionIdContext = "upstream";
  auto ctx = buildServerContext(config);
  EXPECT_TRUE(ctx.ok()) << ctx.error();
  auto table = std::make_shared<TlsServerConfig>();
  table->add(*ctx, {"*"});
  return table;
}

TlsClientContextConstSharedPtr client(const TlsClientConfig& config) {
  auto ctx = TlsClientContext::create(config);
  EXPECT_TRUE(ctx.ok()) << ctx.error();
  return ctx.ok() ? *ctx : nullptr;
}

/// A client TlsTransport and a server TlsTransport over a non-blocking socketpair.
class Pair {
public:
  Pair(TlsServerConfigConstSharedPtr table, TlsClientContextConstSharedPtr ctx, const std::string& sni,
       TlsSessionCache* cache) {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    server_ = TlsTransport::accept(std::move(table), fds_[0]);
    client_ = TlsTransport::connect(std::move(ctx), fds_[1], sni, cache);
  }
  ~Pair() {
    // As UpstreamConnection does: close_notify first, or OpenSSL marks the session not
    // resumable when the SSL is freed.
    if (client_) client_->shutdown();
    client_.reset();
    server_.reset();
    close(fds_[0]);
    close(fds_[1]);
  }

  /// Runs both handshakes; returns the client's last handshake() result.
  int handshake() {
    int r = 0;
    for (int i = 0; i < 50 && r == 0; ++i) {
      r = client_->handshake();
      char buf[256];
      server_->read(buf, sizeof(buf));  // the server side handshakes inside its reads
    }
    return r;
  }

  /// One request/response; the client's read also takes TLS 1.3 session tickets.
  std::string roundTrip(const std::string& request, const std::string& response) {
    EXPECT_EQ(client_->write(request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string got;
    char buf[4096];
    for (int i = 0; i < 50 && got.size() < request.size(); ++i) {
      ssize_t n = server_->read(buf, sizeof(buf));
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(got, request);
    EXPECT_EQ(server_->write(response.data(), response.size()), static_cast<ssize_t>(response.size()));
    std::string back;
    for (int i = 0; i < 50 && back.size() < response.size(); ++i) {
      ssize_t n = client_->read(buf, sizeof(buf));
      if (n > 0) back.append(buf, static_cast<size_t>(n));
    }
    return back;
  }

  TlsTransport& client() { return *client_; }
  TlsTransport& server() { return *server_; }

private:
  int fds_[2] = {-1, -1};
  std::unique_ptr<TlsTransport> server_;
  std::unique_ptr<TlsTransport> client_;
};

TEST(TlsClientTest, NoVerificationSniAlpnAndData) {
  Pem srv = makeCert("upstream.test", "DNS:upstream.test");
  auto ctx = client({});
  ASSERT_TRUE(ctx);
  EXPECT_FALSE(ctx->verifies());
  Pair pair(serverTable(srv), ctx, "upstream.test", nullptr);
  ASSERT_EQ(pair.handshake(), 1) << pair.client().lastError();
  EXPECT_TRUE(pair.client().established());
  EXPECT_STREQ(pair.server().serverName(), "upstream.test");
  EXPECT_EQ(pair.client().sni(), "upstream.test");
  EXPECT_EQ(pair.client().clientContext(), ctx.get());
  EXPECT_EQ(pair.roundTrip("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"), "HTTP/1.1 200 OK\r\n\r\n");

  Pair noSni(serverTable(srv), ctx, "", nullptr);
  ASSERT_EQ(noSni.handshake(), 1);
  EXPECT_STREQ(noSni.server().serverName(), "");
}

TEST(TlsClientTest, CaAndSubjectAltNameVerification) {
  Pem srv = makeCert("upstream.test", "DNS:*.wild.test,URI:spiffe://up");
  Pem other = makeCert("other CA", "DNS:other.test");
  auto table = serverTable(srv);

  auto good = client({"", "", srv.cert, {"api.wild.test"}});
  ASSERT_TRUE(good && good->verifies());
  Pair ok(table, good, "api.wild.test", nullptr);
  EXPECT_EQ(ok.handshake(), 1) << ok.client().lastError();

  Pair uri(table, client({"", "", srv.cert, {"spiffe://up"}}), "", nullptr);
  EXPECT_EQ(uri.handshake(), 1) << uri.client().lastError();

  Pair wrongCa(table, client({"", "", other.cert, {}}), "upstream.test", nullptr);
  EXPECT_EQ(wrongCa.handshake(), -1);
  EXPECT_NE(wrongCa.client().lastError().find("certificate verify failed"), std::string::npos)
      << wrongCa.client().lastError();

  // "*.wild.test" covers one label only
  for (const char* name : {"a.b.wild.test", "wild.test", "other.test"}) {
    Pair mismatch(table, client({"", "", srv.cert, {name}}), "", nullptr);
    EXPECT_EQ(mismatch.handshake(), -1) << name;
    EXPECT_NE(mismatch.client().lastError().find("verifySubjectAltName"), std::string::npos)
        << mismatch.client().lastError();
  }
}

TEST(TlsClientTest, ClientCertificate) {
  Pem srv = makeCert("upstream.test", "DNS:upstream.test");
  Pem cli = makeCert("portico", "URI:spiffe://portico");
  auto table = serverTable(srv, cli.cert);  // the server requires a client certificate
  Pair with(table, client({cli.cert, cli.key, "", {}}), "", nullptr);
  ASSERT_EQ(with.handshake(), 1) << with.client().lastError();
  EXPECT_EQ(with.roundTrip("ping", "pong"), "pong");

  // TLS 1.3: the server's refusal arrives after the client finished: its first read fails.
  Pair without(table, client({}), "", nullptr);
  int r = without.handshake();
  if (r == 1) {
    char buf[64];
    for (int i = 0; i < 20 && r == 1; ++i) {
      without.server().read(buf, sizeof(buf));
      if (without.client().read(buf, sizeof(buf)) < 0 && errno != EAGAIN) r = -1;
    }
  }
  EXPECT_EQ(r, -1);
}

TEST(TlsClientTest, BadMaterialIsAnError) {
  Pem a = makeCert("a", "DNS:a"), b = makeCert("b", "DNS:b");
  auto mismatch = TlsClientContext::create({a.cert, b.key, "", {}});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().find("private key"), std::string::npos) << mismatch.error();
  EXPECT_EQ(mismatch.error().find("BEGIN"), std::string::npos);
  EXPECT_FALSE(TlsClientContext::create({a.cert, "", "", {}}).ok());
  const char* junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  auto ca = TlsClientContext::create({"", "", junk, {}});
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.error().rfind("root CA: ", 0), 0u) << ca.error();
}

TEST(TlsClientTest, SessionReuseThroughTheCache) {
  Pem srv = makeCert("upstream.test", "DNS:upstream.test");
  auto table = serverTable(srv);
  for (bool tls12 : {false, true}) {
    auto ctx = client({});
    if (tls12) SSL_CTX_set_max_proto_version(ctx->ctx(), TLS1_2_VERSION);
    TlsSessionCache cache;
    {
      Pair first(table, ctx, "upstream.test", &cache);
      ASSERT_EQ(first.handshake(), 1);
      EXPECT_FALSE(first.client().resumed());
      EXPECT_EQ(first.roundTrip("a", "b"), "b");
    }
    EXPECT_NE(cache.find(ctx.get(), "upstream.test"), nullptr) << "tls12=" << tls12;
    EXPECT_EQ(cache.find(ctx.get(), "other.test"), nullptr);  // another SNI: not offered
    Pair second(table, ctx, "upstream.test", &cache);
    ASSERT_EQ(second.handshake(), 1);
    EXPECT_TRUE(second.client().resumed()) << "tls12=" << tls12;

    // A different context (another CA, say) never gets the session; a dead one neither.
    auto other = client({});
    EXPECT_EQ(cache.find(other.get(), "upstream.test"), nullptr);
    Pair third(table, other, "upstream.test", &cache);
    ASSERT_EQ(third.handshake(), 1);
    EXPECT_FALSE(third.client().resumed());
  }
}

}  // namespace
}  // namespace portico::net
