#include "gateway/downstream_connection.h"

#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "gateway/worker.h"
#include "http/local_reply.h"

namespace portico::gateway {

namespace {

constexpr int64_t kLingerMs = 2000;
/// Above this many queued bytes a side is written at once instead of after the event batch.
constexpr size_t kFlushNowBytes = 64 * 1024;

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the framing headers Portico re-derives itself.
bool isHopByHop(std::string_view name) {
  switch (name.size()) {
  case 2: return name == "te";
  case 6: return name == "expect";
  case 7: return name == "upgrade" || name == "trailer";
  case 10: return name == "connection" || name == "keep-alive";
  case 14: return name == "content-length";
  case 16: return name == "proxy-connection";
  case 17: return name == "transfer-encoding" || name == "x-forwarded-proto";
  default: return false;
  }
}

void appendHeader(Buffer& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

void DownstreamConnection::create(Worker& worker, std::shared_ptr<ListenerHandler> listener,
                                  int fd, const net::Address& peer) {
  auto* c = new DownstreamConnection(worker, std::move(listener), fd, peer);
  worker.addConnection(c);
  if (!worker.loop().add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, c).ok()) {
    c->close();
    return;
  }
  if (worker.draining()) c->beginDrain();
}

DownstreamConnection::DownstreamConnection(Worker& worker,
                                           std::shared_ptr<ListenerHandler> listener, int fd,
                                           const net::Address& peer)
    : worker_(worker), listener_(std::move(listener)), fd_(fd), peerIp_(peer.ipString()),
      parser_(http::H1Parser::Type::Request, *this,
              http::ParserLimits{worker.settings().maxRequestHeaderBytes, 100}),
      idleTimer_(worker.loop(), [this] { onIdleTimer(); }),
      routeTimer_(worker.loop(), [this] { onRouteTimeout(); }) {
  lastActivity_ = worker_.loop().now();
  idleTimer_.arm(worker_.settings().idleTimeoutMs);
}

DownstreamConnection::~DownstreamConnection() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- events ---------------------------------------------------------------------------------------

void DownstreamConnection::onEvents(uint32_t events) {
  if (closed_) return;
  if (events & EPOLLOUT) {
    flush();
    if (closed_) return;
  }
  if (events & (EPOLLHUP | EPOLLERR)) {
    // Reset or fully closed: nobody is left to answer (a half-close only sets EPOLLRDHUP).
    close();
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) {
    socketDrained_ = false;
    if (events & EPOLLRDHUP) peerFinSeen_ = true;
    processInput();
  }
}

void DownstreamConnection::onScheduled() {
  if (flushPending_) {
    flushPending_ = false;
    flush();
  }
  if (!closed_) processInput();
}

void DownstreamConnection::scheduleFlush() {
  flushPending_ = true;
  worker_.loop().schedule(this);
}

void DownstreamConnection::processInput() {
  if (lingering_) {
    drainLingering();
    return;
  }
  while (!closed_) {
    if (inRequest_ && requestComplete_) return;  // next pipelined request waits its turn
    if (readPaused_ || closeAfterFlush_) return;
    const char* data;
    size_t len;
    bool fromPending = !pendingIn_.empty();
    if (fromPending) {
      data = pendingIn_.data();
      len = pendingIn_.size();
    } else {
      if (peerClosed_ || socketDrained_) return;
      ssize_t n = ::recv(fd_, worker_.scratch(), worker_.scratchSize(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          socketDrained_ = true;
          return;
        }
        close();
        return;
      }
      // A short read emptied the socket: the next bytes bring a new edge, so skip the recv that
      // would only say EAGAIN (one syscall per request saved). Not after a FIN: read to EOF.
      if (static_cast<size_t>(n) < worker_.scratchSize() && !peerFinSeen_) socketDrained_ = true;
      if (n == 0) {
        onReadEof();
        return;
      }
      lastActivity_ = worker_.loop().now();
      data = worker_.scratch();
      len = static_cast<size_t>(n);
    }
    auto r = parser_.execute(data, len);
    if (closed_) return;
    // One send upstream for everything this read produced (head, body, chunk terminator).
    if (upstream_ && upstream_->pendingOutput()) {
      upstream_->flush();
      if (closed_) return;
    }
    if (fromPending) {
      pendingIn_.consume(r.consumed);
    } else if (!r.error && r.consumed < len) {
      pendingIn_.append(data + r.consumed, len - r.consumed);
    }
    if (r.error) {
      onParseError();
      return;
    }
    // Paused at the end of a request: go on at once if its answer is already complete.
    if (r.paused && !inRequest_) parser_.resume();
  }
}

void DownstreamConnection::onReadEof() {
  peerClosed_ = true;
  if (!inRequest_) {
    // Between requests (or in the middle of a head the client gave up on): nothing to answer.
    closeAfterFlush_ = true;
    flush();
    return;
  }
  if (!requestComplete_) {
    close();  // the request body was cut short: the upstream must not see a truncated request
    return;
  }
  closeAfterResponse_ = true;  // half-close after a complete request: answer, then close
}

void DownstreamConnection::onParseError() {
  int status = 400;
  switch (parser_.error()) {
  case http::ParseError::HeadersTooLarge:
  case http::ParseError::TooManyHeaders: status = 431; break;
  case http::ParseError::UriTooLong: status = 414; break;
  default: break;
  }
  if (inRequest_ && responseStarted_) {
    close();
    return;
  }
  LOG_DEBUG("client %s: %s", peerIp_.c_str(), parser_.errorReason());
  closeAfterResponse_ = true;
  requestComplete_ = true;
  inRequest_ = true;
  std::string body = std::string("bad request: ") + parser_.errorReason();
  if (status == 431) body = "request header fields too large";
  if (status == 414) body = "request target too long";
  localReply(status, body);
}

// ---- request side ---------------------------------------------------------------------------------

http::ParserAction DownstreamConnection::onHeadersComplete() {
  inRequest_ = true;
  requestComplete_ = responseStarted_ = responseComplete_ = false;
  discardBody_ = requestChunked_ = responseChunked_ = responseUntilClose_ = false;
  retried_ = false;
  requestBodyBytes_ = 0;
  isHead_ = parser_.isHead();
  clientHttp10_ = parser_.versionMinor() == 0;
  if (!parser_.keepAlive() || draining_) closeAfterResponse_ = true;
  lastActivity_ = worker_.loop().now();

  if (parser_.versionMajor() != 1) {
    closeAfterResponse_ = true;
    localReply(505, "http version not supported");
    return http::ParserAction::Continue;
  }
  if (parser_.method() == "CONNECT" || parser_.upgrade()) {
    // Tunnels and protocol upgrades (websocket, h2c) are not implemented yet.
    closeAfterResponse_ = true;
    localReply(501, parser_.method() == "CONNECT" ? "CONNECT is not supported"
                                                  : "protocol upgrade is not supported");
    return http::ParserAction::Continue;
  }
  uint64_t maxBody = worker_.settings().maxRequestBodyBytes;
  if (maxBody && parser_.hasContentLength() && parser_.contentLength() > maxBody) {
    closeAfterResponse_ = true;
    localReply(413, "request body too large");
    return http::ParserAction::Continue;
  }
  requestChunked_ = parser_.chunked();
  if (!dispatch()) return http::ParserAction::Continue;
  return http::ParserAction::Continue;
}

bool DownstreamConnection::dispatch() {
  snapshot_ = worker_.acquireSnapshot();
  const std::string& target = parser_.target();
  std::string_view host;
  std::string_view rest = target;
  if (rest.starts_with("http://") || rest.starts_with("https://")) {
    // absolute-form: the authority in the target is the host (RFC 9112 §3.2.2).
    rest.remove_prefix(rest[4] == 's' ? 8 : 7);
    size_t slash = rest.find_first_of("/?");
    host = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  } else {
    const std::string* h = parser_.headers().get("host");
    if (h) host = *h;
    else if (!clientHttp10_) {
      closeAfterResponse_ = true;
      localReply(400, "bad request: missing host header");
      return false;
    }
  }
  size_t q = rest.find('?');
  path_ = rest.substr(0, q);
  query_ = q == std::string_view::npos ? std::string_view() : rest.substr(q);
  if (path_.empty() || path_[0] != '/') {
    if (!(parser_.method() == "OPTIONS" && path_ == "*")) {
      closeAfterResponse_ = true;
      localReply(400, "bad request: invalid request target");
      return false;
    }
  }

  int li = listener_->listenerIndex();
  if (li < 0 || !snapshot_->snapshot) {
    localReply(404, "route not found");
    return false;
  }
  const gateway::Snapshot& snap = *snapshot_->snapshot;
  const router::RouteTable& table = snap.listeners[li].routes;
  const router::VirtualHost* vhost = table.findVirtualHost(host);
  if (!vhost) {
    localReply(404, "route not found");
    return false;
  }
  router::RequestView request{path_, query_.empty() ? query_ : query_.substr(1), parser_.method(),
                              &parser_.headers()};
  auto match = router::RouteTable::matchRoute(*vhost, request);
  if (!match.route) {
    localReply(404, "route not found");
    return false;
  }
  route_ = match.route;
  matchedLength_ = match.matchedLength;
  uint32_t ci = route_->clusterIndex;
  cluster_ = snap.clusters[ci].get();
  const auto& pools = snapshot_->pools[ci];
  if (pools.empty()) {
    localReply(503, "no healthy upstream");
    return false;
  }
  hostPool_ = pools[snapshot_->cursors[ci]++ % pools.size()];

  const std::string* expect = parser_.headers().get("expect");
  if (expect && !clientHttp10_ && http::equalsIgnoreCase(*expect, "100-continue")) {
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    flush();
    if (closed_) return false;
  }
  return connectUpstream(false);
}

bool DownstreamConnection::connectUpstream(bool fresh) {
  auto conn = hostPool_->acquire(cluster_->connectTimeoutMs, fresh);
  if (!conn.ok()) {
    LOG_WARN("upstream %s (%s): %s", cluster_->name.c_str(), hostPool_->key().c_str(),
             conn.error().c_str());
    localReply(502, "upstream connect error");
    return false;
  }
  upstream_ = *conn;
  upstreamReused_ = upstream_->reused();
  upstream_->attach(this, isHead_);
  encodeRequestHead();
  return true;  // sent by flushUpstream() once the bytes read so far are parsed
}

void DownstreamConnection::encodeRequestHead() {
  Buffer& out = upstream_->output();
  out.append(parser_.method());
  out.append(' ');
  if (route_->hasPrefixRewrite) {
    std::string_view rewritten = route_->prefixRewrite;
    std::string_view remainder = path_.substr(matchedLength_);
    // "/api" + "/pets" but never "//" or an empty path.
    if (!rewritten.empty() && rewritten.back() == '/' && !remainder.empty() && remainder[0] == '/')
      rewritten.remove_suffix(1);
    if (rewritten.empty() && (remainder.empty() || remainder[0] != '/')) out.append('/');
    out.append(rewritten);
    out.append(remainder);
  } else {
    out.append(path_);
  }
  out.append(query_);
  out.append(" HTTP/1.1\r\n");

  const http::HeaderMap& headers = parser_.headers();
  http::ConnectionTokens connection(headers.get("connection"));
  const std::string* xff = nullptr;
  bool hasRequestId = false, hasHost = false;
  for (const http::HeaderEntry& h : headers) {
    if (isHopByHop(h.name)) {
      if (h.name == "te" && http::equalsIgnoreCase(h.value, "trailers")) appendHeader(out, h.name, h.value);
      continue;
    }
    if (!connection.empty() && connection.contains(h.name)) continue;
    if (h.name == "x-forwarded-for") {
      xff = &h.value;
      continue;
    }
    if (h.name == "x-request-id") hasRequestId = true;
    if (h.name == "host") hasHost = true;
    appendHeader(out, h.name, h.value);
  }
  if (!hasHost) appendHeader(out, "host", hostPool_->key());
  out.append("x-forwarded-for: ");
  if (xff && !xff->empty()) {
    out.append(*xff);
    out.append(", ");
  }
  out.append(peerIp_);
  out.append("\r\nx-forwarded-proto: http\r\n");
  if (!hasRequestId) {
    char id[36];
    worker_.newRequestId(id);
    out.append("x-request-id: ");
    out.append(id, sizeof(id));
    out.append("\r\n");
  }
  if (requestChunked_) {
    out.append("transfer-encoding: chunked\r\n");
  } else if (parser_.hasContentLength()) {
    out.append("content-length: ");
    out.appendDecimal(parser_.contentLength());
    out.append("\r\n");
  }
  out.append("\r\n");
}

http::ParserAction DownstreamConnection::onBody(const char* data, size_t len) {
  if (discardBody_) return http::ParserAction::Continue;
  requestBodyBytes_ += len;
  uint64_t maxBody = worker_.settings().maxRequestBodyBytes;
  if (maxBody && requestBodyBytes_ > maxBody) {
    closeAfterResponse_ = true;
    if (responseStarted_) close();
    else localReply(413, "request body too large");
    return http::ParserAction::Continue;
  }
  if (!upstream_) return http::ParserAction::Continue;
  Buffer& out = upstream_->output();
  if (requestChunked_) {
    out.appendHex(len);
    out.append("\r\n");
    out.append(data, len);
    out.append("\r\n");
  } else {
    out.append(data, len);
  }
  if (out.size() >= kFlushNowBytes) upstream_->flush();
  if (upstream_ && upstream_->pendingOutput() > worker_.settings().highWatermark) readPaused_ = true;
  return http::ParserAction::Continue;
}

http::ParserAction DownstreamConnection::onMessageComplete() {
  requestComplete_ = true;
  if (responseComplete_) {
    finishStream();
    return http::ParserAction::Pause;
  }
  if (upstream_) {
    if (requestChunked_) upstream_->output().append("0\r\n\r\n");
    if (route_ && route_->timeoutMs > 0) routeTimer_.arm(route_->timeoutMs);
  }
  return http::ParserAction::Pause;
}

// ---- response side --------------------------------------------------------------------------------

http::ParserAction DownstreamConnection::onUpstreamHeaders(const http::H1Parser& response) {
  responseStarted_ = true;
  int status = response.statusCode();
  out_.append("HTTP/1.1 ");
  out_.appendDecimal(static_cast<unsigned>(status));
  out_.append(' ');
  out_.append(http::reasonPhrase(status));
  out_.append("\r\n");
  bool noBody = isHead_ || status == 204 || status == 304;
  const http::HeaderMap& headers = response.headers();
  http::ConnectionTokens connection(headers.get("connection"));
  for (const http::HeaderEntry& h : headers) {
    if (isHopByHop(h.name)) {
      if (noBody && h.name == "content-length") appendHeader(out_, h.name, h.value);
      continue;
    }
    if (!connection.empty() && connection.contains(h.name)) continue;
    appendHeader(out_, h.name, h.value);
  }
  if (!noBody) {
    if (response.hasContentLength()) {
      out_.append("content-length: ");
      out_.appendDecimal(response.contentLength());
      out_.append("\r\n");
    } else if (clientHttp10_) {
      responseUntilClose_ = true;
      closeAfterResponse_ = true;
    } else {
      responseChunked_ = true;
      out_.append("transfer-encoding: chunked\r\n");
    }
  }
  if (closeAfterResponse_ || draining_) out_.append("connection: close\r\n");
  else if (clientHttp10_) out_.append("connection: keep-alive\r\n");
  out_.append("\r\n");
  scheduleFlush();  // head and body go out in one send after this batch of upstream bytes
  return http::ParserAction::Continue;
}

void DownstreamConnection::onUpstreamBody(const char* data, size_t len) {
  if (responseChunked_) {
    out_.appendHex(len);
    out_.append("\r\n");
    out_.append(data, len);
    out_.append("\r\n");
  } else {
    out_.append(data, len);
  }
  if (out_.size() >= kFlushNowBytes) flush();
  else scheduleFlush();
  if (upstream_ && out_.size() > worker_.settings().highWatermark) upstream_->pauseReading();
}

void DownstreamConnection::onUpstreamComplete(UpstreamConnection& conn, bool reusable) {
  upstream_ = nullptr;
  routeTimer_.cancel();
  if (responseChunked_) out_.append("0\r\n\r\n");
  if (requestComplete_) {
    if (reusable) hostPool_->release(&conn);
  } else {
    // The upstream answered before taking the whole body: it can't be reused; the rest of the
    // client's body is read and dropped so that the connection stays in sync.
    if (reusable) conn.abort();
    discardBody_ = true;
    readPaused_ = false;
  }
  responseComplete_ = true;
  if (responseUntilClose_) closeAfterResponse_ = true;
  if (requestComplete_) finishStream();
  scheduleFlush();
}

void DownstreamConnection::onUpstreamFailure(UpstreamFailure failure, bool responseStarted) {
  upstream_ = nullptr;
  if (responseStarted) {
    LOG_DEBUG("upstream %s: %s mid-response", hostPool_->key().c_str(), toString(failure));
    close();  // the client sees the connection end before the response does
    return;
  }
  bool bodyless = !requestChunked_ && parser_.contentLength() == 0;
  if (upstreamReused_ && !retried_ && bodyless &&
      (failure == UpstreamFailure::Reset || failure == UpstreamFailure::Closed)) {
    // A pooled connection the upstream closed while we picked it: safe to resend once.
    retried_ = true;
    if (connectUpstream(true) && upstream_) upstream_->flush();
    return;
  }
  LOG_DEBUG("upstream %s (%s): %s", cluster_->name.c_str(), hostPool_->key().c_str(),
            toString(failure));
  if (failure == UpstreamFailure::ConnectTimeout) localReply(504, "upstream connect timeout");
  else if (failure == UpstreamFailure::ConnectFailed) localReply(502, "upstream connect error");
  else if (failure == UpstreamFailure::Protocol) localReply(502, "upstream sent an invalid response");
  else localReply(502, "upstream reset before response");
}

void DownstreamConnection::onUpstreamDrained() {
  if (readPaused_) {
    readPaused_ = false;
    worker_.loop().schedule(this);
  }
}

void DownstreamConnection::onRouteTimeout() {
  if (responseStarted_) {
    close();
    return;
  }
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  localReply(504, "upstream request timeout");
}

// ---- completion -----------------------------------------------------------------------------------

void DownstreamConnection::localReply(int status, std::string_view body) {
  routeTimer_.cancel();
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  responseStarted_ = responseComplete_ = true;
  if (!requestComplete_) discardBody_ = true;
  http::writeLocalReply(out_, status, body, closeAfterResponse_ || draining_, {}, isHead_);
  if (requestComplete_) finishStream();
  flush();
}

void DownstreamConnection::finishStream() {
  inRequest_ = false;
  route_ = nullptr;
  cluster_ = nullptr;
  hostPool_ = nullptr;
  isHead_ = false;
  if (snapshot_) {
    worker_.releaseSnapshot(snapshot_);
    snapshot_ = nullptr;
  }
  lastActivity_ = worker_.loop().now();
  if (closeAfterResponse_ || draining_) {
    closeAfterFlush_ = true;
    return;  // the caller flushes; flush() closes once everything is written
  }
  parser_.resume();
  if (!pendingIn_.empty() || !peerClosed_) worker_.loop().schedule(this);
}

void DownstreamConnection::flush() {
  while (!out_.empty()) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.consume(static_cast<size_t>(n));
      lastActivity_ = worker_.loop().now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close();
    return;
  }
  if (out_.empty()) {
    if (closeAfterFlush_ && !inRequest_) {
      closeGracefully();
      return;
    }
    if (!inRequest_) out_.shrinkTo(16 << 10);
  }
  if (upstream_ && out_.size() <= worker_.settings().lowWatermark) upstream_->resumeReading();
}

void DownstreamConnection::beginDrain() {
  draining_ = true;
  if (!inRequest_ && !parser_.inMessage() && out_.empty() && pendingIn_.empty()) {
    close();
    return;
  }
  closeAfterResponse_ = true;
}

void DownstreamConnection::closeGracefully() {
  if (closed_ || lingering_) return;
  // Shut the write side and read until the peer closes (briefly), so that unread request bytes
  // don't make the kernel reset the connection before the client read our answer.
  ::shutdown(fd_, SHUT_WR);
  lingering_ = true;
  pendingIn_.clear();
  idleTimer_.arm(kLingerMs);
  drainLingering();
}

void DownstreamConnection::drainLingering() {
  while (!closed_) {
    ssize_t n = ::recv(fd_, worker_.scratch(), worker_.scratchSize(), 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close();
  }
}

void DownstreamConnection::onIdleTimer() {
  if (closed_) return;
  if (lingering_) {
    close();
    return;
  }
  MonoMs idle = worker_.settings().idleTimeoutMs;
  MonoMs elapsed = worker_.loop().now() - lastActivity_;
  bool waitingForUpstream = inRequest_ && requestComplete_ && !responseComplete_;
  if (waitingForUpstream || elapsed < idle) {
    idleTimer_.arm(waitingForUpstream ? idle : idle - elapsed);
    return;
  }
  if (!inRequest_ && parser_.inMessage() && out_.empty()) {
    // A request head that never finished: tell the client why before closing.
    closeAfterResponse_ = true;
    inRequest_ = true;
    requestComplete_ = true;
    localReply(408, "request timeout");
    return;
  }
  close();
}

void DownstreamConnection::close() {
  if (closed_) return;
  closed_ = true;
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  if (snapshot_) {
    worker_.releaseSnapshot(snapshot_);
    snapshot_ = nullptr;
  }
  idleTimer_.cancel();
  routeTimer_.cancel();
  worker_.loop().remove(fd_);
  ::close(fd_);
  fd_ = -1;
  worker_.removeConnection(this);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
