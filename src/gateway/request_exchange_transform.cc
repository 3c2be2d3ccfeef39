// The transformation side of RequestExchange: choosing a route's transformations from the
// request head, applying header-only ones at once (the body streams through), collecting the
// body only for transformations that read it, and transforming buffered responses.
#include "common/log.h"
#include "gateway/listener.h"
#include "gateway/request_exchange.h"
#include "gateway/route_actions.h"
#include "gateway/transform_state.h"
#include "gateway/worker.h"
#include "http/local_reply.h"

namespace portico::gateway {

namespace {
/// Gloo's default per-connection buffer limit: a body a transformation reads may be this big
/// (or --max-request-body when that is set); above it the answer is 413.
constexpr size_t kTransformBufferBytes = 1024 * 1024;

/// True when `target` is no longer `path` followed by `query` (a template set :path).
bool targetChanged(const std::string& target, std::string_view path, std::string_view query) {
  return target.size() != path.size() + query.size() || target.compare(0, path.size(), path) != 0 ||
         target.compare(path.size(), std::string::npos, query) != 0;
}
}  // namespace

bool RequestExchange::prepareRequestTransform(const router::RequestView& request) {
  const auto* config = static_cast<const filters::RouteTransformations*>(xformConfig_);
  if (!xform_) xform_ = std::make_unique<TransformState>();
  TransformState& x = *xform_;
  x.clear();
  config->select(request, x.selection);
  if (x.selection.requestCount == 0) return true;

  filters::Message& m = x.request;
  m.method.assign(head_.method);
  m.path.assign(path_);
  m.path.append(query_);
  m.authority.assign(host_);
  for (const http::HeaderEntry& h : headers()) m.headers.add(h.name, h.value);
  xformActive_ = true;
  if (x.selection.needsRequestBody && !upgrade_) {  // a websocket handshake has no body
    xformBuffering_ = true;  // applied when the body is complete (finishRequestTransform)
    return true;
  }
  for (size_t i = 0; i < x.selection.requestCount; ++i) {
    Status st = x.selection.request[i]->apply(m, nullptr);
    if (!st.ok()) {
      localReply(400, "bad request: " + st.message());
      return false;
    }
  }
  x.pathChanged = targetChanged(m.path, path_, query_);
  x.authorityChanged = m.authority != host_;
  if (x.selection.clearRouteCache && !rerouted_) return rerouteAfterTransform();
  return true;
}

void RequestExchange::bufferTransformBody(const char* data, size_t len) {
  std::string& body = xform_->request.body;
  uint64_t limit = worker_.settings().maxRequestBodyBytes;
  if (!limit) limit = kTransformBufferBytes;
  if (body.size() + len > limit) {
    stream_.closeAfterResponse();
    xformBuffering_ = false;
    localReply(413, "request body too large for the route's transformation");
    return;
  }
  body.append(data, len);
}

bool RequestExchange::finishRequestTransform() {
  xformBuffering_ = false;
  TransformState& x = *xform_;
  filters::Message& m = x.request;
  for (size_t i = 0; i < x.selection.requestCount; ++i) {
    Status st = x.selection.request[i]->apply(m, nullptr);
    if (!st.ok()) {
      localReply(400, "bad request: " + st.message());
      return false;
    }
  }
  x.pathChanged = targetChanged(m.path, path_, query_);
  x.authorityChanged = m.authority != host_;
  x.bodyBuffered = true;
  // The (maybe rewritten) body is now the whole body: sent with a Content-Length, replayable
  // for retries and shadowing.
  requestChunked_ = false;
  replayBody_.clear();
  replayBody_.append(m.body.data(), m.body.size());
  replayable_ = true;
  if (x.selection.clearRouteCache && !rerouted_) {
    if (!rerouteAfterTransform()) return false;
    // route() hashed the request for the first route's policies.
    requestHash_.reset();
    setCookie_.clear();
    if (!route_->hashPolicies.empty()) computeRequestHash();
  }
  return true;
}

bool RequestExchange::rerouteAfterTransform() {
  // Envoy: the transformation filter clears the route cache and the router reads the route
  // again from the transformed headers. The transformation filter has run by then, so the
  // new route's (and its destination's) transformations are not applied; the response side
  // keeps the rules chosen on the first route. When the body was read first, route() has run
  // the first route's faults already; the new route's hash policies are applied (the caller).
  // One re-route per request: no loop.
  rerouted_ = true;
  TransformState& x = *xform_;
  const filters::Message& m = x.request;
  std::string_view target = m.path;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q);
  router::RequestView request{path, query.empty() ? query : query.substr(1), m.method,
                              &m.headers, m.authority, conn_.secure ? "https" : "http"};
  releaseSlots();  // the first route's cluster slot
  cluster_ = nullptr;  // set again by a cluster action; else the access log shows none
  upstreamStats_ = nullptr;
  corsOrigin_ = {};
  if (!findRoute(conn_.listener->listenerIndex(), request)) return false;
  // The new route matched the transformed path: its rewrite applies to that path.
  path_ = path;
  query_ = query;
  x.pathChanged = false;
  const std::string* origin = route_->cors ? headers().get("origin") : nullptr;
  if (origin && corsOriginAllowed(*route_->cors, *origin)) corsOrigin_ = *origin;
  return takeRouteAction();
}

bool RequestExchange::prepareResponseTransform(const UpstreamResponseHead& response) {
  const auto* config = static_cast<const filters::RouteTransformations*>(xformConfig_);
  if (!xform_) {
    xform_ = std::make_unique<TransformState>();
    xform_->clear();
  }
  TransformState& x = *xform_;
  filters::Message& r = x.response;
  r.status = response.status;
  r.headers.clear();
  r.body.clear();
  r.bodyChanged = false;
  for (const http::HeaderEntry& h : *response.headers) r.headers.add(h.name, h.value);
  x.responseCount = config->responseTransformations(x.selection, r, x.responseList);
  if (x.responseCount == 0 || head_.isHead || r.status == 204 || r.status == 304) return false;
  xformRespBuffering_ = true;
  responseStarted_ = true;  // no retry from here on: the response is being taken
  return true;
}

void RequestExchange::bufferTransformResponse(const char* data, size_t len) {
  std::string& body = xform_->response.body;
  if (body.size() + len > kTransformBufferBytes) {
    LOG_WARN("route %s: response over %zu bytes cannot be transformed", route_->name.c_str(),
             kTransformBufferBytes);
    xformRespBuffering_ = false;
    stream_.closeAfterResponse();
    localReply(502, "upstream response too large for the route's transformation");
    return;
  }
  body.append(data, len);
}

void RequestExchange::writeTransformedResponse() {
  xformRespBuffering_ = false;
  TransformState& x = *xform_;
  filters::Message& r = x.response;
  if (!xformActive_) {
    // The request was not transformed: request_header() reads the client's headers.
    x.request.headers.clear();
    for (const http::HeaderEntry& h : headers()) x.request.headers.add(h.name, h.value);
    x.request.method.assign(head_.method);
    x.request.path.assign(path_);
    x.request.path.append(query_);
    x.request.authority.assign(host_);
  }
  for (size_t i = 0; i < x.responseCount; ++i) {
    Status st = x.responseList[i]->apply(r, &x.request);
    if (!st.ok()) {
      LOG_DEBUG("route %s: response transformation failed: %s", route_->name.c_str(),
                st.message().c_str());
      responseStatus_ = 500;
      static constexpr std::string_view kBody = "response transformation failed\n";
      stream_.beginResponseHead(500).append("content-type: text/plain\r\n");
      endResponseWithBody(kBody);
      return;
    }
  }
  responseStatus_ = r.status;
  // Framed anew: the Content-Length of the new body.
  appendResponseHeaders(stream_.beginResponseHead(r.status), r.headers, false);
  endResponseWithBody(r.body);
  responseBodyBytes_ += r.body.size();
}

}  // namespace portico::gateway
