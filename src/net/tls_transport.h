// TlsTransport: a non-blocking TLS session over a socket — server side on accepted sockets, client
// side for upstream TLS — with recv()/send() semantics so that an edge-triggered connection reads
// and writes it like the plain socket. Given an EventLoop, the records travel through the loop's
// recv()/send() (a BIO of our own), so that on io_uring a TLS socket is a stream like a plain one:
// its ciphertext rides on the loop's batched submissions instead of a syscall per read and write.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "net/tls_context.h"

namespace portico::net {

class EventLoop;

class TlsTransport {
public:
  /// A session for `fd` (not owned: the caller closes it) with the certificates of `config`,
  /// which the transport keeps alive. With `loop`, socket I/O goes through loop->recv()/send()
  /// (register `fd` with the loop as a stream); without, through the socket itself. Null when
  /// OpenSSL cannot allocate.
  static std::unique_ptr<TlsTransport> accept(TlsServerConfigConstSharedPtr config, int fd,
                                              EventLoop* loop = nullptr);
  /// A client session for the connected (or connecting) socket `fd` (not owned), sending `sni`
  /// (none when empty) and offering the session `sessions` holds for (context, sni); new
  /// sessions the server issues go to `sessions` (null: no reuse; it must outlive the
  /// transport). `loop` as for accept(). Null when OpenSSL cannot allocate. Drive handshake()
  /// before read()/write().
  static std::unique_ptr<TlsTransport> connect(TlsClientContextConstSharedPtr context, int fd,
                                               std::string_view sni, TlsSessionCache* sessions,
                                               EventLoop* loop = nullptr);
  ~TlsTransport();
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  /// Like recv(): > 0 plaintext bytes, 0 at the end of the stream (close_notify or TCP FIN),
  /// -1 with errno EAGAIN when the socket has nothing more (the handshake runs inside the
  /// first reads), -1 with another errno on a TLS or socket failure (see lastError()).
  ssize_t read(char* buf, size_t len);
  /// Like send(): > 0 bytes taken, -1 with errno EAGAIN to retry with the same bytes once the
  /// socket is writable (or readable: see writeWantsRead), -1 with another errno on failure.
  ssize_t write(const char* buf, size_t len);
  /// Client side: advances the handshake. 1 = established, 0 = wait for the socket (readable
  /// if handshakeWantsRead(), else writable), -1 = failed (lastError(): OpenSSL's reason, and
  /// the certificate verification result when that is what failed).
  int handshake();
  bool handshakeWantsRead() const { return handshakeWantsRead_; }
  /// The session resumed a cached one (client side, once established).
  bool resumed() const;
  /// Best-effort close_notify before the write side is shut.
  void shutdown();

  bool established() const { return established_; }
  /// The last read stopped because TLS must write first: retry it on EPOLLOUT.
  bool readWantsWrite() const { return readWantsWrite_; }
  /// The last write stopped because TLS must read first: retry it on EPOLLIN.
  bool writeWantsRead() const { return writeWantsRead_; }
  /// Why the session failed ("handshake: ssl routines: no shared cipher"), for debug logs.
  const std::string& lastError() const { return lastError_; }
  /// Negotiated version ("TLSv1.3") and SNI, once established (for logs and tests).
  const char* version() const;
  const char* serverName() const;
  /// The ALPN protocol agreed on ("h2", "http/1.1"), empty when none was.
  std::string_view alpn() const;

  /// Client side: the context and SNI the session was made with (pool identity).
  const TlsClientContext* clientContext() const { return client_.get(); }
  const std::string& sni() const { return sni_; }
  /// SSL_CTX new-session callback target (client side).
  void onNewSession(SSL_SESSION* session);

private:
  TlsTransport(TlsServerConfigConstSharedPtr config, SSL* ssl);
  TlsTransport(TlsClientContextConstSharedPtr context, SSL* ssl, TlsSessionCache* sessions);
  /// Why a client handshake failed, with X509 verification details.
  std::string handshakeError(int err);
  /// Maps an SSL_read/SSL_write result that is not progress onto errno; returns -1 or 0 (EOF).
  ssize_t failure(int ret, bool reading);
  /// Puts the session's records on `loop` (a BIO whose reads and writes are loop->recv/send).
  bool useLoop(EventLoop* loop, int fd);
  friend struct LoopBio;

  TlsServerConfigConstSharedPtr config_;  ///< the SSL's SNI table points into it
  TlsClientContextConstSharedPtr client_;  ///< client side: the context the SSL was made from
  TlsSessionCache* sessions_ = nullptr;    ///< client side: where new sessions go
  std::string sni_;                        ///< client side: the SNI sent (empty: none)
  SSL* ssl_;
  EventLoop* loop_ = nullptr;  ///< with the loop BIO: where records go
  int fd_ = -1;
  bool loopEof_ = false;       ///< the loop BIO read the end of the stream
  bool handshakeWantsRead_ = false;
  bool established_ = false;
  bool readWantsWrite_ = false;
  bool writeWantsRead_ = false;
  std::string lastError_;
};

}  // namespace portico::net
