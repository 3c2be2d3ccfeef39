// DownstreamConnection: one client's HTTP/1.1 connection and the request being proxied on it.
// Requests are served one at a time in arrival order (pipelined ones wait, unparsed), bodies
// stream both ways with watermark backpressure, and every failure becomes a clear HTTP answer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "gateway/upstream_connection.h"
#include "http/h1_parser.h"
#include "net/address.h"
#include "net/event_loop.h"

namespace portico::upstream {
class CircuitBreaker;
struct Cluster;
struct Host;
}  // namespace portico::upstream
namespace portico::router {
struct RouteEntry;
}

namespace portico::gateway {

class ListenerHandler;
class Worker;
struct WorkerSnapshot;

class DownstreamConnection final : public net::EventHandler,
                                   public net::Deferred,
                                   public net::Schedulable,
                                   private http::H1ParserCallbacks,
                                   private UpstreamCallbacks {
public:
  /// Takes ownership of `fd`; the connection owns itself and deletes itself (deferred) on close.
  static void create(Worker& worker, std::shared_ptr<ListenerHandler> listener, int fd,
                     const net::Address& peer);
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

  Worker& worker_;
  std::shared_ptr<ListenerHandler> listener_;
  int fd_;
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
  HostPool* hostPool_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  std::optional<uint64_t> requestHash_;  // from the route's hash policies (ring hash, Maglev)
  std::string setCookie_;                // a hash cookie the gateway issued
  upstream::CircuitBreaker* breaker_ = nullptr;  // this worker's breaker for the cluster
  bool requestSlot_ = false;
  bool pendingSlot_ = false;
  bool retrySlot_ = false;
  bool attemptActive_ = false;
};

}  // namespace portico::gateway
