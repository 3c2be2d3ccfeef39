// Discovery's fetch over TLS: a real TLS server (OpenSSL, in-test, blocking) serving a
// document; SNI and the upstream's rootCa are used, an unverified certificate is an error.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "../net/tls_test_util.h"
#include "discovery_test_util.h"
#include "discovery/http_fetch.h"

namespace portico::discovery {
namespace {

/// Answers every TLS connection with 200 and the SNI it received as the body.
class TlsDocServer {
public:
  explicit TlsDocServer(const net::tlstest::Pem& pem) {
    net::TlsServerCertConfig config;
    config.certChainPem = pem.cert;
    config.privateKeyPem = pem.key;
    auto ctx = net::buildServerContext(config);
    EXPECT_TRUE(ctx.ok()) << ctx.error();
    auto table = std::make_shared<net::TlsServerConfig>();
    if (ctx.ok()) table->add(*ctx, {"*"});
    table_ = table;
    fd_ = testing::listenLoopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~TlsDocServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  net::Address address() const { return *net::Address::fromIp("127.0.0.1", port_); }

private:
  void run() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      SSL* ssl = table_->newSession(c);  // blocking socket: SSL_accept waits
      if (ssl && SSL_accept(ssl) == 1) {
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::string body = sni ? sni : "(none)";
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
        SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
        SSL_shutdown(ssl);
      }
      if (ssl) SSL_free(ssl);
      ::close(c);
    }
  }

  net::TlsServerConfigConstSharedPtr table_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

net::TlsClientContextConstSharedPtr clientContext(const std::string& rootCa) {
  net::TlsClientConfig config;
  config.rootCaPem = rootCa;
  auto ctx = net::TlsClientContext::create(config);
  EXPECT_TRUE(ctx.ok()) << ctx.error();
  return ctx.ok() ? *ctx : nullptr;
}

TEST(HttpFetchTlsTest, FetchesOverTlsWithSniAndRootCa) {
  auto pem = net::tlstest::makeCert("petstore.test", "DNS:petstore.test");
  TlsDocServer server(pem);
  auto r = httpGet(server.address(), "petstore.test", "/swagger.json", {},
                   FetchTls{clientContext(pem.cert), "petstore.test"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "petstore.test");  // the SNI the server saw

  // no rootCa: not verified (Gloo's and Envoy's upstream default), no SNI sent
  r = httpGet(server.address(), "x", "/", {}, FetchTls{clientContext(""), ""});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->body, "(none)");
}

TEST(HttpFetchTlsTest, UnverifiedCertificateAndPlainHttpAreErrors) {
  auto pem = net::tlstest::makeCert("petstore.test", "DNS:petstore.test");
  auto other = net::tlstest::makeCert("other.test", "DNS:other.test");
  TlsDocServer server(pem);
  FetchOptions fast;
  fast.totalTimeoutMs = 2000;
  auto r = httpGet(server.address(), "petstore.test", "/", fast,
                   FetchTls{clientContext(other.cert), "petstore.test"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS handshake"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("certificate"), std::string::npos) << r.error();
  // plain HTTP to a TLS port: the server's TLS alert is not an HTTP response
  r = httpGet(server.address(), "petstore.test", "/", fast);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace portico::discovery
