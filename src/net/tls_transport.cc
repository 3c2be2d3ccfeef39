#include "net/tls_transport.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/event_loop.h"

namespace portico::net {

// ---- the loop BIO: OpenSSL reads and writes records through EventLoop::recv/send ---------------

struct LoopBio {
  static int read(BIO* b, char* buf, int len) {
    auto* t = static_cast<TlsTransport*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    ssize_t n = t->loop_->recv(t->fd_, buf, static_cast<size_t>(len));
    if (n == 0) t->loopEof_ = true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
    return static_cast<int>(n);
  }
  static int write(BIO* b, const char* buf, int len) {
    auto* t = static_cast<TlsTransport*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    ssize_t n = t->loop_->send(t->fd_, buf, static_cast<size_t>(len));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return static_cast<int>(n);
  }
  static long ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // writes are queued by the loop: nothing held here
    // OpenSSL asks after a read of 0: a bare FIN is then "unexpected EOF" (SSL_OP_IGNORE_...).
    case BIO_CTRL_EOF: return static_cast<TlsTransport*>(BIO_get_data(b))->loopEof_ ? 1 : 0;
    default: return 0;  // no fd, no kTLS, no other controls
    }
  }
  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static int destroy(BIO*) { return 1; }

  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "portico loop");
      if (meth) {
        BIO_meth_set_read(meth, read);
        BIO_meth_set_write(meth, write);
        BIO_meth_set_ctrl(meth, ctrl);
        BIO_meth_set_create(meth, create);
        BIO_meth_set_destroy(meth, destroy);
      }
      return meth;
    }();
    return m;
  }
};

bool TlsTransport::useLoop(EventLoop* loop, int fd) {
  if (!loop) return true;
  BIO_METHOD* meth = LoopBio::method();
  BIO* bio = meth ? BIO_new(meth) : nullptr;
  if (!bio) {
    ERR_clear_error();
    return false;
  }
  loop_ = loop;
  fd_ = fd;
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference for both directions; frees a socket BIO set before
  return true;
}

std::unique_ptr<TlsTransport> TlsTransport::accept(TlsServerConfigConstSharedPtr config, int fd,
                                                   EventLoop* loop) {
  if (!config) return nullptr;
  SSL* ssl = config->newSession(fd);
  if (!ssl) return nullptr;
  auto t = std::unique_ptr<TlsTransport>(new TlsTransport(std::move(config), ssl));
  if (!t->useLoop(loop, fd)) return nullptr;
  return t;
}

TlsTransport::TlsTransport(TlsServerConfigConstSharedPtr config, SSL* ssl)
    : config_(std::move(config)), ssl_(ssl) {}

namespace {

/// SSL slot: the client TlsTransport that owns the SSL (for new-session callbacks).
int transportIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

int tlsClientNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* transport = static_cast<TlsTransport*>(SSL_get_ex_data(ssl, transportIndex()));
  if (!transport) return 0;  // not kept: OpenSSL frees it
  transport->onNewSession(session);
  return 1;  // the cache owns the reference now
}

std::unique_ptr<TlsTransport> TlsTransport::connect(TlsClientContextConstSharedPtr context, int fd,
                                                    std::string_view sni, TlsSessionCache* sessions,
                                                    EventLoop* loop) {
  if (!context) return nullptr;
  ERR_clear_error();
  SSL* ssl = SSL_new(context->ctx());
  if (!ssl) return nullptr;
  std::string name(sni);
  bool ok = SSL_set_fd(ssl, fd) == 1 &&
            (name.empty() || SSL_set_tlsext_host_name(ssl, name.c_str()) == 1);
  if (ok && sessions) {
    if (SSL_SESSION* cached = sessions->find(context.get(), sni)) ok = SSL_set_session(ssl, cached) == 1;
  }
  if (!ok) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  auto t = std::unique_ptr<TlsTransport>(new TlsTransport(std::move(context), ssl, sessions));
  t->sni_ = std::move(name);
  SSL_set_ex_data(ssl, transportIndex(), t.get());
  if (!t->useLoop(loop, fd)) return nullptr;
  return t;
}

TlsTransport::TlsTransport(TlsClientContextConstSharedPtr context, SSL* ssl, TlsSessionCache* sessions)
    : client_(std::move(context)), sessions_(sessions), ssl_(ssl) {}

void TlsTransport::onNewSession(SSL_SESSION* session) {
  if (!sessions_ || !client_) {
    SSL_SESSION_free(session);
    return;
  }
  sessions_->store(client_, sni_, session);
}

int TlsTransport::handshake() {
  ERR_clear_error();
  errno = 0;
  handshakeWantsRead_ = false;
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return 1;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    handshakeWantsRead_ = err == SSL_ERROR_WANT_READ;
    return 0;
  }
  lastError_ = handshakeError(err);
  return -1;
}

std::string TlsTransport::handshakeError(int err) {
  std::string reason = err == SSL_ERROR_SYSCALL ? std::string() : takeOpenSslErrors();
  ERR_clear_error();
  if (reason.empty())
    reason = err == SSL_ERROR_SYSCALL && errno != 0 ? std::string("socket error: ") + strerror(errno)
                                                    : "connection closed by the server";
  long verify = SSL_get_verify_result(ssl_);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH && client_)
    // The names come from verifySubjectAltName, or (system CA store) from the SNI / address.
    reason += " (server certificate has none of the names checked: sslConfig.verifySubjectAltName "
              "when set, else the upstream's SNI name or IP address)";
  else if (verify != X509_V_OK)
    reason += std::string(" (server certificate: ") + X509_verify_cert_error_string(verify) + ")";
  return reason;
}

bool TlsTransport::resumed() const { return SSL_session_reused(ssl_) == 1; }

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

ssize_t TlsTransport::read(char* buf, size_t len) {
  // OpenSSL wants an empty error queue before each I/O call (it reads the queue afterwards).
  ERR_clear_error();
  errno = 0;
  readWantsWrite_ = false;
  int n = SSL_read(ssl_, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
  if (n > 0) {
    established_ = true;
    return n;
  }
  return failure(n, true);
}

ssize_t TlsTransport::write(const char* buf, size_t len) {
  ERR_clear_error();
  errno = 0;
  writeWantsRead_ = false;
  int n = SSL_write(ssl_, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
  if (n > 0) return n;
  return failure(n, false);
}

ssize_t TlsTransport::failure(int ret, bool reading) {
  int err = SSL_get_error(ssl_, ret);
  if (!established_ && SSL_is_init_finished(ssl_)) established_ = true;
  switch (err) {
  case SSL_ERROR_WANT_READ:
    if (!reading) writeWantsRead_ = true;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_WANT_WRITE:
    if (reading) readWantsWrite_ = true;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_ZERO_RETURN:  // close_notify
    return 0;
  case SSL_ERROR_SYSCALL:
    // With SSL_OP_IGNORE_UNEXPECTED_EOF a bare FIN reads as ZERO_RETURN; here errno is the
    // socket's (reset, ...). errno 0 means EOF all the same.
    if (errno == 0) return 0;
    if (errno == EINTR || errno == EAGAIN) errno = EAGAIN;
    lastError_ = std::string(established_ ? "" : "handshake: ") + "socket error";
    ERR_clear_error();
    return -1;
  default: {
    std::string reason = takeOpenSslErrors();
    lastError_ = std::string(established_ ? "" : "handshake: ") + (reason.empty() ? "TLS error" : reason);
    errno = EPROTO;
    return -1;
  }
  }
}

void TlsTransport::shutdown() {
  if (!established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // sends close_notify if it fits; never waits for the peer's
  ERR_clear_error();
}

const char* TlsTransport::version() const { return SSL_get_version(ssl_); }

std::string_view TlsTransport::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

const char* TlsTransport::serverName() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

}  // namespace portico::net
