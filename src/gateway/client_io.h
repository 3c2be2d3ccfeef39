// Reading and writing a connection's socket, plain or TLS, for HTTP/1 and HTTP/2 connections:
// recv()/send() semantics with one branch per call (no virtual call on the hot path). Plain
// sockets go through the loop, which queues them on io_uring when that is the engine.
#pragma once

#include <cerrno>
#include <sys/socket.h>

#include "common/buffer.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"

namespace portico::gateway {

inline ssize_t clientRead(net::EventLoop& loop, int fd, net::TlsTransport* tls, char* buf,
                          size_t len) {
  if (tls) [[unlikely]]
    return tls->read(buf, len);
  return loop.recv(fd, buf, len);
}

inline ssize_t clientWrite(net::EventLoop& loop, int fd, net::TlsTransport* tls, const char* buf,
                           size_t len) {
  if (tls) [[unlikely]]
    return tls->write(buf, len);
  return loop.send(fd, buf, len);
}

/// Writes `out` until it is empty or the socket would block; `wrote` is set when bytes went
/// out. False when the connection failed (the caller closes it).
inline bool writeOut(net::EventLoop& loop, int fd, net::TlsTransport* tls, Buffer& out,
                     bool& wrote) {
  while (!out.empty()) {
    ssize_t n = clientWrite(loop, fd, tls, out.data(), out.size());
    if (n > 0) {
      out.consume(static_cast<size_t>(n));
      wrote = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

}  // namespace portico::gateway
