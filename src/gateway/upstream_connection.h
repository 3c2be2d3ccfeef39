// UpstreamConnection: one HTTP/1.1 client connection to an upstream host. Owned by its
// HostPool; lent to one exchange at a time as its UpstreamStream.
#pragma once

#include <memory>
#include <string>

#include "common/buffer.h"
#include "gateway/upstream_stream.h"
#include "http/h1_parser.h"
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
class UpstreamConnection;
class Worker;

class UpstreamConnection final : public UpstreamStream,
                                 public net::EventHandler,
                                 public net::Deferred,
                                 private http::H1ParserCallbacks {
public:
  /// `breakers`: the cluster's breakers when this connection holds a maxConnections slot of
  /// this worker's breaker (released when the connection closes), else null. `stats`: where
  /// the connection is counted (open, idle), null for none. `tls`: upstream TLS over `fd`
  /// (client session, handshake not started), null for plain TCP; the connection counts as
  /// connected once the handshake is done, and a failed handshake is a connect failure.
  UpstreamConnection(Worker& worker, HostPool& pool, int fd, const upstream::Cluster& cluster,
                     std::shared_ptr<upstream::ClusterBreakers> breakers,
                     observability::UpstreamStats* stats = nullptr,
                     std::unique_ptr<net::TlsTransport> tls = nullptr);
  ~UpstreamConnection() override;

  // UpstreamStream
  void attach(UpstreamCallbacks* callbacks, bool headRequest, bool upgrade) override;
  Buffer& beginRequestHead(std::string_view method) override;
  Buffer& headerLines() override;
  void endRequestHead(const RequestFraming& framing) override;
  void encodeBody(const char* data, size_t len) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;
  void encodeEnd() override;
  void flush() override;
  size_t pendingOutput() const override { return out_.size(); }
  size_t highWatermark() const override { return highWatermark_; }
  bool connected() const override { return connected_; }
  bool reused() const override { return exchanges_ > 0; }
  void pauseReading() override { readPaused_ = true; }
  void resumeReading() override;
  /// Closes now; no callback follows.
  void abort() override;
  void release() override;

  /// Raw request bytes (a request encoded elsewhere); then flush().
  Buffer& output() { return out_; }
  /// The TLS session, null on a plain connection.
  const net::TlsTransport* tls() const { return tls_.get(); }
  /// A TLS connection made with `context` and `sni` (what a pooled TLS connection must match).
  bool sameTls(const net::TlsClientContext* context, const std::string& sni) const {
    return tls_ && tls_->clientContext() == context && tls_->sni() == sni;
  }
  /// In the pool's idle list.
  bool pooled() const { return pooled_; }
  /// Called by the pool when the connection is put back or taken out of its idle list.
  void setIdle(bool idle);

  // Intrusive links for HostPool's idle list.
  UpstreamConnection* idlePrev_ = nullptr;
  UpstreamConnection* idleNext_ = nullptr;

private:
  void onEvents(uint32_t events) override;
  http::ParserAction onHeadersComplete() override;
  http::ParserAction onBody(const char* data, size_t len) override;
  http::ParserAction onMessageComplete() override;

  void onConnected();
  void readLoop();
  void parse(const char* data, size_t len);
  void fail(UpstreamFailure failure);
  void closeSocket();

  Worker& worker_;
  HostPool& pool_;
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;  // null: plain TCP (the hot path tests it once per syscall)
  http::H1Parser parser_;
  Buffer out_;
  Buffer pendingIn_;  // response bytes read but not yet parsed (reading paused)
  UpstreamCallbacks* callbacks_ = nullptr;
  net::Timer timer_;  // connect timeout, then idle timeout while pooled
  std::shared_ptr<upstream::ClusterBreakers> breakers_;
  observability::UpstreamStats* stats_;
  size_t highWatermark_;
  size_t lowWatermark_;
  uint32_t maxExchanges_;  // connectionConfig.maxRequestsPerConnection; 0 = unlimited
  bool connected_ = false;
  bool handshaking_ = false;  // TCP is up, the TLS handshake is not done
  bool closed_ = false;
  bool readPaused_ = false;
  bool headRequest_ = false;
  bool responseStarted_ = false;
  bool messageDone_ = false;
  bool requestChunked_ = false;  // the request body goes chunked
  bool upgrade_ = false;         // the request asked for an upgrade: 101 is final
  bool tunnel_ = false;          // 101 received: raw bytes from now on
  bool aboveHighWatermark_ = false;
  bool pooled_ = false;
  bool socketDrained_ = false;  // the last read emptied the socket (edge-triggered)
  bool peerFinSeen_ = false;
  unsigned exchanges_ = 0;
};

}  // namespace portico::gateway
