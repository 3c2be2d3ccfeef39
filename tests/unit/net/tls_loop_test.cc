// TlsTransport with its records going through an EventLoop (the loop BIO), on both engines: on
// io_uring the socket is a stream, so OpenSSL's reads and writes meet the engine's queues (EAGAIN
// when its input is empty or its output full). The peer is a plain OpenSSL client on the other
// end of a socketpair, driven between the loop's wake-ups.
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_test_util.h"
#include "net/event_loop.h"
#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "tls_test_util.h"

namespace portico::net {
namespace {

/// The gateway's side: reads what the TLS session gives into `got`, writes `pending` out as the
/// session takes it (a retry after EAGAIN comes with EPOLLOUT, as on a worker).
struct Server final : EventHandler {
  std::unique_ptr<TlsTransport> tls;
  std::string got, pending;
  bool eof = false, failed = false;

  void onEvents(uint32_t) override {
    flush();
    char buf[16384];
    for (;;) {
      ssize_t n = tls->read(buf, sizeof(buf));
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      else if (errno != EAGAIN) failed = true;
      break;
    }
    flush();
  }
  void flush() {
    while (!pending.empty()) {
      ssize_t n = tls->write(pending.data(), pending.size());
      if (n <= 0) {
        if (n < 0 && errno != EAGAIN) failed = true;
        return;
      }
      pending.erase(0, static_cast<size_t>(n));
    }
  }
};

class TlsLoopTest : public ::testing::TestWithParam<IoEngine> {
public:
  void SetUp() override {
    auto l = EventLoop::create(GetParam());
    ASSERT_TRUE(l.ok()) << l.error();
    loop = std::move(l.value());
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    ours = sv[0];
    peer = sv[1];

    tlstest::Pem pem = tlstest::makeCert("loop.test");
    TlsServerCertConfig config;
    config.certChainPem = pem.cert;
    config.privateKeyPem = pem.key;
    config.sessionIdContext = "loop";
    auto ctx = buildServerContext(config);
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    auto table = std::make_shared<TlsServerConfig>();
    table->add(*ctx, {"*"});
    server.tls = TlsTransport::accept(table, ours, loop.get());
    ASSERT_TRUE(server.tls);
    ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &server, /*stream=*/true).ok());

    clientCtx = SSL_CTX_new(TLS_client_method());
    client = SSL_new(clientCtx);
    SSL_set_fd(client, peer);
    SSL_set_tlsext_host_name(client, "loop.test");
    SSL_set_connect_state(client);
  }
  void TearDown() override {
    server.tls.reset();
    if (ours >= 0) loop->close(ours);
    SSL_free(client);
    SSL_CTX_free(clientCtx);
    ::close(peer);
    loop.reset();
    ERR_clear_error();
  }

  bool runUntil(const std::function<bool()>& done, int ms = 5000) {
    return looptest::runUntil(*loop, done, ms);
  }

  /// The client's side of one step: writes what it still has to send, reads what came.
  void clientStep() {
    while (clientSent < clientOut.size()) {
      int n = SSL_write(client, clientOut.data() + clientSent,
                        static_cast<int>(std::min<size_t>(clientOut.size() - clientSent, 1 << 20)));
      if (n <= 0) break;
      clientSent += static_cast<size_t>(n);
    }
    char buf[16384];
    for (;;) {
      int n = SSL_read(client, buf, sizeof(buf));
      if (n > 0) {
        clientIn.append(buf, static_cast<size_t>(n));
        continue;
      }
      lastClientError = SSL_get_error(client, n);
      break;
    }
    ERR_clear_error();
  }

  std::unique_ptr<EventLoop> loop;
  int ours = -1, peer = -1;
  Server server;
  SSL_CTX* clientCtx = nullptr;
  SSL* client = nullptr;
  std::string clientOut, clientIn;
  size_t clientSent = 0;
  int lastClientError = SSL_ERROR_NONE;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

TEST_P(TlsLoopTest, HandshakeAndMebibytesBothWays) {
  // 3 MiB each way: far past the engine's 64 KiB queues, so OpenSSL's writes meet EAGAIN and
  // resume on EPOLLOUT, and its reads drain the engine's input in pieces.
  clientOut = pattern(3 << 20);
  server.pending = pattern(3 << 20);
  ASSERT_TRUE(runUntil([&] {
    clientStep();
    server.flush();
    return server.got.size() == clientOut.size() && clientIn.size() == (3u << 20);
  }, 20000)) << "server got " << server.got.size() << ", client got " << clientIn.size();
  EXPECT_EQ(server.got, clientOut);
  EXPECT_EQ(clientIn, pattern(3 << 20));
  EXPECT_FALSE(server.failed) << server.tls->lastError();
  EXPECT_STREQ(server.tls->version(), "TLSv1.3");
}

TEST_P(TlsLoopTest, BareFinReadsAsTheEndOfTheStream) {
  // No close_notify: a FIN is the end of the stream (SSL_OP_IGNORE_UNEXPECTED_EOF, the loop BIO
  // answering BIO_CTRL_EOF; or OpenSSL's syscall error with errno 0, which read() maps to 0).
  clientOut = "hello";
  ASSERT_TRUE(runUntil([&] {
    clientStep();
    return server.got == "hello";
  }));
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return server.eof || server.failed; }));
  EXPECT_TRUE(server.eof);
  EXPECT_FALSE(server.failed) << server.tls->lastError();
}

TEST_P(TlsLoopTest, CloseNotifyAndTheLastBytesOutliveTheClose) {
  // The response and the close_notify sit in the engine's queue when the socket is closed: both
  // must still reach the client, which then sees a clean TLS close (SSL_ERROR_ZERO_RETURN).
  clientOut = "request";
  ASSERT_TRUE(runUntil([&] {
    clientStep();
    return server.got == "request";
  }));
  server.pending = pattern(40000);
  server.flush();
  EXPECT_TRUE(server.pending.empty());
  server.tls->shutdown();
  server.tls.reset();
  loop->close(ours);
  ours = -1;
  ASSERT_TRUE(runUntil([&] {
    clientStep();
    return lastClientError == SSL_ERROR_ZERO_RETURN || lastClientError == SSL_ERROR_SYSCALL ||
           lastClientError == SSL_ERROR_SSL;
  }));
  EXPECT_EQ(clientIn, pattern(40000));
  EXPECT_EQ(lastClientError, SSL_ERROR_ZERO_RETURN);
}

TEST_P(TlsLoopTest, GarbageFailsTheHandshakeWithoutACrash) {
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(peer, junk, sizeof(junk) - 1, 0), static_cast<ssize_t>(sizeof(junk) - 1));
  ASSERT_TRUE(runUntil([&] { return server.failed || server.eof; }));
  EXPECT_TRUE(server.failed);
  EXPECT_EQ(server.tls->lastError().rfind("handshake: ", 0), 0u) << server.tls->lastError();
}

INSTANTIATE_TEST_SUITE_P(Engines, TlsLoopTest, ::testing::Values(IoEngine::Epoll, IoEngine::IoUring),
                         [](const ::testing::TestParamInfo<IoEngine>& info) {
                           return info.param == IoEngine::Epoll ? "Epoll" : "IoUring";
                         });

}  // namespace
}  // namespace portico::net
