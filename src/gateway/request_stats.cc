// RequestExchange's observability hooks: this worker's request counters and latency
// histograms (plain per-worker cells, no lock), and the access log lines of each request.
#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "gateway/request_exchange.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "gateway/transform_state.h"
#include "gateway/worker.h"
#include "observability/access_log.h"
#include "observability/metrics_registry.h"
#include "observability/tracing_tracer.h"
#include "upstream/cluster.h"

namespace portico::gateway {

namespace {

/// The access logs of the listener a request arrived on, in the snapshot it uses.
const observability::ListenerAccessLogs* accessLogsOf(const WorkerSnapshot* ws, int listener) {
  if (!ws || !ws->snapshot || listener < 0) return nullptr;
  const auto& listeners = ws->snapshot->listeners;
  if (static_cast<size_t>(listener) >= listeners.size()) return nullptr;
  return listeners[static_cast<size_t>(listener)].accessLogs.get();
}

}  // namespace

void ConnectionInfo::formatRemoteAddress() const {
  bool v6 = peerIp.find(':') != std::string::npos;
  if (v6) remoteAddress_.push_back('[');
  remoteAddress_.append(peerIp);
  if (v6) remoteAddress_.push_back(']');
  remoteAddress_.push_back(':');
  remoteAddress_.append(std::to_string(peerPort));
}

void RequestExchange::beginRequestStats() {
  statsOpen_ = true;
  responseStatus_ = 0;
  responseFlags_ = 0;
  responseBodyBytes_ = 0;
  routeStats_ = nullptr;
  upstreamStats_ = nullptr;
  host_ = {};  // set by dispatch(); a request refused before it logs no authority
  // The loop's wake-up time: when the bytes arrived, and no clock read per request.
  startUs_ = worker_.loop().nowUs();
  startUnixUs_ = worker_.loop().wallUs();
  trace_.active = trace_.clientOpen = false;
  for (std::string& v : capturedResponseHeaders_) v.clear();
}

void RequestExchange::recordRoute(const Snapshot& snap, int listener,
                                       const router::VirtualHost& vhost) {
  trace_.virtualService = vhost.name;
  if (!snap.stats || listener < 0) return;
  const auto& perListener = snap.stats->routes;
  if (static_cast<size_t>(listener) >= perListener.size()) return;
  const auto& vhosts = snap.listeners[static_cast<size_t>(listener)].routes.virtualHosts();
  size_t vi = static_cast<size_t>(&vhost - vhosts.data());
  size_t ri = static_cast<size_t>(route_ - vhost.routes.data());
  const auto& perVhost = perListener[static_cast<size_t>(listener)];
  if (vi < perVhost.size() && ri < perVhost[vi].size()) routeStats_ = &perVhost[vi][ri];
}

void RequestExchange::recordUpstreamResponse(int status, const http::HeaderMap& headers) {
  trace_.clientStatus = static_cast<uint16_t>(status);  // its span ends with the response
  if (upstreamStats_) {
    upstreamStats_->latency.recordUs(worker_.loop().nowUs() - attemptStartUs_);
    if (status >= 500) upstreamStats_->error(observability::UpstreamError::Status5xx);
  }
  const observability::ListenerAccessLogs* logs =
      accessLogsOf(snapshot_, conn_.listener->listenerIndex());
  if (!logs || logs->responseHeaders.empty()) return;
  capturedResponseHeaders_.resize(logs->responseHeaders.size());
  for (size_t i = 0; i < logs->responseHeaders.size(); ++i) {
    const std::string* v = headers.get(logs->responseHeaders[i]);
    if (v) capturedResponseHeaders_[i].assign(*v);
    else capturedResponseHeaders_[i].clear();
  }
}

void RequestExchange::recordUpstreamFailure(UpstreamFailure failure) {
  bool connect = failure == UpstreamFailure::ConnectFailed || failure == UpstreamFailure::ConnectTimeout;
  endClientSpan(failure == UpstreamFailure::ConnectFailed    ? observability::SpanError::ConnectFailure
                : failure == UpstreamFailure::ConnectTimeout ? observability::SpanError::ConnectTimeout
                : failure == UpstreamFailure::Protocol       ? observability::SpanError::Protocol
                                                             : observability::SpanError::Reset);
  responseFlags_ |= connect ? observability::kUpstreamConnectionFailure
                            : observability::kUpstreamConnectionTermination;
  if (!upstreamStats_) return;
  upstreamStats_->latency.recordUs(worker_.loop().nowUs() - attemptStartUs_);
  if (connect) {
    upstreamStats_->connectFailures.add();
    upstreamStats_->error(observability::UpstreamError::ConnectFailure);
    if (failure == UpstreamFailure::ConnectTimeout) upstreamStats_->timeouts.add();
  } else {
    upstreamStats_->error(observability::UpstreamError::Reset);
  }
}

void RequestExchange::recordUpstreamTimeout() {
  responseFlags_ |= observability::kUpstreamRequestTimeout;
  if (upstreamStats_) upstreamStats_->timeouts.add();
  endClientSpan(observability::SpanError::Timeout);
}

void RequestExchange::endRequestStats() {
  if (!statsOpen_) return;
  statsOpen_ = false;
  const uint64_t durationUs = worker_.loop().nowUs() - startUs_;
  if (responseStatus_ == 0) responseFlags_ |= observability::kDownstreamConnectionTermination;
  endTrace();
  const size_t codeClass = observability::codeClassIndex(responseStatus_);
  if (observability::WorkerStats* ws = worker_.stats()) {
    ws->downstream.requests[observability::methodIndex(head_.method)][codeClass].add();
    if (routeStats_) {
      if (routeStats_->virtualService != observability::kNoStatsId) {
        observability::RequestStats& s = ws->virtualServices[routeStats_->virtualService];
        s.requests[codeClass].add();
        s.latency.recordUs(durationUs);
      }
      if (routeStats_->route != observability::kNoStatsId) {
        observability::RequestStats& s = ws->routes[routeStats_->route];
        s.requests[codeClass].add();
        s.latency.recordUs(durationUs);
      }
    }
  }

  const WorkerSnapshot* snap = snapshot_ ? snapshot_ : worker_.currentSnapshot();
  const observability::ListenerAccessLogs* logs = accessLogsOf(snap, conn_.listener->listenerIndex());
  if (!logs) return;
  observability::AccessLogEntry e;
  e.startUnixUs = startUnixUs_;
  e.durationUs = durationUs;
  e.method = head_.method;
  e.target = head_.target;
  e.authority = host_;
  e.protocol = head_.protocol;
  e.requestHeaders = head_.headers;
  if (snapshot_ && capturedResponseHeaders_.size() == logs->responseHeaders.size())
    e.responseHeaders = &capturedResponseHeaders_;
  e.responseCode = responseStatus_;
  e.responseFlags = responseFlags_;
  e.bytesReceived = requestBodyBytes_;
  e.bytesSent = responseBodyBytes_;
  if (hostPool_) e.upstreamHost = hostPool_->key();
  if (cluster_) e.upstreamCluster = cluster_->name;
  e.downstreamRemoteAddress = conn_.remoteAddress();
  if (routeStats_) e.routeName = routeStats_->name;
  // The request head was encoded upstream: it saw the client's id or made one. Else (a local
  // answer) look for the client's.
  if (!clientRequestId_.empty()) e.requestId = clientRequestId_;
  else if (requestId_[0]) e.requestId = std::string_view(requestId_, sizeof(requestId_));
  else if (const std::string* clientId = headers().get("x-request-id")) e.requestId = *clientId;
  if (xform_) e.dynamicMetadata = &xform_->metadata;
  thread_local std::string line;
  for (const auto& log : logs->logs) {
    line.clear();
    log.format.render(e, line);
    log.sink->push(worker_.index(), line);
  }
}

// ---- tracing ------------------------------------------------------------------------------------

namespace {

/// A non-zero id (zero means "none" in both W3C and B3).
uint64_t newId(Worker& worker) {
  uint64_t id = worker.random();
  return id ? id : 1;
}

}  // namespace

void RequestExchange::beginTrace() {
  trace_.active = trace_.clientOpen = false;
  observability::Tracer* tracer = worker_.tracer();
  if (!tracer) return;  // tracing off: one load and a branch per request
  observability::IncomingContext in = observability::parseIncoming(headers());
  observability::TraceContext& c = trace_.ctx;
  c = {};
  c.format = in.format;
  c.debug = in.debug;
  if (in.hasIds) {
    c.traceHi = in.traceHi;
    c.traceLo = in.traceLo;
    c.traceId64 = in.traceId64;
    c.keepTracestate = in.format == observability::TraceFormat::W3C;
    trace_.parentId = in.spanId;
  } else {
    c.traceHi = worker_.random();
    c.traceLo = newId(worker_);
    trace_.parentId = 0;
  }
  switch (in.sampling) {
  case observability::SamplingDecision::Accept: c.sampled = true; break;
  case observability::SamplingDecision::Deny: c.sampled = false; break;
  case observability::SamplingDecision::Defer: {
    uint32_t rate = tracer->samplingPerMillion();
    c.sampled = rate >= 1000000 || (rate > 0 && worker_.random() % 1000000 < rate);
    break;
  }
  }
  trace_.serverSpanId = newId(worker_);
  trace_.clientSpanId = 0;
  trace_.virtualService = {};
  trace_.serverStartUs = c.sampled ? unixUs() : 0;
  trace_.active = true;
}

void RequestExchange::beginClientSpan() {
  if (!trace_.active) return;
  if (trace_.clientOpen) endClientSpan(observability::SpanError::Cancelled);
  trace_.clientSpanId = newId(worker_);
  trace_.clientStatus = 0;
  if (!trace_.ctx.sampled) return;
  trace_.clientStartUs = unixUs();
  trace_.clientOpen = true;
}

observability::Span* RequestExchange::claimSpan(observability::Tracer* tracer,
                                                    observability::SpanKind kind, uint64_t id,
                                                    uint64_t parentId, int64_t startUs) {
  observability::Span* s = tracer ? tracer->claim(worker_.index()) : nullptr;
  if (!s) return nullptr;
  s->traceHi = trace_.ctx.traceHi;
  s->traceLo = trace_.ctx.traceLo;
  s->traceId64 = trace_.ctx.traceId64;
  s->debug = trace_.ctx.debug;
  s->id = id;
  s->parentId = parentId;
  s->kind = kind;
  s->startUnixUs = startUs;
  int64_t end = unixUs();
  s->durationUs = end > startUs ? static_cast<uint64_t>(end - startUs) : 0;
  return s;
}

void RequestExchange::endClientSpan(observability::SpanError error) {
  if (!trace_.clientOpen) return;
  trace_.clientOpen = false;
  observability::Tracer* tracer = worker_.tracer();
  observability::Span* s = claimSpan(tracer, observability::SpanKind::Client, trace_.clientSpanId,
                                     trace_.serverSpanId, trace_.clientStartUs);
  if (!s) return;  // the ring is full: counted as dropped
  if (error == observability::SpanError::None && trace_.clientStatus >= 500)
    error = observability::SpanError::Status5xx;
  s->status = trace_.clientStatus;
  s->error = error;
  s->attempt = attempts_;
  s->method.set(head_.method);
  s->host.set(host_);
  if (routeStats_) s->route.set(routeStats_->name);
  s->virtualService.set(trace_.virtualService);
  if (cluster_) s->upstream.set(cluster_->name);
  if (hostPool_) s->upstreamHost.set(hostPool_->key());
  tracer->commit(worker_.index());
}

void RequestExchange::endTrace() {
  if (!trace_.active) return;
  if (trace_.clientOpen) endClientSpan(observability::SpanError::Cancelled);
  trace_.active = false;
  if (!trace_.ctx.sampled) return;
  observability::Tracer* tracer = worker_.tracer();
  observability::Span* s = claimSpan(tracer, observability::SpanKind::Server, trace_.serverSpanId,
                                     trace_.parentId, trace_.serverStartUs);
  if (!s) return;
  s->status = static_cast<uint16_t>(responseStatus_);
  if (responseStatus_ == 0) s->error = observability::SpanError::Cancelled;  // the client left
  s->responseFlags = responseFlags_;
  s->method.set(head_.method);
  std::string_view target = head_.target;  // path_ is unset when answered before routing
  s->path.set(target.substr(0, target.find('?')));  // no query: it may carry credentials
  s->host.set(host_);
  s->peer.set(conn_.peerIp);
  if (routeStats_) s->route.set(routeStats_->name);
  s->virtualService.set(trace_.virtualService);
  if (cluster_) s->upstream.set(cluster_->name);
  tracer->commit(worker_.index());
}

}  // namespace portico::gateway
