// H2UpstreamConnection: one HTTP/2 client connection to an upstream host (`useHttp2: true`;
// h2c on plain TCP, ALPN h2 over TLS), carrying many exchanges at once, each as an
// UpstreamStream. Owned by its HostPool, which hands out streams on connections that take more
// and opens another connection when none does. Worker-local, no locks.
#pragma once

#include <memory>
#include <vector>

#include "common/buffer.h"
#include "gateway/upstream_stream.h"
#include "http/h2_client_session.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"

namespace portico::observability {
struct UpstreamStats;
}
namespace portico::upstream {
struct Cluster;
struct ClusterBreakers;
}  // namespace portico::upstream

namespace portico::gateway {

class HostPool;
class Worker;

class H2UpstreamConnection final : public net::EventHandler,
                                   public net::Schedulable,
                                   public net::Deferred,
                                   private http::H2ClientCallbacks {
public:
  /// As UpstreamConnection: `breakers` when the connection holds a maxConnections slot, `stats`
  /// where it is counted, `tls` a client session over `fd` (handshake not started; its context
  /// offers ALPN h2) or null for h2c.
  H2UpstreamConnection(Worker& worker, HostPool& pool, int fd, const upstream::Cluster& cluster,
                       std::shared_ptr<upstream::ClusterBreakers> breakers,
                       observability::UpstreamStats* stats,
                       std::unique_ptr<net::TlsTransport> tls);
  ~H2UpstreamConnection() override;

  /// Can take one more stream: not closing, no GOAWAY, below the server's concurrency limit
  /// and the cluster's maxRequestsPerConnection.
  bool acceptsStreams() const;
  /// A new stream (call only when acceptsStreams()).
  UpstreamStream* newStream();
  /// Closes now; every stream still attached fails with `failure`.
  void close(UpstreamFailure failure);

  const net::TlsTransport* tls() const { return tls_.get(); }
  bool sameTls(const net::TlsClientContext* context, const std::string& sni) const {
    return tls_ && tls_->clientContext() == context && tls_->sni() == sni;
  }

  // Intrusive links for HostPool's list of HTTP/2 connections.
  H2UpstreamConnection* prev_ = nullptr;
  H2UpstreamConnection* next_ = nullptr;

private:
  class Stream;

  void onEvents(uint32_t events) override;
  void onScheduled() override;
  void onConnected();
  void readLoop();
  /// Frames what the session has and writes it, as far as the socket takes it.
  void flush();
  void scheduleFlush();
  Stream* find(int32_t id) const;
  /// Takes the stream out of the active list and back to the free list.
  void recycle(Stream* s);
  /// Streams that could not be submitted fail from here, outside the exchange's call.
  void failRefused();
  void updateIdle();

  // H2ClientCallbacks
  void onResponseHead(int32_t stream, int status, const http::HeaderMap& headers,
                      bool endStream) override;
  void onResponseData(int32_t stream, const char* data, size_t len) override;
  void onResponseTrailers(int32_t stream, const http::HeaderMap& trailers) override;
  void onResponseEnd(int32_t stream) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onStreamDrained(int32_t stream) override;
  void onGoAway(int32_t lastStreamId) override;

  Worker& worker_;
  HostPool& pool_;
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;
  http::H2ClientSession session_;
  Buffer out_;
  net::Timer timer_;  // connect timeout, then idle timeout while no stream is open
  std::shared_ptr<upstream::ClusterBreakers> breakers_;
  observability::UpstreamStats* stats_;
  size_t highWatermark_;
  uint32_t maxStreams_;  // connectionConfig.maxRequestsPerConnection; 0 = unlimited
  uint32_t streamsOpened_ = 0;
  std::vector<Stream*> active_;  // streams lent to exchanges
  std::vector<std::unique_ptr<Stream>> streamObjects_;  // every stream made, reused
  std::vector<Stream*> free_;
  bool connected_ = false;
  bool handshaking_ = false;
  bool closed_ = false;
  bool idle_ = false;
  bool flushScheduled_ = false;
  bool refusedPending_ = false;
};

}  // namespace portico::gateway
