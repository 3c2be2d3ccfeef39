// DownstreamConnection: one client's HTTP/1.1 connection and the request being proxied on it.
// Requests are served one at a time in arrival order (pipelined ones wait, unparsed), bodies
// stream both ways with watermark backpressure, and every failure becomes a clear HTTP answer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <sys/socket.h>

#include "common/buffer.h"
#include "gateway/upstream_connection.h"
#include "http/h1_parser.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"
#include "observability/tracing_context.h"

namespace portico::upstream {
class CircuitBreaker;
struct Cluster;
struct Host;
}  // namespace portico::upstream
namespace portico::router {
class RouteFilterConfig;
struct RequestView;
struct RouteEntry;
struct VirtualHost;
}
namespace portico::observability {
struct RouteStatsRef;
struct Span;
class Tracer;
struct UpstreamStats;
}  // namespace portico::observability

namespace portico::gateway {

class ListenerHandler;
struct TransformState;
class Worker;
struct Snapshot;
struct WorkerSnapshot;

class DownstreamConnection final : public net::EventHandler,
                                   public net::Deferred,
                                   public net::Schedulable,
                                   private http::H1ParserCallbacks,
                                   private UpstreamCallbacks {
public:
  /// Takes ownership of `fd`; the connection owns itself and deletes itself (deferred) on close.
  /// `tls` (null for a plain listener): the listener's certificates when the connection was
  /// accepted; the connection keeps them for its whole life (reloads affect new connections).
  static void create(Worker& worker, std::shared_ptr<ListenerHandler> listener, int fd,
                     const net::Address& peer, net::TlsServerConfigConstSharedPtr tls = nullptr);
  ~DownstreamConnection() override;

  /// Drain: close now if idle between requests, else after the current response.
  void beginDrain();
  /// Worker shutdown: close at once.
  void abortNow() { close(); }

private:
  DownstreamConnection(Worker& worker, std::shared_ptr<ListenerHandler> listener, int fd,
                       const net::Address& peer);

  // EventHandler / Schedulable
  void onEvents(uint32_t events) override;
  void onTlsEvents(uint32_t events);
  void onScheduled() override;
  // H1ParserCallbacks (request side)
  http::ParserAction onHeadersComplete() override;
  http::ParserAction onBody(const char* data, size_t len) override;
  http::ParserAction onMessageComplete() override;
  // UpstreamCallbacks
  http::ParserAction onUpstreamHeaders(const http::H1Parser& response) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamComplete(UpstreamConnection& conn, bool reusable) override;
  void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) override;
  void onUpstreamDrained() override;
  void onUpstreamConnected() override;

  // Connection side (downstream_connection.cc).
  void processInput();
  void onReadEof();
  void onParseError();
  void localReply(int status, std::string_view body);
  /// A complete response of the gateway's own: `extraHeaders` are raw "name: value\r\n" lines.
  void respond(int status, std::string_view extraHeaders, std::string_view body);
  void finishStream();
  void flush();
  void scheduleFlush();
  void close();
  void closeGracefully();
  void drainLingering();
  void onIdleTimer();
  /// The transport: the plain socket or TLS, one branch per syscall (no virtual call).
  ssize_t readSome(char* buf, size_t len) {
    if (tls_) [[unlikely]]
      return tls_->read(buf, len);
    return ::recv(fd_, buf, len, 0);
  }
  ssize_t writeSome(const char* buf, size_t len) {
    if (tls_) [[unlikely]]
      return tls_->write(buf, len);
    return ::send(fd_, buf, len, MSG_NOSIGNAL);
  }

  // Transformations (downstream_transform.cc).
  /// Chooses the route's transformations for this request and applies those that need no
  /// body; false when it answered (400).
  bool prepareRequestTransform(const router::RequestView& request);
  /// A body chunk while collecting the body for a transformation (413 above the limit).
  void bufferTransformBody(const char* data, size_t len);
  /// The whole body is in: applies the transformations; false when it answered (400).
  bool finishRequestTransform();
  /// A response head arrived: true when a response transformation applies (the response is
  /// then buffered until complete instead of relayed).
  bool prepareResponseTransform(const http::H1Parser& response);
  /// The status line and the relayed response headers (hop-by-hop and Connection-listed ones
  /// dropped, the route's response header ops, CORS, an issued cookie); `keepContentLength`
  /// for bodiless answers to HEAD/204/304. Framing headers are the caller's.
  void appendResponseHead(int status, const http::HeaderMap& headers, bool keepContentLength);
  /// `connection: close|keep-alive` as due, and the blank line ending the head.
  void endResponseHead();
  /// A response body chunk for a response transformation (502 above the limit).
  void bufferTransformResponse(const char* data, size_t len);
  /// The buffered response is complete: transforms it and queues it for the client.
  void writeTransformedResponse();

  // Request side (downstream_request.cc).
  void dispatch();
  void onDelayDone();
  bool startAttempt();
  void armAttemptTimers();
  bool canRetry() const;
  bool retriableStatus(int status) const;
  void scheduleRetry();
  void onRetryTimer();
  void onPerTryTimeout();
  void onRouteTimeout();
  void encodeRequestHead(Buffer& out, const upstream::Host& host, bool shadow);
  void appendBody(Buffer& out, const char* data, size_t len);
  void startShadow();
  void computeRequestHash();
  std::string_view cookieValue(std::string_view name) const;
  /// The current attempt ended: the balancer's active count, the outlier recorder (`status`:
  /// the response status, 0 for a local failure; `record` false when the attempt was
  /// abandoned), the pending-request slot.
  void endAttempt(int status, bool record);
  bool takeRetrySlot();
  /// Gives back every breaker slot the request holds (end of the request or the connection).
  void releaseSlots();
  void overloadedReply(const char* limit);

  // Observability (request_stats.cc).
  /// The request head was parsed: start its clock.
  void beginRequestStats();
  /// The request ended (answered, or the client went away): counts it once and writes its
  /// access log lines. Call before the request's state is reset.
  void endRequestStats();
  /// The upstream answered `status` (counts, and captures what the access logs read).
  void recordUpstreamResponse(int status, const http::HeaderMap& headers);
  /// The current attempt failed without a response.
  void recordUpstreamFailure(UpstreamFailure failure);
  /// A per-try or route timeout ended the wait for the upstream.
  void recordUpstreamTimeout();
  /// The request matched a route of `vhost` on listener `listener` of `snap`.
  void recordRoute(const Snapshot& snap, int listener, const router::VirtualHost& vhost);
  /// Tracing: the head was parsed — continue the caller's trace or start one (no-op when
  /// tracing is off).
  void beginTrace();
  /// An upstream attempt starts: a new client span id (and its clock when sampled).
  void beginClientSpan();
  /// The current attempt's client span ends (`error` None: it answered trace_.clientStatus).
  void endClientSpan(observability::SpanError error = observability::SpanError::None);
  /// The server span ends (from endRequestStats).
  void endTrace();
  /// A span slot from this worker's ring with the trace ids, kind, ids and timing filled in;
  /// nullptr when tracing is off or the ring is full.
  observability::Span* claimSpan(observability::Tracer* tracer, observability::SpanKind kind,
                                 uint64_t id, uint64_t parentId, int64_t startUs);

  Worker& worker_;
  std::shared_ptr<ListenerHandler> listener_;
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;  ///< null on a plain listener
  std::string peerIp_;
  http::H1Parser parser_;
  Buffer pendingIn_;  // bytes read but not parsed yet (pipelined requests, paused body)
  Buffer out_;
  net::Timer idleTimer_;
  net::Timer routeTimer_;
  net::Timer perTryTimer_;
  net::Timer retryTimer_;
  net::Timer delayTimer_;
  MonoMs lastActivity_ = 0;
  MonoMs headStart_ = 0;  // when the head of the request being read began
  bool closed_ = false;
  bool peerClosed_ = false;       // read side saw EOF
  bool closeAfterResponse_ = false;
  bool draining_ = false;
  bool closeAfterFlush_ = false;
  bool lingering_ = false;         // write side shut; discarding input until the peer closes
  bool flushPending_ = false;
  bool socketDrained_ = false;     // the last read emptied the socket (edge-triggered)
  bool peerFinSeen_ = false;       // EPOLLRDHUP seen: read until EOF

  // ---- the request in progress (one at a time) ----
  bool inRequest_ = false;         // headers parsed, response not finished
  bool requestComplete_ = false;   // whole request body received
  bool responseStarted_ = false;
  bool responseComplete_ = false;
  bool discardBody_ = false;       // a local reply was sent before the body finished
  bool readPaused_ = false;        // backpressure: upstream write side above watermark
  bool requestChunked_ = false;    // re-chunk the body upstream
  bool responseChunked_ = false;   // we add chunked framing downstream
  bool responseUntilClose_ = false;
  bool retried_ = false;           // the one resend after a stale pooled connection was used
  bool freshConnection_ = false;   // the next attempt must not take a pooled connection
  bool isHead_ = false;
  bool upstreamReused_ = false;
  bool clientHttp10_ = false;
  bool keepBodyCopy_ = false;      // the route may replay the body (retries, shadow, delay)
  bool replayable_ = true;         // the whole body so far is in replayBody_
  uint32_t attempts_ = 0;
  uint64_t requestBodyBytes_ = 0;
  Buffer replayBody_;
  char requestId_[36] = {0};       // generated x-request-id, shared by retries and shadow
  WorkerSnapshot* snapshot_ = nullptr;
  const router::RouteEntry* route_ = nullptr;
  const upstream::Cluster* cluster_ = nullptr;
  uint32_t clusterIndex_ = 0;
  size_t hostIndex_ = 0;
  size_t matchedLength_ = 0;
  std::string_view host_;        // Host header or absolute-form authority
  std::string_view path_;        // into parser_.target(): the path without query
  std::string_view query_;       // "?a=b" or empty
  std::string_view corsOrigin_;  // an allowed Origin: CORS headers go on the response
  std::unique_ptr<TransformState> xform_;  // transformations of the request in progress
  const router::RouteFilterConfig* xformConfig_ = nullptr;  // the route's or its destination's
  bool xformActive_ = false;       // xform_->request is what goes upstream
  bool xformBuffering_ = false;    // collecting the request body for a transformation
  bool xformRespBuffering_ = false;  // collecting the response for a transformation
  HostPool* hostPool_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  std::optional<uint64_t> requestHash_;  // from the route's hash policies (ring hash, Maglev)
  std::string setCookie_;                // a hash cookie the gateway issued
  upstream::CircuitBreaker* breaker_ = nullptr;  // this worker's breaker for the cluster
  bool requestSlot_ = false;
  bool pendingSlot_ = false;
  bool retrySlot_ = false;
  bool attemptActive_ = false;

  // ---- observability of the request in progress ----
  bool statsOpen_ = false;           // begun and not yet recorded
  uint16_t peerPort_ = 0;            // the client's port (access logs)
  int responseStatus_ = 0;           // what the client got (0: nothing yet)
  uint32_t responseFlags_ = 0;       // observability::ResponseFlag bits
  uint64_t startUs_ = 0;             // monotonic µs when the head was parsed
  int64_t startUnixUs_ = 0;          // wall clock, only when an access log is on
  uint64_t attemptStartUs_ = 0;
  uint64_t responseBodyBytes_ = 0;
  const observability::RouteStatsRef* routeStats_ = nullptr;
  observability::UpstreamStats* upstreamStats_ = nullptr;
  std::vector<std::string> capturedResponseHeaders_;  // for %RESP(X)%; capacity reused
  observability::RequestTrace trace_;  // tracing of the request in progress
};

}  // namespace portico::gateway
