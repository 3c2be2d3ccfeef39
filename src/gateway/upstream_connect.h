// Connecting to an upstream host without blocking: the TCP connect, then the TLS handshake,
// advanced on each epoll edge. Shared by the HTTP/1.1 and HTTP/2 upstream connections. The socket
// is polled while it connects and becomes a loop stream once connected (on io_uring its reads and
// writes, TLS records included, then ride on the loop's batched submissions).
#pragma once

#include <cstdint>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "gateway/host_pool.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"

namespace portico::gateway {

enum class ConnectStep { Pending, Connected, Failed };

/// Advances the connect on an edge. `handshaking` is the caller's state (false at the start);
/// `handler` is the connection, registered with `loop` for `fd`. A failed handshake (certificate
/// problems included) is a connect failure: 502, retries and outlier detection treat it as
/// such; its reason goes to the log through `pool`.
inline ConnectStep advanceConnect(net::EventLoop& loop, net::EventHandler* handler, int fd,
                                  net::TlsTransport* tls, uint32_t events, bool& handshaking,
                                  HostPool& pool) {
  if (!handshaking) {
    if (events & (EPOLLERR | EPOLLHUP)) return ConnectStep::Failed;
    if (!(events & EPOLLOUT)) return ConnectStep::Pending;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ConnectStep::Failed;
    if (!loop.makeStream(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, handler).ok()) return ConnectStep::Failed;
    if (!tls) return ConnectStep::Connected;
    handshaking = true;
  }
  int r = tls->handshake();
  if (r == 0) return ConnectStep::Pending;  // the next edge continues it
  handshaking = false;
  if (r < 0) {
    pool.logTlsFailure(tls->lastError());
    return ConnectStep::Failed;
  }
  return ConnectStep::Connected;
}

}  // namespace portico::gateway
