// DownstreamConnection's observability hooks: this worker's request counters and latency
// histograms (plain per-worker cells, no lock), and the access log lines of each request.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "gateway/downstream_connection.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "gateway/worker.h"
#include "observability/access_log.h"
#include "observability/metrics_registry.h"
#include "upstream/cluster.h"

namespace portico::gateway {

namespace {

int64_t unixUs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

/// The access logs of the listener a request arrived on, in the snapshot it uses.
const observability::ListenerAccessLogs* accessLogsOf(const WorkerSnapshot* ws, int listener) {
  if (!ws || !ws->snapshot || listener < 0) return nullptr;
  const auto& listeners = ws->snapshot->listeners;
  if (static_cast<size_t>(listener) >= listeners.size()) return nullptr;
  return listeners[static_cast<size_t>(listener)].accessLogs.get();
}

}  // namespace

void DownstreamConnection::beginRequestStats() {
  statsOpen_ = true;
  responseStatus_ = 0;
  responseFlags_ = 0;
  responseBodyBytes_ = 0;
  routeStats_ = nullptr;
  upstreamStats_ = nullptr;
  host_ = {};  // set by dispatch(); a request refused before it logs no authority
  startUs_ = observability::monotonicUs();
  startUnixUs_ = accessLogsOf(worker_.currentSnapshot(), listener_->listenerIndex()) ? unixUs() : 0;
  for (std::string& v : capturedResponseHeaders_) v.clear();
}

void DownstreamConnection::recordRoute(const Snapshot& snap, int listener,
                                       const router::VirtualHost& vhost) {
  if (!snap.stats || listener < 0) return;
  const auto& perListener = snap.stats->routes;
  if (static_cast<size_t>(listener) >= perListener.size()) return;
  const auto& vhosts = snap.listeners[static_cast<size_t>(listener)].routes.virtualHosts();
  size_t vi = static_cast<size_t>(&vhost - vhosts.data());
  size_t ri = static_cast<size_t>(route_ - vhost.routes.data());
  const auto& perVhost = perListener[static_cast<size_t>(listener)];
  if (vi < perVhost.size() && ri < perVhost[vi].size()) routeStats_ = &perVhost[vi][ri];
}

void DownstreamConnection::recordUpstreamResponse(int status, const http::HeaderMap& headers) {
  if (upstreamStats_) {
    upstreamStats_->latency.recordUs(observability::monotonicUs() - attemptStartUs_);
    if (status >= 500) upstreamStats_->error(observability::UpstreamError::Status5xx);
  }
  const observability::ListenerAccessLogs* logs =
      accessLogsOf(snapshot_, listener_->listenerIndex());
  if (!logs || logs->responseHeaders.empty()) return;
  capturedResponseHeaders_.resize(logs->responseHeaders.size());
  for (size_t i = 0; i < logs->responseHeaders.size(); ++i) {
    const std::string* v = headers.get(logs->responseHeaders[i]);
    if (v) capturedResponseHeaders_[i].assign(*v);
    else capturedResponseHeaders_[i].clear();
  }
}

void DownstreamConnection::recordUpstreamFailure(UpstreamFailure failure) {
  bool connect = failure == UpstreamFailure::ConnectFailed || failure == UpstreamFailure::ConnectTimeout;
  responseFlags_ |= connect ? observability::kUpstreamConnectionFailure
                            : observability::kUpstreamConnectionTermination;
  if (!upstreamStats_) return;
  upstreamStats_->latency.recordUs(observability::monotonicUs() - attemptStartUs_);
  if (connect) {
    upstreamStats_->connectFailures.add();
    upstreamStats_->error(observability::UpstreamError::ConnectFailure);
    if (failure == UpstreamFailure::ConnectTimeout) upstreamStats_->timeouts.add();
  } else {
    upstreamStats_->error(observability::UpstreamError::Reset);
  }
}

void DownstreamConnection::recordUpstreamTimeout() {
  responseFlags_ |= observability::kUpstreamRequestTimeout;
  if (upstreamStats_) upstreamStats_->timeouts.add();
}

void DownstreamConnection::endRequestStats() {
  if (!statsOpen_) return;
  statsOpen_ = false;
  const uint64_t durationUs = observability::monotonicUs() - startUs_;
  if (responseStatus_ == 0) responseFlags_ |= observability::kDownstreamConnectionTermination;
  const size_t codeClass = observability::codeClassIndex(responseStatus_);
  if (observability::WorkerStats* ws = worker_.stats()) {
    ws->downstream.requests[observability::methodIndex(parser_.method())][codeClass].add();
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
  const observability::ListenerAccessLogs* logs = accessLogsOf(snap, listener_->listenerIndex());
  if (!logs) return;
  observability::AccessLogEntry e;
  e.startUnixUs = startUnixUs_ ? startUnixUs_ : unixUs();
  e.durationUs = durationUs;
  e.method = parser_.method();
  e.target = parser_.target();
  e.authority = host_;
  e.protocol = parser_.versionMinor() == 0 ? "HTTP/1.0" : "HTTP/1.1";
  e.requestHeaders = &parser_.headers();
  if (snapshot_ && capturedResponseHeaders_.size() == logs->responseHeaders.size())
    e.responseHeaders = &capturedResponseHeaders_;
  e.responseCode = responseStatus_;
  e.responseFlags = responseFlags_;
  e.bytesReceived = requestBodyBytes_;
  e.bytesSent = responseBodyBytes_;
  if (hostPool_) e.upstreamHost = hostPool_->key();
  if (cluster_) e.upstreamCluster = cluster_->name;
  char remote[64];  // Envoy's form: "ip:port", "[v6]:port"
  bool v6 = peerIp_.find(':') != std::string::npos;
  int n = snprintf(remote, sizeof(remote), v6 ? "[%s]:%u" : "%s:%u", peerIp_.c_str(),
                   static_cast<unsigned>(peerPort_));
  e.downstreamRemoteAddress = std::string_view(remote, n > 0 ? std::min<size_t>(n, sizeof(remote) - 1) : 0);
  if (routeStats_) e.routeName = routeStats_->name;
  const std::string* clientId = parser_.headers().get("x-request-id");
  if (clientId) e.requestId = *clientId;
  else if (requestId_[0]) e.requestId = std::string_view(requestId_, sizeof(requestId_));
  thread_local std::string line;
  for (const auto& log : logs->logs) {
    line.clear();
    log.format.render(e, line);
    log.sink->push(worker_.index(), line);
  }
}

}  // namespace portico::gateway
