#include "net/tls_transport.h"

#include <cerrno>
#include <climits>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace portico::net {

std::unique_ptr<TlsTransport> TlsTransport::accept(TlsServerConfigConstSharedPtr config, int fd) {
  if (!config) return nullptr;
  SSL* ssl = config->newSession(fd);
  if (!ssl) return nullptr;
  return std::unique_ptr<TlsTransport>(new TlsTransport(std::move(config), ssl));
}

TlsTransport::TlsTransport(TlsServerConfigConstSharedPtr config, SSL* ssl)
    : config_(std::move(config)), ssl_(ssl) {}

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

const char* TlsTransport::serverName() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

}  // namespace portico::net
