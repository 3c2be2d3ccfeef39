#include "gateway/host_pool.h"

#include <unistd.h>

#include "common/log.h"
#include "gateway/h2_upstream_connection.h"
#include "gateway/upstream_connection.h"
#include "upstream/circuit_breaker.h"
#include "upstream/cluster.h"
#include "gateway/worker.h"
#include "net/tls_transport.h"

namespace portico::gateway {

HostPool::HostPool(Worker& worker, const net::Address& address, std::string key)
    : worker_(worker), address_(address), key_(std::move(key)) {}

HostPool::~HostPool() {
  // The worker is shutting down: close what is idle (active ones are closed by their streams).
  while (idleHead_) {
    UpstreamConnection* c = idleHead_;
    unlinkIdle(c);
    c->abort();
  }
  // HTTP/2 connections: by now their exchanges are gone (the worker closes client
  // connections first); a stream still attached fails like on any close.
  while (h2Head_) h2Head_->close(UpstreamFailure::Closed);
}

Result<UpstreamStream*> HostPool::acquire(const upstream::Cluster& cluster, bool fresh,
                                         bool& overloaded, observability::UpstreamStats* stats) {
  overloaded = false;
  if (cluster.http2) [[unlikely]]
    return acquireH2(cluster, fresh, overloaded, stats);
  if (idleHead_ && !fresh) {
    UpstreamConnection* c = findIdle(cluster);
    if (c) {
      unlinkIdle(c);
      return static_cast<UpstreamStream*>(c);
    }
  }
  upstream::CircuitBreaker* breaker = nullptr;
  std::unique_ptr<net::TlsTransport> tls;
  auto fd = connectNew(cluster, overloaded, breaker, tls);
  if (!fd.ok()) return fd.status();
  auto conn = std::make_unique<UpstreamConnection>(worker_, *this, *fd, cluster,
                                                   breaker ? cluster.breakers : nullptr, stats,
                                                   std::move(tls));
  ++total_;
  return static_cast<UpstreamStream*>(conn.release());  // owned by itself from now on: it deletes itself (deferred) on close
}

Result<UpstreamStream*> HostPool::acquireH2(const upstream::Cluster& cluster, bool fresh,
                                           bool& overloaded, observability::UpstreamStats* stats) {
  if (!fresh) {
    const net::TlsClientContext* context = cluster.tls ? cluster.tls->context.get() : nullptr;
    const std::string* sni = cluster.tls ? &cluster.tls->sniFor(key_) : nullptr;
    for (H2UpstreamConnection* c = h2Head_; c; c = c->next_) {
      bool sameIdentity = context ? c->sameTls(context, *sni) : c->tls() == nullptr;
      if (sameIdentity && c->acceptsStreams()) return c->newStream();
    }
  }
  upstream::CircuitBreaker* breaker = nullptr;
  std::unique_ptr<net::TlsTransport> tls;
  auto fd = connectNew(cluster, overloaded, breaker, tls);
  if (!fd.ok()) return fd.status();
  auto* conn = new H2UpstreamConnection(worker_, *this, *fd, cluster,
                                        breaker ? cluster.breakers : nullptr, stats, std::move(tls));
  conn->next_ = h2Head_;
  if (h2Head_) h2Head_->prev_ = conn;
  h2Head_ = conn;
  ++total_;
  return conn->newStream();  // the connection owns itself: it deletes itself (deferred) on close
}

Result<int> HostPool::connectNew(const upstream::Cluster& cluster, bool& overloaded,
                                 upstream::CircuitBreaker*& breaker,
                                 std::unique_ptr<net::TlsTransport>& tls) {
  if (cluster.breakers && worker_.index() < cluster.breakers->perWorker.size()) {
    breaker = cluster.breakers->perWorker[worker_.index()].get();
    if (!breaker->tryAcquireConnection()) {
      overloaded = true;
      return Status::error("maxConnections reached");
    }
  }
  auto fd = net::connectTcp(address_);
  if (!fd.ok()) {
    if (breaker) breaker->releaseConnection();
    return fd.status();
  }
  if (cluster.tcpKeepalive) net::setKeepalive(*fd, cluster.tcpKeepalive->probes,
                                              cluster.tcpKeepalive->timeMs,
                                              cluster.tcpKeepalive->intervalMs);
  if (cluster.tls) [[unlikely]] {
    tls = net::TlsTransport::connect(cluster.tls->context, *fd, cluster.tls->sniFor(key_), &sessions_,
                                     &worker_.loop());
    if (!tls) {
      ::close(*fd);
      if (breaker) breaker->releaseConnection();
      return Status::error("cannot create a TLS session");
    }
  }
  return *fd;
}

UpstreamConnection* HostPool::findIdle(const upstream::Cluster& cluster) const {
  UpstreamConnection* c = idleHead_;
  if (!cluster.tls) [[likely]] {
    if (!c->tls()) [[likely]] return c;
    while (c && c->tls()) c = c->idleNext_;
    return c;
  }
  const net::TlsClientContext* context = cluster.tls->context.get();
  const std::string& sni = cluster.tls->sniFor(key_);
  while (c && !c->sameTls(context, sni)) c = c->idleNext_;
  return c;
}

void HostPool::release(UpstreamConnection* conn) {
  conn->setIdle(true);
  conn->idlePrev_ = nullptr;
  conn->idleNext_ = idleHead_;
  if (idleHead_) idleHead_->idlePrev_ = conn;
  idleHead_ = conn;
  ++idleCount_;
}

void HostPool::forget(UpstreamConnection* conn) {
  if (conn->pooled()) unlinkIdle(conn);
  --total_;
}

void HostPool::logTlsFailure(const std::string& reason) {
  constexpr int64_t kWarnEveryMs = 10000;
  int64_t now = worker_.loop().now();
  if (lastTlsWarningMs_ < 0 || now - lastTlsWarningMs_ >= kWarnEveryMs) {
    lastTlsWarningMs_ = now;
    LOG_WARN("upstream %s: TLS handshake failed: %s", key_.c_str(), reason.c_str());
  } else {
    LOG_DEBUG("upstream %s: TLS handshake failed: %s", key_.c_str(), reason.c_str());
  }
}

void HostPool::forget(H2UpstreamConnection* conn) {
  if (conn->prev_) conn->prev_->next_ = conn->next_;
  else if (h2Head_ == conn) h2Head_ = conn->next_;
  if (conn->next_) conn->next_->prev_ = conn->prev_;
  conn->prev_ = conn->next_ = nullptr;
  --total_;
}

void HostPool::unlinkIdle(UpstreamConnection* conn) {
  if (conn->idlePrev_) conn->idlePrev_->idleNext_ = conn->idleNext_;
  else idleHead_ = conn->idleNext_;
  if (conn->idleNext_) conn->idleNext_->idlePrev_ = conn->idlePrev_;
  conn->idlePrev_ = conn->idleNext_ = nullptr;
  conn->setIdle(false);
  --idleCount_;
}

}  // namespace portico::gateway
