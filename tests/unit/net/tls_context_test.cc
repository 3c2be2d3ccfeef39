// buildServerContext, TlsServerConfig (SNI choice) and TlsTransport over a socketpair against an
// OpenSSL client: certificates generated in the test (EC P-256, self-signed).
#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "tls_test_util.h"

namespace portico::net {
namespace {

using tlstest::Pem;

Pem selfSigned(const char* cn) { return tlstest::makeCert(cn); }

SslCtxConstSharedPtr build(const Pem& pem, const std::string& id = "vs") {
  TlsServerCertConfig config;
  config.certChainPem = pem.cert;
  config.privateKeyPem = pem.key;
  config.sessionIdContext = id;
  auto ctx = buildServerContext(config);
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error());
  return ctx.ok() ? *ctx : nullptr;
}

TEST(TlsContextTest, BuildsAndReportsOpenSslReasons) {
  Pem a = selfSigned("a.test"), b = selfSigned("b.test");
  EXPECT_TRUE(build(a));
  EXPECT_TRUE(checkCertificateAndKey(a.cert, a.key, {}).ok());
  EXPECT_EQ(certificateSubject(a.cert), "CN=a.test");

  Status mismatch = checkCertificateAndKey(a.cert, b.key, {});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.message().find("private key: "), std::string::npos) << mismatch.message();
  EXPECT_NE(mismatch.message().find("mismatch"), std::string::npos) << mismatch.message();
  EXPECT_EQ(mismatch.message().find("BEGIN"), std::string::npos);

  Status garbage = checkCertificateAndKey("not a certificate", a.key, {});
  EXPECT_EQ(garbage.message(), "certificate chain: no PEM certificate found");
  Status badKey = checkCertificateAndKey(a.cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", {});
  ASSERT_FALSE(badKey.ok());
  EXPECT_EQ(badKey.message().rfind("private key: ", 0), 0u) << badKey.message();
  EXPECT_EQ(ERR_peek_error(), 0u);  // the thread's error queue is left empty
}

TEST(TlsContextTest, SniSelection) {
  auto a = build(selfSigned("a")), b = build(selfSigned("b")), c = build(selfSigned("c"));
  TlsServerConfig table;
  table.add(a, {"a.example.com", "*.example.com"});
  table.add(b, {"*.deep.example.com", "B.Example.org"});
  EXPECT_EQ(table.select("a.example.com"), a.get());
  EXPECT_EQ(table.select("x.example.com"), a.get());
  EXPECT_EQ(table.select("x.deep.example.com"), b.get());  // longest wildcard wins
  EXPECT_EQ(table.select("b.example.org."), b.get());
  EXPECT_EQ(table.select("unknown.net"), a.get());  // the first context is the default
  EXPECT_EQ(table.select(""), a.get());
  EXPECT_EQ(table.ownerOf("b.example.org"), 1);
  EXPECT_EQ(table.ownerOf("*.example.com"), 0);
  EXPECT_EQ(table.ownerOf("example.com"), -1);
  table.add(c, {"*"});
  EXPECT_EQ(table.select("unknown.net"), c.get());  // "*" takes what nothing else matches
  EXPECT_EQ(table.ownerOf("*"), 2);
}

/// Drives a blocking-free handshake + one exchange between an OpenSSL client and TlsTransport.
class TlsPair {
public:
  TlsPair(TlsServerConfigConstSharedPtr config, const char* sni) {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    server_ = TlsTransport::accept(std::move(config), fds_[0]);
    clientCtx_ = SSL_CTX_new(TLS_client_method());
    client_ = SSL_new(clientCtx_);
    SSL_set_fd(client_, fds_[1]);
    if (sni) SSL_set_tlsext_host_name(client_, sni);
    static const unsigned char alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(client_, alpn, sizeof(alpn));
    SSL_set_connect_state(client_);
  }
  ~TlsPair() {
    server_.reset();
    SSL_free(client_);
    SSL_CTX_free(clientCtx_);
    close(fds_[0]);
    close(fds_[1]);
  }

  /// Sends `request` from the client; returns what the server read (the handshake happens
  /// inside the reads, as on a worker).
  std::string exchange(const std::string& request) {
    std::string got;
    bool sent = false;
    for (int i = 0; i < 200 && got.size() < request.size(); ++i) {
      if (!sent) {
        int n = SSL_write(client_, request.data(), static_cast<int>(request.size()));
        sent = n > 0;
      }
      char buf[4096];
      ssize_t n = server_->read(buf, sizeof(buf));
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      else if (n < 0 && errno != EAGAIN) break;
    }
    return got;
  }

  std::string clientRead() {
    char buf[4096];
    for (int i = 0; i < 50; ++i) {
      int n = SSL_read(client_, buf, sizeof(buf));
      if (n > 0) return std::string(buf, static_cast<size_t>(n));
    }
    return {};
  }

  std::string peerSubject() {
    X509* cert = SSL_get1_peer_certificate(client_);
    if (!cert) return {};
    char text[256];
    X509_NAME_oneline(X509_get_subject_name(cert), text, sizeof(text));
    X509_free(cert);
    return text;
  }

  std::string alpn() {
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(client_, &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

  TlsTransport& server() { return *server_; }

private:
  int fds_[2] = {-1, -1};
  std::unique_ptr<TlsTransport> server_;
  SSL_CTX* clientCtx_ = nullptr;
  SSL* client_ = nullptr;
};

TEST(TlsTransportTest, HandshakeSniAlpnAndData) {
  auto table = std::make_shared<TlsServerConfig>();
  table->add(build(selfSigned("one.test"), "one"), {"one.test"});
  table->add(build(selfSigned("two.test"), "two"), {"two.test"});
  for (const char* sni : {"two.test", "one.test", "other.test"}) {
    TlsPair pair(table, sni);
    EXPECT_EQ(pair.exchange("GET / HTTP/1.1\r\n\r\n"), "GET / HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(pair.server().established());
    EXPECT_STREQ(pair.server().version(), "TLSv1.3");
    std::string want = std::string("/CN=") + (std::string(sni) == "two.test" ? "two.test" : "one.test");
    EXPECT_EQ(pair.peerSubject(), want) << sni;
    EXPECT_EQ(pair.alpn(), "h2");  // our preference, the client offered both
    EXPECT_EQ(pair.server().write("HTTP/1.1 200 OK\r\n\r\n", 19), 19);
    EXPECT_EQ(pair.clientRead(), "HTTP/1.1 200 OK\r\n\r\n");
  }
}

TEST(TlsTransportTest, GarbageIsAnErrorNotACrash) {
  auto table = std::make_shared<TlsServerConfig>();
  table->add(build(selfSigned("one.test")), {"one.test"});
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  auto server = TlsTransport::accept(table, fds[0]);
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(fds[1], junk, sizeof(junk) - 1), static_cast<ssize_t>(sizeof(junk) - 1));
  char buf[256];
  errno = 0;
  EXPECT_EQ(server->read(buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EPROTO);
  EXPECT_FALSE(server->established());
  EXPECT_EQ(server->lastError().rfind("handshake: ", 0), 0u) << server->lastError();
  EXPECT_EQ(ERR_peek_error(), 0u);
  server.reset();
  close(fds[0]);
  close(fds[1]);

  EXPECT_EQ(TlsTransport::accept(std::make_shared<TlsServerConfig>(), 0), nullptr);  // no certs
}

}  // namespace
}  // namespace portico::net
