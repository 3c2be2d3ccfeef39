// RequestExchange: routing a request, the route's actions and
// options (redirects, direct responses, CORS, faults, weighted clusters, header manipulation,
// rewrites, retries, shadowing), and relaying the upstream response.
#include <cerrno>

#include "common/log.h"
#include "gateway/request_exchange.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "gateway/proxy_headers.h"
#include "gateway/route_actions.h"
#include "gateway/shadow_request.h"
#include "gateway/transform_state.h"
#include "gateway/worker.h"
#include "http/grpc.h"
#include "http/local_reply.h"
#include "observability/access_log_format.h"
#include "observability/stats.h"
#include "upstream/circuit_breaker.h"
#include "upstream/hash.h"
#include "upstream/load_balancer.h"
#include "upstream/outlier_detector.h"

namespace portico::gateway {

namespace {

/// autoHostRewrite's Host: the host's name as configured; for a host configured as an IP, the
/// address as written without its port ("127.0.0.1", "[::1]"), as Envoy does with Gloo's
/// endpoints (their hostname is the addr).
std::string_view autoHostOf(const upstream::Host& host) {
  if (!host.hostname.empty()) return host.hostname;
  std::string_view key = host.key;
  return key.substr(0, key.rfind(':'));
}

/// Above this many queued bytes a side is written at once instead of after the event batch.
constexpr size_t kFlushNowBytes = 64 * 1024;
/// A request body up to this size is kept for retries and shadowing; a longer one streams
/// without a copy and is never retried (it can't be replayed).
constexpr size_t kReplayBufferBytes = 64 * 1024;
/// Retry back-off: a random wait below base·2^(attempt-1), capped (Envoy's defaults).
constexpr int64_t kRetryBaseMs = 25;
constexpr int64_t kRetryMaxMs = 250;

bool sampled(Worker& worker, uint32_t perMillion) {
  return perMillion >= 1000000 || worker.random() % 1000000 < perMillion;
}
}  // namespace

// ---- request head -------------------------------------------------------------------------------

RequestExchange::RequestExchange(Worker& worker, const ConnectionInfo& conn,
                                 DownstreamStream& stream)
    : worker_(worker), conn_(conn), stream_(stream),
      routeTimer_(worker.loop(), [this] { onRouteTimeout(); }),
      perTryTimer_(worker.loop(), [this] { onPerTryTimeout(); }),
      retryTimer_(worker.loop(), [this] { onRetryTimer(); }),
      delayTimer_(worker.loop(), [this] { onDelayDone(); }) {}

RequestExchange::~RequestExchange() { abort(); }

void RequestExchange::begin(const RequestHead& head) {
  head_ = head;
  active_ = true;
  aborted_ = false;
  beginRequestStats();
  beginTrace();
  requestComplete_ = responseStarted_ = responseComplete_ = false;
  discardBody_ = readPaused_ = false;
  requestChunked_ = head.bodyLengthUnknown;
  retried_ = freshConnection_ = false;
  xformActive_ = xformBuffering_ = xformRespBuffering_ = false;
  rerouted_ = false;
  if (xform_) xform_->metadata.clear();  // a route without transformations logs none
  attempts_ = 0;
  replayable_ = true;
  keepBodyCopy_ = false;
  replayBody_.clear();
  corsOrigin_ = {};
  requestHash_.reset();
  setCookie_.clear();
  requestBodyBytes_ = 0;
  grpc_ = false;
  grpcTimeoutMs_ = 0;
  upgrade_ = !head.upgrade.empty();
  clientRequestId_ = {};
  tunnel_ = false;
  if (head.protocol.size() == 6) detectGrpc();  // "HTTP/2": gRPC has no HTTP/1 form
}

void RequestExchange::detectGrpc() {
  const std::string* ct = headers().get("content-type");
  if (!ct || !http::isGrpcContentType(*ct)) return;
  grpc_ = true;
  if (const std::string* t = headers().get("grpc-timeout")) {
    if (auto ms = http::parseGrpcTimeout(*t)) grpcTimeoutMs_ = std::max<int64_t>(*ms, 1);
  }
}

int64_t RequestExchange::routeTimeoutMs() const {
  int64_t t = route_->timeoutMs;
  if (grpcTimeoutMs_ > 0 && (t <= 0 || grpcTimeoutMs_ < t)) t = grpcTimeoutMs_;
  return t;
}

void RequestExchange::failRequest(int status, std::string_view body) {
  if (!statsOpen_) {
    static const http::HeaderMap kNoHeaders;
    head_ = {};  // no head arrived: nothing of a previous request's may be logged
    head_.headers = &kNoHeaders;
    beginRequestStats();
  }
  active_ = true;
  requestComplete_ = true;
  localReply(status, body);
}

void RequestExchange::route(std::string_view host, std::string_view path,
                            std::string_view query) {
  snapshot_ = worker_.acquireSnapshot();
  host_ = host;
  path_ = path;
  query_ = query;
  int li = conn_.listener->listenerIndex();
  if (li < 0 || !snapshot_->snapshot) {
    localReply(404, "route not found");
    return;
  }
  router::RequestView request{path_, query_.empty() ? query_ : query_.substr(1), head_.method,
                              head_.headers, host_, conn_.secure ? "https" : "http"};
  if (!findRoute(li, request)) return;
  xformConfig_ = route_->transformations.get();  // a weighted destination may have its own

  if (route_->cors) {
    const std::string* origin = headers().get("origin");
    if (origin && corsOriginAllowed(*route_->cors, *origin)) {
      corsOrigin_ = *origin;
      if (isCorsPreflight(head_.method, headers())) {
        Buffer extra;
        appendCorsPreflightHeaders(extra, *route_->cors, corsOrigin_);
        respond(200, extra.view(), {});
        return;
      }
    }
  }
  if (!takeRouteAction()) return;
  if (xformConfig_ && !prepareRequestTransform(request)) return;
  if (!route_->hashPolicies.empty()) computeRequestHash();
  if (route_->faults) {
    const router::FaultConfig& f = *route_->faults;
    if (f.abortPerMillion && sampled(worker_, f.abortPerMillion)) {
      responseFlags_ |= observability::kFaultInjected;
      localReply(static_cast<int>(f.abortStatus), "fault filter abort");
      return;
    }
    if (f.delayPerMillion && sampled(worker_, f.delayPerMillion)) {
      responseFlags_ |= observability::kDelayInjected;
      keepBodyCopy_ = true;  // the body arriving during the delay waits for the upstream
      delayTimer_.arm(f.delayMs);
      return;
    }
  }
  keepBodyCopy_ = route_->retries.has_value() || route_->shadow.has_value();

  const std::string* expect = headers().get("expect");
  if (expect && !head_.http10 && http::equalsIgnoreCase(*expect, "100-continue")) {
    stream_.encodeContinue();
    if (aborted_) return;
  }
  startAttempt();
}

bool RequestExchange::findRoute(int listener, const router::RequestView& request) {
  const Snapshot& snap = *snapshot_->snapshot;
  const router::VirtualHost* vhost =
      snap.listeners[listener].routes.findVirtualHost(request.authority);
  auto match = vhost ? router::RouteTable::matchRoute(*vhost, request) : router::RouteTable::Match{};
  if (!match.route) {
    responseFlags_ |= observability::kNoRouteFound;
    localReply(404, "route not found");
    return false;
  }
  route_ = match.route;
  recordRoute(snap, listener, *vhost);
  matchedLength_ = match.matchedLength;
  return true;
}

bool RequestExchange::takeRouteAction() {
  switch (route_->action) {
  case router::RouteEntry::Action::Redirect: {
    Buffer extra;
    appendHeader(extra, "location",
                 redirectLocation(route_->redirect, host_, path_, query_, matchedLength_));
    respond(static_cast<int>(route_->redirect.responseCode), extra.view(), {});
    return false;
  }
  case router::RouteEntry::Action::DirectResponse:
    respond(static_cast<int>(route_->directStatus), {}, route_->directBody);
    return false;
  case router::RouteEntry::Action::Cluster:
    clusterIndex_ = route_->clusterIndex;
    break;
  case router::RouteEntry::Action::WeightedClusters: {
    uint64_t pick = worker_.random() % route_->totalWeight;
    for (const auto& wc : route_->weightedClusters) {
      if (pick < wc.weight) {
        clusterIndex_ = wc.clusterIndex;
        // After a re-route the request's transformations were chosen already (see
        // rerouteAfterTransform): the new destination's are not applied.
        if (wc.transformations && !rerouted_) xformConfig_ = wc.transformations.get();
        break;
      }
      pick -= wc.weight;
    }
    break;
  }
  }
  cluster_ = snapshot_->snapshot->clusters[clusterIndex_].get();
  upstreamStats_ = snapshot_->upstreamStats[clusterIndex_];
  if (upgrade_ && cluster_->http2) {
    localReply(501, "websocket to an HTTP/2 upstream is not supported");
    return false;
  }
  if (snapshot_->pools[clusterIndex_].empty()) {
    responseFlags_ |= observability::kNoHealthyUpstream;
    localReply(503, "no healthy upstream");
    return false;
  }
  if (cluster_->breakers && worker_.index() < cluster_->breakers->perWorker.size()) {
    breaker_ = cluster_->breakers->perWorker[worker_.index()].get();
    if (!breaker_->tryAcquireRequest()) {
      overloadedReply("maxRequests");
      return false;
    }
    requestSlot_ = true;
  }
  return true;
}

void RequestExchange::onDelayDone() {
  keepBodyCopy_ = route_->retries.has_value() || route_->shadow.has_value();
  startAttempt();
  if (upstream_) upstream_->flush();
  if (!aborted_) resumeRequestBody();
}

void RequestExchange::computeRequestHash() {
  // Envoy's combination: each policy that yields a value mixes it in; a terminal one that
  // yields a value ends the list.
  for (const router::HashPolicyConfig& p : route_->hashPolicies) {
    std::optional<uint64_t> h;
    switch (p.type) {
    case router::HashPolicyConfig::Type::Header:
      if (const std::string* v = headers().get(p.name)) h = upstream::hashBytes(*v);
      break;
    case router::HashPolicyConfig::Type::SourceIp:
      h = upstream::hashBytes(conn_.peerIp);
      break;
    case router::HashPolicyConfig::Type::Cookie: {
      std::string_view value = cookieValue(p.name);
      if (!value.empty()) {
        h = upstream::hashBytes(value);
      } else if (p.cookieTtlMs > 0) {
        // Issue the cookie so that the client's next requests stick to the same host.
        char id[36];
        worker_.newRequestId(id);
        std::string_view v(id, sizeof(id));
        h = upstream::hashBytes(v);
        setCookie_ = p.name + "=" + std::string(v) + "; Max-Age=" + std::to_string(p.cookieTtlMs / 1000) +
                     (p.cookiePath.empty() ? "" : "; Path=" + p.cookiePath) + "; HttpOnly";
      }
      break;
    }
    }
    if (!h) continue;
    requestHash_ = requestHash_ ? ((*requestHash_ << 1) | (*requestHash_ >> 63)) ^ *h : *h;
    if (p.terminal) break;
  }
}

std::string_view RequestExchange::cookieValue(std::string_view name) const {
  for (const http::HeaderEntry& h : headers()) {
    if (h.name != "cookie") continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
  }
  return {};
}

// ---- upstream attempts ----------------------------------------------------------------------------

bool RequestExchange::startAttempt() {
  if (xformBuffering_) return false;  // started once the transformation has the whole body
  const auto& pools = snapshot_->pools[clusterIndex_];
  upstream::LoadBalancer* lb = snapshot_->balancers[clusterIndex_].get();
  if (lb) {
    int picked = lb->pick({requestHash_, worker_.loop().now(), worker_.random()});
    // A retry prefers another host than the one that just failed (a few tries; a hash-based
    // balancer keeps answering the same host for the same hash, which is fine).
    for (int i = 0; i < 3 && attempts_ > 0 && picked == static_cast<int>(hostIndex_) &&
                    pools.size() > 1 && !requestHash_;
         ++i)
      picked = lb->pick({requestHash_, worker_.loop().now(), worker_.random()});
    if (picked < 0) {
      responseFlags_ |= observability::kNoHealthyUpstream;
      localReply(503, "no healthy upstream");
      return false;
    }
    hostIndex_ = static_cast<size_t>(picked);
  } else {
    hostIndex_ = snapshot_->cursors[clusterIndex_]++ % pools.size();
  }
  hostPool_ = pools[hostIndex_];
  ++attempts_;
  beginClientSpan();
  if (upstreamStats_) upstreamStats_->requests.add();
  attemptStartUs_ = worker_.loop().nowUs();
  bool overloaded = false;
  auto conn = hostPool_->acquire(*cluster_, freshConnection_, overloaded, upstreamStats_);
  freshConnection_ = false;
  if (!conn.ok()) {
    if (overloaded) {
      overloadedReply("maxConnections");
      return false;
    }
    LOG_WARN("upstream %s (%s): %s", cluster_->name.c_str(), hostPool_->key().c_str(),
             conn.error().c_str());
    attemptActive_ = true;  // counted as an attempt that failed locally
    if (lb) lb->onRequestStart(static_cast<int>(hostIndex_));
    onUpstreamFailure(UpstreamFailure::ConnectFailed, false);
    return false;
  }
  upstream_ = *conn;
  upstreamReused_ = upstream_->reused();
  if (!upstream_->connected() && breaker_) {
    // Waiting for a new connection: a pending request (maxPendingRequests).
    if (!breaker_->tryAcquirePendingRequest()) {
      upstream_->abort();
      upstream_ = nullptr;
      overloadedReply("maxPendingRequests");
      return false;
    }
    pendingSlot_ = true;
  }
  attemptActive_ = true;
  if (lb) lb->onRequestStart(static_cast<int>(hostIndex_));
  upstream_->attach(this, head_.isHead, upgrade_);
  encodeRequestHead(*upstream_, cluster_->hosts[hostIndex_], false);
  if (!replayBody_.empty()) upstream_->encodeBody(replayBody_.data(), replayBody_.size());
  if (!replayable_) replayBody_.shrinkTo(0);  // sent once; it can't be replayed anyway
  if (requestComplete_) {
    upstream_->encodeEnd();
    armAttemptTimers();
  }
  return true;  // sent by the caller's flush once the bytes read so far are parsed
}

void RequestExchange::armAttemptTimers() {
  int64_t timeout = routeTimeoutMs();
  if (timeout > 0 && !routeTimer_.armed()) routeTimer_.arm(timeout);
  if (route_->retries && route_->retries->perTryTimeoutMs > 0)
    perTryTimer_.arm(route_->retries->perTryTimeoutMs);
}

bool RequestExchange::canRetry() const {
  return route_ && route_->retries && !responseStarted_ && replayable_ && !stream_.closing() &&
         attempts_ <= route_->retries->numRetries;
}

bool RequestExchange::takeRetrySlot() {
  // maxRetries bounds the requests in retry at once (Envoy): one unit per request, taken at its
  // first retry and held until it ends.
  if (!breaker_ || retrySlot_) return true;
  if (!breaker_->tryAcquireRetry()) return false;  // answer with what we have
  retrySlot_ = true;
  return true;
}

void RequestExchange::endAttempt(int status, bool record) {
  if (!attemptActive_) return;
  attemptActive_ = false;
  if (upstream::LoadBalancer* lb = snapshot_->balancers[clusterIndex_].get())
    lb->onRequestEnd(static_cast<int>(hostIndex_));
  if (record) {
    if (upstream::OutlierRecorder* r = snapshot_->recorders[clusterIndex_].get())
      r->recordResult(static_cast<int>(hostIndex_), status);
  }
  if (pendingSlot_) {
    breaker_->releasePendingRequest();
    pendingSlot_ = false;
  }
}

void RequestExchange::releaseSlots() {
  endAttempt(0, false);
  if (breaker_) {
    if (requestSlot_) breaker_->releaseRequest();
    if (retrySlot_) breaker_->releaseRetry();
  }
  requestSlot_ = retrySlot_ = false;
  breaker_ = nullptr;
}

void RequestExchange::overloadedReply(const char* limit) {
  responseFlags_ |= observability::kUpstreamOverflow;
  LOG_DEBUG("upstream %s: %s reached", cluster_->name.c_str(), limit);
  respond(503, "x-portico-overloaded: true\r\n", "upstream overloaded\n");
}

void RequestExchange::onUpstreamConnected() {
  if (pendingSlot_) {
    breaker_->releasePendingRequest();
    pendingSlot_ = false;
  }
}

void RequestExchange::scheduleRetry() {
  int64_t cap = std::min(kRetryMaxMs, kRetryBaseMs << std::min<uint32_t>(attempts_ - 1, 4));
  int64_t wait = 1 + static_cast<int64_t>(worker_.random() % static_cast<uint64_t>(cap));
  if (upstreamStats_) upstreamStats_->retries.add();
  LOG_DEBUG("route %s: retry %u in %lld ms", route_->name.c_str(), attempts_,
            static_cast<long long>(wait));
  retryTimer_.arm(wait);
}

void RequestExchange::onRetryTimer() {
  if (aborted_ || responseStarted_) return;
  if (startAttempt() && upstream_) upstream_->flush();
}

void RequestExchange::onPerTryTimeout() {
  if (!upstream_ || responseStarted_) return;
  recordUpstreamTimeout();
  upstream_->abort();
  upstream_ = nullptr;
  endAttempt(0, true);
  const router::RetryConfig* r = route_->retries ? &*route_->retries : nullptr;
  if (r && (r->on5xx || r->onGatewayError) && canRetry() && takeRetrySlot()) {
    scheduleRetry();
    return;
  }
  localReply(504, "upstream request timeout");
}

void RequestExchange::encodeRequestHead(UpstreamStream& upstream, const upstream::Host& host,
                                        bool shadow) {
  const TransformState* x = xformActive_ ? xform_.get() : nullptr;
  Buffer& target = upstream.beginRequestHead(x ? std::string_view(x->request.method) : head_.method);
  if (x && x->pathChanged) {
    target.append(x->request.path);  // the template chose the path: no route rewrite
  } else {
    appendRewrittenPath(target, *route_, path_, matchedLength_);
    target.append(query_);
  }
  Buffer& out = upstream.headerLines();

  const http::HeaderMap& headers = x ? x->request.headers : *head_.headers;
  http::ConnectionTokens connection(headers.get("connection"));
  const router::HeaderOps& ops = route_->requestHeaders;
  const std::string* xff = nullptr;
  std::string_view hostValue = host_;
  bool hasRequestId = false;
  for (const http::HeaderEntry& h : headers) {
    if (isHopByHop(h.name)) {
      if (h.name == "te" && http::equalsIgnoreCase(h.value, "trailers")) appendHeader(out, h.name, h.value);
      continue;
    }
    if (!connection.empty() && connection.contains(h.name)) continue;
    if (trace_.active && observability::isTraceHeader(h.name, trace_.ctx.keepTracestate)) continue;
    if (h.name == "host" || h.name == "x-forwarded-for") {
      if (h.name == "x-forwarded-for") xff = &h.value;
      continue;  // written below
    }
    if (!ops.empty() && headerDroppedByOps(ops, h.name)) continue;
    if (h.name == "x-request-id") {
      hasRequestId = true;
      clientRequestId_ = h.value;  // for the access log, without another scan
    }
    appendHeader(out, h.name, h.value);
  }
  if (x && x->authorityChanged) hostValue = x->request.authority;
  else if (!route_->hostRewrite.empty()) hostValue = route_->hostRewrite;
  else if (route_->autoHostRewrite) hostValue = autoHostOf(host);
  else if (hostValue.empty()) hostValue = host.key;  // HTTP/1.0 without Host
  if (upgrade_) {
    out.append("connection: upgrade\r\nupgrade: ");
    out.append(head_.upgrade);
    out.append("\r\n");
  }
  out.append("host: ");
  out.append(hostValue);
  if (shadow) out.append("-shadow");  // Envoy's convention: the shadow sees "<host>-shadow"
  out.append("\r\n");
  if (!ops.empty()) appendAddedHeaders(out, ops);
  out.append("x-forwarded-for: ");
  if (xff && !xff->empty()) {
    out.append(*xff);
    out.append(", ");
  }
  out.append(conn_.peerIp);
  out.append(conn_.secure ? "\r\nx-forwarded-proto: https\r\n" : "\r\nx-forwarded-proto: http\r\n");
  if (!hasRequestId) {
    if (requestId_[0] == 0) worker_.newRequestId(requestId_);
    out.append("x-request-id: ");
    out.append(requestId_, sizeof(requestId_));
    out.append("\r\n");
  }
  if (trace_.active)  // the client span's context (a shadow request carries the server span's)
    observability::appendTraceHeaders(out, trace_.ctx, shadow ? trace_.serverSpanId : trace_.clientSpanId,
                                      shadow ? trace_.parentId : trace_.serverSpanId);
  RequestFraming framing;
  if (x && x->bodyBuffered) {
    if (x->request.bodyChanged || head_.hasContentLength || head_.bodyLengthUnknown) {
      framing.hasLength = true;
      framing.length = x->request.body.size();
    }
  } else if (requestChunked_) {
    framing.chunked = true;
  } else if (head_.hasContentLength) {
    framing.hasLength = true;
    framing.length = head_.contentLength;
  }
  upstream.endRequestHead(framing);
}

// ---- request body -------------------------------------------------------------------------------

void RequestExchange::onRequestBody(const char* data, size_t len) {
  if (discardBody_) return;
  requestBodyBytes_ += len;
  uint64_t maxBody = worker_.settings().maxRequestBodyBytes;
  if (maxBody && requestBodyBytes_ > maxBody && !upgrade_) {  // a tunnel's bytes are no body
    stream_.closeAfterResponse();
    if (responseStarted_) stream_.reset();
    else localReply(413, "request body too large");
    return;
  }
  if (xformBuffering_) {
    bufferTransformBody(data, len);
    return;
  }
  if (keepBodyCopy_ && replayable_) {
    replayBody_.append(data, len);
    if (replayBody_.size() > kReplayBufferBytes && upstream_) {
      // Too big to replay: stream the rest without a copy (and never retry this request).
      replayable_ = false;
      replayBody_.shrinkTo(0);
    }
  }
  if (!upstream_) {
    // Waiting for a delay or a retry: the copy above holds the body; stop reading if it grows.
    if (!replayable_ || replayBody_.size() > worker_.settings().highWatermark) pauseRequestBody();
    return;
  }
  upstream_->encodeBody(data, len);
  if (upstream_->pendingOutput() >= kFlushNowBytes) upstream_->flush();
  // The connection's own watermark: it calls onUpstreamDrained when it falls below its low one.
  if (upstream_ && upstream_->pendingOutput() > upstream_->highWatermark()) pauseRequestBody();
}

void RequestExchange::pauseRequestBody() {
  if (readPaused_) return;
  readPaused_ = true;
  stream_.pauseRequestBody();
}

void RequestExchange::resumeRequestBody() {
  if (!readPaused_) return;
  readPaused_ = false;
  stream_.resumeRequestBody();
}

void RequestExchange::onRequestTrailers(const http::HeaderMap& trailers) {
  // Relayed when the body streams to an upstream; a body held for a transformation, a delay
  // or a retry is re-sent without them.
  if (discardBody_ || xformBuffering_ || !upstream_) return;
  upstream_->encodeTrailers(trailers);
}

void RequestExchange::onRequestComplete() {
  requestComplete_ = true;
  if (responseComplete_) {
    finish();
    return;
  }
  if (xformBuffering_) {
    if (!finishRequestTransform()) return;
    if (!delayTimer_.armed()) startAttempt();
  } else if (upstream_) {
    upstream_->encodeEnd();
    armAttemptTimers();
  } else if (route_ && routeTimeoutMs() > 0) {
    routeTimer_.arm(routeTimeoutMs());  // waiting for a delay or a retry still counts
  }
  if (route_ && route_->shadow && replayable_ && sampled(worker_, route_->shadow->perMillion))
    startShadow();
}

void RequestExchange::startShadow() {
  uint32_t ci = route_->shadow->clusterIndex;
  const auto& pools = snapshot_->pools[ci];
  if (pools.empty()) return;
  const upstream::Cluster& shadowCluster = *snapshot_->snapshot->clusters[ci];
  size_t hi = snapshot_->cursors[ci]++ % pools.size();
  UpstreamStream* shadow = ShadowRequest::start(
      worker_, *pools[hi], shadowCluster, route_->timeoutMs > 0 ? route_->timeoutMs : 15000);
  if (!shadow) return;
  encodeRequestHead(*shadow, shadowCluster.hosts[hi], true);
  if (!replayBody_.empty()) shadow->encodeBody(replayBody_.data(), replayBody_.size());
  shadow->encodeEnd();
  shadow->flush();
}

// ---- response -----------------------------------------------------------------------------------

bool RequestExchange::retriableStatus(int status) const {
  const router::RetryConfig& r = *route_->retries;
  if (r.on5xx && status >= 500) return true;
  if (r.onGatewayError && (status == 502 || status == 503 || status == 504)) return true;
  return r.onRetriable4xx && status == 409;
}

bool RequestExchange::onUpstreamHeaders(const UpstreamResponseHead& response) {
  int status = response.status;
  recordUpstreamResponse(status, *response.headers);
  endAttempt(status, true);
  if (route_->retries && retriableStatus(status) && canRetry() && takeRetrySlot()) {
    // Not relayed: this attempt's answer is dropped with its connection, the next one is sent.
    perTryTimer_.cancel();
    upstream_->abort();
    upstream_ = nullptr;
    endClientSpan();
    scheduleRetry();
    return false;
  }
  perTryTimer_.cancel();
  if (status == 101) {
    // Only a websocket handshake gets here (UpstreamConnection swallows other 1xx): the
    // upstream switched protocols, the rest is a tunnel without timeouts but idleness.
    tunnel_ = true;
    routeTimer_.cancel();
    responseStarted_ = true;
    responseStatus_ = status;
    Buffer& out = stream_.beginResponseHead(status);
    appendResponseHeaders(out, *response.headers, false);
    if (const std::string* up = response.headers->get("upgrade")) appendHeader(out, "upgrade", *up);
    ResponseFraming framing;
    framing.upgraded = true;
    stream_.endResponseHead(framing);
    stream_.flush(true);
    return true;
  }
  if (xformConfig_ && prepareResponseTransform(response))
    return true;  // buffered, transformed and written when complete
  responseStarted_ = true;
  responseStatus_ = status;
  ResponseFraming framing;
  framing.noBody = head_.isHead || status == 204 || status == 304;
  framing.hasLength = response.hasContentLength;
  framing.length = response.contentLength;
  appendResponseHeaders(stream_.beginResponseHead(status), *response.headers, framing.noBody);
  stream_.endResponseHead(framing);
  stream_.flush(false);  // head and body go out in one send after this batch of upstream bytes
  return true;
}

void RequestExchange::appendResponseHeaders(Buffer& out, const http::HeaderMap& headers,
                                            bool keepContentLength) {
  http::ConnectionTokens connection(headers.get("connection"));
  const router::HeaderOps& ops = route_->responseHeaders;
  for (const http::HeaderEntry& h : headers) {
    if (isHopByHop(h.name)) {
      if (keepContentLength && h.name == "content-length") appendHeader(out, h.name, h.value);
      continue;
    }
    if (!connection.empty() && connection.contains(h.name)) continue;
    if (!ops.empty() && headerDroppedByOps(ops, h.name)) continue;
    if (!corsOrigin_.empty() && h.name.starts_with("access-control-")) continue;  // ours win
    appendHeader(out, h.name, h.value);
  }
  if (!ops.empty()) appendAddedHeaders(out, ops);
  if (!corsOrigin_.empty()) appendCorsResponseHeaders(out, *route_->cors, corsOrigin_);
  if (!setCookie_.empty()) appendHeader(out, "set-cookie", setCookie_);
}

void RequestExchange::onUpstreamBody(const char* data, size_t len) {
  if (xformRespBuffering_) {
    bufferTransformResponse(data, len);
    return;
  }
  responseBodyBytes_ += len;
  stream_.encodeData(data, len);
  size_t pending = stream_.pendingBytes();
  stream_.flush(pending >= kFlushNowBytes);
  if (upstream_ && stream_.pendingBytes() > worker_.settings().highWatermark)
    upstream_->pauseReading();
}

void RequestExchange::onUpstreamTrailers(const http::HeaderMap& trailers) {
  // A transformed response is rebuilt from its body: its trailers are dropped with the rest.
  if (xformRespBuffering_ || !responseStarted_) return;
  stream_.encodeTrailers(trailers);
}

void RequestExchange::onDownstreamDrained() {
  if (upstream_ && stream_.pendingBytes() <= worker_.settings().lowWatermark)
    upstream_->resumeReading();
}

void RequestExchange::onUpstreamComplete(UpstreamStream& upstream, bool reusable) {
  upstream_ = nullptr;
  if (upgrade_ && !requestComplete_) {
    // A websocket handshake's exchange ends with its response (the tunnel closed by the
    // upstream, or an answer without 101); the client connection closes after it.
    stream_.closeAfterResponse();
    requestComplete_ = true;
  }
  endClientSpan();
  routeTimer_.cancel();
  if (xformRespBuffering_) writeTransformedResponse();
  else stream_.encodeEnd();
  if (requestComplete_) {
    if (reusable) upstream.release();
  } else {
    // The upstream answered before taking the whole body: it can't be reused; the rest of the
    // client's body is read and dropped so that the connection stays in sync.
    if (reusable) upstream.abort();
    discardBody_ = true;
    resumeRequestBody();
  }
  responseComplete_ = true;
  if (requestComplete_) finish();
  if (!aborted_) stream_.flush(false);
}

void RequestExchange::onUpstreamFailure(UpstreamFailure failure, bool responseStarted) {
  upstream_ = nullptr;
  perTryTimer_.cancel();
  recordUpstreamFailure(failure);
  endAttempt(0, true);
  if (responseStarted) {
    LOG_DEBUG("upstream %s: %s mid-response", hostPool_->key().c_str(), toString(failure));
    stream_.reset();  // the client sees the response end before it is complete
    return;
  }
  bool bodyless = !requestChunked_ && head_.contentLength == 0;
  bool reset = failure == UpstreamFailure::Reset || failure == UpstreamFailure::Closed ||
               failure == UpstreamFailure::Refused;
  if (!retried_ && bodyless &&
      (failure == UpstreamFailure::Refused || (upstreamReused_ && reset))) {
    // A pooled connection the upstream closed while we picked it, or an HTTP/2 stream it
    // refused (not processed): safe to resend once, at once, on a new connection (not counted
    // as a policy retry).
    retried_ = true;
    freshConnection_ = true;
    --attempts_;
    if (startAttempt() && upstream_) upstream_->flush();
    return;
  }
  if (route_->retries && canRetry()) {
    const router::RetryConfig& r = *route_->retries;
    bool connect = failure == UpstreamFailure::ConnectFailed || failure == UpstreamFailure::ConnectTimeout;
    if ((r.on5xx || r.onGatewayError || (connect && r.onConnectFailure) || (reset && r.onReset)) &&
        takeRetrySlot()) {
      scheduleRetry();
      return;
    }
  }
  LOG_DEBUG("upstream %s (%s): %s", cluster_->name.c_str(), hostPool_->key().c_str(),
            toString(failure));
  if (failure == UpstreamFailure::ConnectTimeout) localReply(504, "upstream connect timeout");
  else if (failure == UpstreamFailure::ConnectFailed) localReply(502, "upstream connect error");
  else if (failure == UpstreamFailure::Protocol) localReply(502, "upstream sent an invalid response");
  else localReply(502, "upstream reset before response");
}

void RequestExchange::onUpstreamDrained() { resumeRequestBody(); }

void RequestExchange::onRouteTimeout() {
  recordUpstreamTimeout();
  if (responseStarted_) {
    stream_.reset();
    return;
  }
  localReply(504, "upstream request timeout");
}

// ---- completion ---------------------------------------------------------------------------------

void RequestExchange::localReply(int status, std::string_view body) {
  std::string text(body);
  text.push_back('\n');
  respond(status, {}, text);
}

void RequestExchange::respond(int status, std::string_view extraHeaders, std::string_view body,
                              std::string_view contentType) {
  cancelTimers();
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  responseStarted_ = responseComplete_ = true;
  responseStatus_ = status;
  if (!head_.isHead) responseBodyBytes_ += body.size();
  if (!requestComplete_) discardBody_ = true;
  if (grpc_) {
    respondGrpc(status, body);
    return;
  }
  Buffer& out = stream_.beginResponseHead(status);
  out.append("content-type: ");
  out.append(contentType);
  out.append("\r\n");
  out.append(extraHeaders);
  if (!corsOrigin_.empty() && route_ && route_->cors && extraHeaders.empty())
    appendCorsResponseHeaders(out, *route_->cors, corsOrigin_);
  endResponseWithBody(body);
  if (requestComplete_) finish();
  if (!aborted_) stream_.flush(true);
}

void RequestExchange::respondGrpc(int status, std::string_view body) {
  // A gRPC client reads the outcome from grpc-status, not from the HTTP status: a
  // trailers-only answer (one HEADERS frame), as Envoy does for its local replies.
  int code = body.starts_with("upstream request timeout") ? http::kGrpcDeadlineExceeded
                                                          : http::grpcStatusForHttp(status);
  while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  Buffer& out = stream_.beginResponseHead(200);
  out.append("content-type: application/grpc\r\ngrpc-status: ");
  out.appendDecimal(static_cast<unsigned>(code));
  out.append("\r\ngrpc-message: ");
  http::appendGrpcMessage(out, body);
  out.append("\r\n");
  responseBodyBytes_ = 0;
  endResponseWithBody({});
  if (requestComplete_) finish();
  if (!aborted_) stream_.flush(true);
}

void RequestExchange::endResponseWithBody(std::string_view body) {
  ResponseFraming framing;
  framing.hasLength = true;
  framing.length = body.size();
  stream_.endResponseHead(framing);
  if (!head_.isHead && !body.empty()) stream_.encodeData(body.data(), body.size());
  stream_.encodeEnd();
}

void RequestExchange::cancelTimers() {
  routeTimer_.cancel();
  perTryTimer_.cancel();
  retryTimer_.cancel();
  delayTimer_.cancel();
}

void RequestExchange::finish() {
  endRequestStats();
  releaseSlots();
  active_ = false;
  cancelTimers();
  replayBody_.shrinkTo(0);
  requestId_[0] = 0;
  corsOrigin_ = {};
  route_ = nullptr;
  xformConfig_ = nullptr;
  cluster_ = nullptr;
  hostPool_ = nullptr;
  if (snapshot_) {
    worker_.releaseSnapshot(snapshot_);
    snapshot_ = nullptr;
  }
  stream_.onExchangeComplete();
}

void RequestExchange::abort() {
  if (aborted_) return;
  aborted_ = true;
  active_ = false;
  endRequestStats();
  releaseSlots();
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  if (snapshot_) {
    worker_.releaseSnapshot(snapshot_);
    snapshot_ = nullptr;
  }
  cancelTimers();
}

}  // namespace portico::gateway
