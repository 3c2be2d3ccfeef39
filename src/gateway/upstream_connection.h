// UpstreamConnection: one HTTP/1.1 client connection to an upstream host. Owned by its
// HostPool; lent to one stream at a time, which writes the request and receives the response.
#pragma once

#include <memory>
#include <string>

#include "common/buffer.h"
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

enum class UpstreamFailure { ConnectFailed, ConnectTimeout, Reset, Closed, Protocol };
const char* toString(UpstreamFailure f);

/// What a stream implements to drive an upstream exchange. Calls come on the worker thread from
/// inside the connection's event handling; the stream must not delete the connection (it calls
/// HostPool::release/discard instead, which defers).
class UpstreamCallbacks {
public:
  virtual ~UpstreamCallbacks() = default;
  virtual http::ParserAction onUpstreamHeaders(const http::H1Parser& response) = 0;
  virtual void onUpstreamBody(const char* data, size_t len) = 0;
  /// The response is complete; the connection is detached from the stream. `reusable` says
  /// whether it may go back to the pool (keep-alive, nothing unexpected left to read).
  virtual void onUpstreamComplete(UpstreamConnection& conn, bool reusable) = 0;
  /// The exchange failed; the connection is detached and already being closed.
  virtual void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) = 0;
  /// The request bytes queued so far dropped below the low watermark (resume reading the client).
  virtual void onUpstreamDrained() = 0;
  /// The TCP connection is established (only for new connections).
  virtual void onUpstreamConnected() {}
};

class UpstreamConnection final : public net::EventHandler,
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

  /// Lends the connection to a stream. `headRequest`: the response has no body.
  void attach(UpstreamCallbacks* callbacks, bool headRequest);
  /// Request bytes go here; then call flush().
  Buffer& output() { return out_; }
  void flush();
  size_t pendingOutput() const { return out_.size(); }
  /// Above this many queued request bytes the client side stops being read.
  size_t highWatermark() const;
  bool connected() const { return connected_; }
  /// Downstream backpressure: stop/continue reading the response.
  void pauseReading() { readPaused_ = true; }
  void resumeReading();
  /// Closes now (the stream gave up on it); no callback follows.
  void abort();

  bool reused() const { return exchanges_ > 0; }
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
  void onTlsEvents(uint32_t events);
  void continueHandshake();
  void readLoop();
  bool parse(const char* data, size_t len);
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
  bool aboveHighWatermark_ = false;
  bool pooled_ = false;
  bool socketDrained_ = false;  // the last read emptied the socket (edge-triggered)
  bool peerFinSeen_ = false;
  unsigned exchanges_ = 0;
};

}  // namespace portico::gateway
