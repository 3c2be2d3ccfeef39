// HostPool: a worker's connections to one upstream host — idle keep-alive connections for
// reuse (most recently used first) and the connect path for new ones. Worker-local, no locks.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "net/address.h"
#include "net/tls_context.h"

namespace portico::observability {
struct UpstreamStats;
}
namespace portico::net {
class TlsTransport;
}
namespace portico::upstream {
class CircuitBreaker;
struct Cluster;
}  // namespace portico::upstream

namespace portico::gateway {

class H2UpstreamConnection;
class UpstreamConnection;
class UpstreamStream;
class Worker;

class HostPool {
public:
  HostPool(Worker& worker, const net::Address& address, std::string key);
  ~HostPool();
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;

  /// A stream to the host: for HTTP/1.1 an idle connection, or a new one being connected
  /// (`fresh` forces a new one) with the cluster's connection settings; with cluster.http2, a
  /// new stream on a connection that takes more, or on a new connection. With cluster.tls, only a connection with the same TLS
  /// context and SNI is reused, and a new one starts a TLS handshake (offering this host's
  /// cached session); without, only a plain one. A new connection takes a slot of this worker's
  /// maxConnections breaker; when none is left, fails with `overloaded` set. `stats`: this
  /// worker's stats of the upstream a new connection is counted in (null: not counted).
  Result<UpstreamStream*> acquire(const upstream::Cluster& cluster, bool fresh,
                                      bool& overloaded,
                                      observability::UpstreamStats* stats = nullptr);
  /// Returns a connection whose exchange finished cleanly to the idle list.
  void release(UpstreamConnection* conn);
  /// Forgets a connection that is closing (it deletes itself, deferred).
  void forget(UpstreamConnection* conn);
  void forget(H2UpstreamConnection* conn);

  const std::string& key() const { return key_; }
  /// A TLS handshake with this host failed: a warning with OpenSSL's reason (a certificate that
  /// does not verify is a config problem the operator must see), at most one per host every
  /// 10 s so that a broken upstream under load cannot flood the log; debug level in between.
  void logTlsFailure(const std::string& reason);
  size_t idleCount() const { return idleCount_; }
  size_t totalCount() const { return total_; }

  /// Worker snapshots that list this pool (the worker forgets a pool no snapshot lists).
  void ref() { ++snapshotRefs_; }
  void unref() { --snapshotRefs_; }
  /// No snapshot lists it and no exchange can be using it: only idle HTTP/1.1 connections (or
  /// none) are left, which closing the pool closes.
  bool unused() const { return snapshotRefs_ == 0 && total_ == idleCount_ && !h2Head_; }

private:
  void unlinkIdle(UpstreamConnection* conn);
  /// A connected socket for a new connection (plain, or TLS `tls` set), holding a slot of this
  /// worker's maxConnections breaker (`breaker`, null when the cluster has none).
  Result<int> connectNew(const upstream::Cluster& cluster, bool& overloaded,
                         upstream::CircuitBreaker*& breaker, std::unique_ptr<net::TlsTransport>& tls);
  Result<UpstreamStream*> acquireH2(const upstream::Cluster& cluster, bool fresh, bool& overloaded,
                                    observability::UpstreamStats* stats);
  /// The first idle connection usable for `cluster` (plain or same TLS identity), or null.
  UpstreamConnection* findIdle(const upstream::Cluster& cluster) const;

  Worker& worker_;
  net::Address address_;
  std::string key_;
  UpstreamConnection* idleHead_ = nullptr;
  H2UpstreamConnection* h2Head_ = nullptr;  ///< every HTTP/2 connection, busy or idle
  size_t idleCount_ = 0;
  size_t total_ = 0;
  net::TlsSessionCache sessions_;
  int64_t lastTlsWarningMs_ = -1;
  uint32_t snapshotRefs_ = 0;  ///< the last TLS session of this host (upstream TLS)
};

}  // namespace portico::gateway
