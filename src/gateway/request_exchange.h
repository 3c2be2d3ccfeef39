// RequestExchange: one request being proxied — routing, the route's actions and options,
// upstream attempts with retries and timeouts, transformations, metrics, access logs and
// tracing — independent of the protocol it arrived on (a DownstreamStream: an HTTP/1.1
// connection reuses one exchange for its requests in turn, HTTP/2 has one per stream).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "gateway/downstream_stream.h"
#include "gateway/upstream_stream.h"
#include "net/event_loop.h"
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
}  // namespace portico::router
namespace portico::observability {
struct RouteStatsRef;
struct Span;
class Tracer;
struct UpstreamStats;
}  // namespace portico::observability

namespace portico::gateway {

class HostPool;
struct TransformState;
class Worker;
struct Snapshot;
struct WorkerSnapshot;

class RequestExchange final : private UpstreamCallbacks {
public:
  RequestExchange(Worker& worker, const ConnectionInfo& conn, DownstreamStream& stream);
  ~RequestExchange() override;

  // ---- driven by the protocol ----
  /// A request head arrived: its clock, stats and trace start (every request that gets an
  /// answer or is abandoned is counted once).
  void begin(const RequestHead& head);
  /// Routes the request (`host` from Host/:authority, `path` without and `query` with its
  /// "?") and starts its action; answers itself when it can't.
  void route(std::string_view host, std::string_view path, std::string_view query);
  /// A request body chunk (framing removed). The pointer is valid only during the call.
  void onRequestBody(const char* data, size_t len);
  /// Request trailers (before onRequestComplete); views valid during the call.
  void onRequestTrailers(const http::HeaderMap& trailers);
  void onRequestComplete();
  /// The protocol answers on its own (a malformed request, a timeout): the request is complete
  /// as far as the exchange cares; stats start if the head never arrived.
  void failRequest(int status, std::string_view body);
  /// A text/plain answer of the gateway's own ("\n" appended).
  void localReply(int status, std::string_view body);
  /// The client is gone or the connection closes: stats, slots and the upstream are released.
  void abort();
  /// Queued response bytes fell to the low watermark: read the upstream again.
  void onDownstreamDrained();
  /// Sends what the request bytes parsed so far queued upstream (one send per read).
  void flushUpstream() {
    if (upstream_ && upstream_->pendingOutput()) upstream_->flush();
  }

  bool active() const { return active_; }
  bool requestComplete() const { return requestComplete_; }
  bool responseStarted() const { return responseStarted_; }
  bool responseComplete() const { return responseComplete_; }
  bool aborted() const { return aborted_; }

private:
  const http::HeaderMap& headers() const { return *head_.headers; }
  /// A complete response of the gateway's own: `extraHeaders` are raw "name: value\r\n" lines.
  void respond(int status, std::string_view extraHeaders, std::string_view body,
               std::string_view contentType = "text/plain");
  /// Ends a started response head with a Content-Length for `body`, then the body (not for
  /// HEAD) and the end of the response.
  void endResponseWithBody(std::string_view body);
  /// respond() for a gRPC request: HTTP 200 with grpc-status and grpc-message, no body.
  void respondGrpc(int status, std::string_view body);
  /// A gRPC request (HTTP/2, content-type application/grpc...): reads its grpc-timeout.
  void detectGrpc();
  /// The route's timeout, shortened by a gRPC client's grpc-timeout; <= 0: none.
  int64_t routeTimeoutMs() const;
  void finish();
  void cancelTimers();

  // Transformations (request_exchange_transform.cc).
  /// Chooses the route's transformations for this request and applies those that need no
  /// body; false when it answered (400).
  bool prepareRequestTransform(const router::RequestView& request);
  /// A body chunk while collecting the body for a transformation (413 above the limit).
  void bufferTransformBody(const char* data, size_t len);
  /// The whole body is in: applies the transformations; false when it answered (400).
  bool finishRequestTransform();
  /// clearRouteCache: chooses the route again from the transformed request and takes its
  /// action (once per request); false when it answered.
  bool rerouteAfterTransform();
  /// A response head arrived: true when a response transformation applies (the response is
  /// then buffered until complete instead of relayed).
  bool prepareResponseTransform(const UpstreamResponseHead& response);
  /// The relayed response headers into the stream's head (hop-by-hop and Connection-listed
  /// ones dropped, the route's response header ops, CORS, an issued cookie); `keepContentLength`
  /// for bodiless answers to HEAD/204/304. Framing is the stream's.
  void appendResponseHeaders(Buffer& out, const http::HeaderMap& headers, bool keepContentLength);
  /// A response body chunk for a response transformation (502 above the limit).
  void bufferTransformResponse(const char* data, size_t len);
  /// The buffered response is complete: transforms it and queues it for the client.
  void writeTransformedResponse();

  // Request side (request_exchange.cc).
  /// The route for `request` on `listener` (virtual host by request.authority) into route_,
  /// matchedLength_ and its stats; answers 404 and returns false when none matches.
  bool findRoute(int listener, const router::RequestView& request);
  /// route_'s action: answers a redirect or direct response, or picks the cluster and takes
  /// its breaker slot; false when it answered.
  bool takeRouteAction();
  void onDelayDone();
  bool startAttempt();
  void armAttemptTimers();
  bool canRetry() const;
  bool retriableStatus(int status) const;
  void scheduleRetry();
  void onRetryTimer();
  void onPerTryTimeout();
  void onRouteTimeout();
  void encodeRequestHead(UpstreamStream& upstream, const upstream::Host& host, bool shadow);
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
  void pauseRequestBody();
  void resumeRequestBody();

  // UpstreamCallbacks
  bool onUpstreamHeaders(const UpstreamResponseHead& response) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamTrailers(const http::HeaderMap& trailers) override;
  void onUpstreamComplete(UpstreamStream& upstream, bool reusable) override;
  void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) override;
  void onUpstreamDrained() override;
  void onUpstreamConnected() override;

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
  const ConnectionInfo& conn_;
  DownstreamStream& stream_;
  RequestHead head_;
  net::Timer routeTimer_;
  net::Timer perTryTimer_;
  net::Timer retryTimer_;
  net::Timer delayTimer_;

  bool active_ = false;            // head received, response not finished
  bool aborted_ = false;           // abort() ran: nothing more happens
  bool requestComplete_ = false;   // whole request body received
  bool responseStarted_ = false;
  bool responseComplete_ = false;
  bool discardBody_ = false;       // a local reply was sent before the body finished
  bool readPaused_ = false;        // backpressure: upstream write side above watermark
  bool requestChunked_ = false;    // re-chunk the body upstream
  bool retried_ = false;           // the one resend after a stale pooled connection was used
  bool freshConnection_ = false;   // the next attempt must not take a pooled connection
  bool upstreamReused_ = false;
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
  std::string_view host_;        // Host header, absolute-form authority or :authority
  std::string_view path_;        // the path without query
  std::string_view query_;       // "?a=b" or empty
  std::string_view corsOrigin_;  // an allowed Origin: CORS headers go on the response
  std::unique_ptr<TransformState> xform_;  // transformations of the request in progress
  const router::RouteFilterConfig* xformConfig_ = nullptr;  // the route's or its destination's
  bool xformActive_ = false;       // xform_->request is what goes upstream
  bool xformBuffering_ = false;    // collecting the request body for a transformation
  bool xformRespBuffering_ = false;  // collecting the response for a transformation
  bool rerouted_ = false;          // clearRouteCache chose the route again (once per request)
  HostPool* hostPool_ = nullptr;
  UpstreamStream* upstream_ = nullptr;
  std::optional<uint64_t> requestHash_;  // from the route's hash policies (ring hash, Maglev)
  std::string setCookie_;                // a hash cookie the gateway issued
  upstream::CircuitBreaker* breaker_ = nullptr;  // this worker's breaker for the cluster
  bool requestSlot_ = false;
  bool pendingSlot_ = false;
  bool retrySlot_ = false;
  bool attemptActive_ = false;
  bool grpc_ = false;           // a gRPC request: local replies carry grpc-status
  bool upgrade_ = false;        // the request asks for a websocket upgrade
  std::string_view clientRequestId_;  // the client's x-request-id, seen while encoding upstream
  bool tunnel_ = false;         // the upstream answered 101: raw bytes both ways
  int64_t grpcTimeoutMs_ = 0;   // its grpc-timeout; 0: none

  // ---- observability of the request in progress ----
  bool statsOpen_ = false;           // begun and not yet recorded
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
