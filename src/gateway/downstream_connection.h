// DownstreamConnection: a client connection as its worker sees it. Accepted connections start as
// HTTP/1.1 (Http1Connection), which hands the socket to an Http2Connection when TLS negotiated
// ALPN "h2" or the client opened with the HTTP/2 preface (h2c with prior knowledge).
#pragma once

#include <memory>

#include "net/address.h"
#include "net/event_loop.h"
#include "net/tls_context.h"

namespace portico::gateway {

class ListenerHandler;
class Worker;

class DownstreamConnection : public net::Deferred {
public:
  /// Takes ownership of `fd`; the connection owns itself and deletes itself (deferred) on close.
  /// `tls` (null for a plain listener): the listener's certificates when the connection was
  /// accepted; the connection keeps them for its whole life (reloads affect new connections).
  static void create(Worker& worker, std::shared_ptr<ListenerHandler> listener, int fd,
                     const net::Address& peer, net::TlsServerConfigConstSharedPtr tls = nullptr);

  /// Drain: close now if idle, else once the requests in progress are answered.
  virtual void beginDrain() = 0;
  /// Worker shutdown: close at once.
  virtual void abortNow() = 0;
};

}  // namespace portico::gateway
