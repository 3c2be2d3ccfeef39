#include "gateway/downstream_connection.h"

#include <algorithm>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "gateway/transform_state.h"
#include "gateway/proxy_headers.h"
#include "gateway/route_actions.h"
#include "gateway/worker.h"
#include "http/local_reply.h"

namespace portico::gateway {

namespace {

constexpr int64_t kLingerMs = 2000;

}  // namespace

void DownstreamConnection::create(Worker& worker, std::shared_ptr<ListenerHandler> listener,
                                  int fd, const net::Address& peer,
                                  net::TlsServerConfigConstSharedPtr tls) {
  auto* c = new DownstreamConnection(worker, std::move(listener), fd, peer);
  worker.addConnection(c);
  if (tls) {
    c->tls_ = net::TlsTransport::accept(std::move(tls), fd);
    if (!c->tls_) {
      // An ssl gateway without certificates (or OpenSSL out of memory): refuse the client.
      LOG_DEBUG("client %s: no TLS session possible", c->peerIp_.c_str());
      c->close();
      return;
    }
    // The handshake counts as part of the first request head (--request-headers-timeout).
    c->headStart_ = worker.loop().now();
  }
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
              http::ParserLimits{worker.settings().maxRequestHeaderBytes,
                                 worker.settings().maxRequestHeaders}),
      idleTimer_(worker.loop(), [this] { onIdleTimer(); }),
      routeTimer_(worker.loop(), [this] { onRouteTimeout(); }),
      perTryTimer_(worker.loop(), [this] { onPerTryTimeout(); }),
      retryTimer_(worker.loop(), [this] { onRetryTimer(); }),
      delayTimer_(worker.loop(), [this] { onDelayDone(); }) {
  lastActivity_ = worker_.loop().now();
  idleTimer_.arm(std::min(worker_.settings().idleTimeoutMs,
                           worker_.settings().requestHeadersTimeoutMs));
  if (worker_.stats()) worker_.stats()->downstream.connectionsOpened.add();
  peerPort_ = peer.port();
}

DownstreamConnection::~DownstreamConnection() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- events ---------------------------------------------------------------------------------------

void DownstreamConnection::onEvents(uint32_t events) {
  if (closed_) return;
  if (tls_) [[unlikely]] {
    onTlsEvents(events);
    return;
  }
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

void DownstreamConnection::onTlsEvents(uint32_t events) {
  // TLS may need the other direction to progress (a read that must write first, a write that
  // must read first): each edge retries what waits on it.
  if ((events & EPOLLOUT) || ((events & EPOLLIN) && tls_->writeWantsRead())) {
    flush();
    if (closed_) return;
  }
  if (events & (EPOLLHUP | EPOLLERR)) {
    close();
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP)) || tls_->readWantsWrite()) {
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
    if (closeAfterFlush_) {
      // A request answered early (a 400 from its head) ended in the parser's callback, after
      // the answer was flushed: nothing else will flush, so close here.
      if (out_.empty() && !inRequest_) closeGracefully();
      return;
    }
    if (readPaused_) return;
    const char* data;
    size_t len;
    bool fromPending = !pendingIn_.empty();
    if (fromPending) {
      data = pendingIn_.data();
      len = pendingIn_.size();
    } else {
      if (peerClosed_ || socketDrained_) return;
      ssize_t n = readSome(worker_.scratch(), worker_.scratchSize());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          socketDrained_ = true;
          return;
        }
        if (tls_) LOG_DEBUG("client %s: TLS: %s", peerIp_.c_str(), tls_->lastError().c_str());
        close();
        return;
      }
      // A short read emptied the socket: the next bytes bring a new edge, so skip the recv that
      // would only say EAGAIN (one syscall per request saved). Not after a FIN: read to EOF.
      // Not with TLS either: a read returns one record while more may wait in the socket.
      if (static_cast<size_t>(n) < worker_.scratchSize() && !peerFinSeen_ && !tls_)
        socketDrained_ = true;
      if (n == 0) {
        onReadEof();
        return;
      }
      lastActivity_ = worker_.loop().now();
      data = worker_.scratch();
      len = static_cast<size_t>(n);
    }
    if (!inRequest_ && !parser_.inMessage()) headStart_ = worker_.loop().now();  // a new head
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
  if (!statsOpen_) beginRequestStats();
  localReply(status, body);
}

// ---- completion -----------------------------------------------------------------------------------

void DownstreamConnection::localReply(int status, std::string_view body) {
  std::string text(body);
  text.push_back('\n');
  respond(status, {}, text);
}

void DownstreamConnection::respond(int status, std::string_view extraHeaders,
                                   std::string_view body) {
  routeTimer_.cancel();
  perTryTimer_.cancel();
  retryTimer_.cancel();
  delayTimer_.cancel();
  if (upstream_) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  responseStarted_ = responseComplete_ = true;
  responseStatus_ = status;
  if (!isHead_) responseBodyBytes_ += body.size();
  if (!requestComplete_) discardBody_ = true;
  Buffer headers;
  headers.append(extraHeaders);
  if (!corsOrigin_.empty() && route_ && route_->cors && extraHeaders.empty())
    appendCorsResponseHeaders(headers, *route_->cors, corsOrigin_);
  http::writeResponse(out_, status, "text/plain", body, closeAfterResponse_ || draining_,
                      isHead_, headers.view());
  if (requestComplete_) finishStream();
  flush();
}

void DownstreamConnection::finishStream() {
  endRequestStats();
  releaseSlots();
  inRequest_ = false;
  perTryTimer_.cancel();
  retryTimer_.cancel();
  delayTimer_.cancel();
  replayBody_.shrinkTo(0);
  requestId_[0] = 0;
  corsOrigin_ = {};
  route_ = nullptr;
  xformConfig_ = nullptr;
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
    ssize_t n = writeSome(out_.data(), out_.size());
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
  if (tls_) tls_->shutdown();
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
  // One lazy timer serves two limits: idleness (reset by any byte, so it is never re-armed per
  // request) and the time a request head may take in all (slowloris: a byte now and then keeps
  // a connection active but never completes the head).
  const WorkerSettings& s = worker_.settings();
  MonoMs now = worker_.loop().now();
  bool handshaking = tls_ && !tls_->established();
  bool inHead = (!inRequest_ && parser_.inMessage()) || handshaking;
  if (handshaking && now - headStart_ >= s.requestHeadersTimeoutMs) {
    LOG_DEBUG("client %s: TLS handshake not complete within the request headers timeout",
              peerIp_.c_str());
    close();  // nothing can be answered before the handshake
    return;
  }
  if (inHead && now - headStart_ >= s.requestHeadersTimeoutMs && out_.empty()) {
    // Tell the client why before closing.
    closeAfterResponse_ = true;
    inRequest_ = true;
    requestComplete_ = true;
    beginRequestStats();
    localReply(408, "request timeout");
    return;
  }
  MonoMs elapsed = now - lastActivity_;
  // Waiting on the upstream is not idleness; waiting on a client that does not take the bytes
  // already queued for it (a slow reader: out_ stays full, no write progress) is.
  bool waitingForUpstream = inRequest_ && requestComplete_ && !responseComplete_ && out_.empty();
  if (!waitingForUpstream && elapsed >= s.idleTimeoutMs) {
    close();
    return;
  }
  MonoMs next = waitingForUpstream ? s.idleTimeoutMs : s.idleTimeoutMs - elapsed;
  if (inHead) next = std::min(next, headStart_ + s.requestHeadersTimeoutMs - now);
  idleTimer_.arm(std::max<MonoMs>(next, 1));
}

void DownstreamConnection::close() {
  if (closed_) return;
  closed_ = true;
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
  idleTimer_.cancel();
  routeTimer_.cancel();
  perTryTimer_.cancel();
  retryTimer_.cancel();
  delayTimer_.cancel();
  worker_.loop().remove(fd_);
  if (worker_.stats()) worker_.stats()->downstream.connectionsClosed.add();
  tls_.reset();
  ::close(fd_);
  fd_ = -1;
  worker_.removeConnection(this);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
