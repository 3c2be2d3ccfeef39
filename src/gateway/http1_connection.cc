#include "gateway/http1_connection.h"

#include <algorithm>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/client_io.h"
#include "gateway/host_pool.h"
#include "gateway/http2_connection.h"
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
  auto* c = new Http1Connection(worker, std::move(listener), fd, peer);
  worker.addConnection(c);
  if (tls) {
    c->tls_ = net::TlsTransport::accept(std::move(tls), fd, &worker.loop());
    c->conn_.secure = true;
    if (!c->tls_) {
      // An ssl gateway without certificates (or OpenSSL out of memory): refuse the client.
      LOG_DEBUG("client %s: no TLS session possible", c->conn_.peerIp.c_str());
      c->close();
      return;
    }
    // The handshake counts as part of the first request head (--request-headers-timeout).
    c->headStart_ = worker.loop().now();
  }
  if (!worker.loop().add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, c, /*stream=*/true).ok()) {
    c->close();
    return;
  }
  if (worker.draining()) c->beginDrain();
}

Http1Connection::Http1Connection(Worker& worker,
                                           std::shared_ptr<ListenerHandler> listener, int fd,
                                           const net::Address& peer)
    : worker_(worker), conn_{std::move(listener), peer.ipString(), peer.port(), false}, fd_(fd),
      parser_(http::H1Parser::Type::Request, *this,
              http::ParserLimits{worker.settings().maxRequestHeaderBytes,
                                 worker.settings().maxRequestHeaders}),
      idleTimer_(worker.loop(), [this] { onIdleTimer(); }),
      exchange_(worker, conn_, *this) {
  lastActivity_ = worker_.loop().now();
  idleTimer_.arm(std::min(worker_.settings().idleTimeoutMs,
                           worker_.settings().requestHeadersTimeoutMs));
  if (worker_.stats()) worker_.stats()->downstream.connectionsOpened.add();
}

Http1Connection::~Http1Connection() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- events ---------------------------------------------------------------------------------------

void Http1Connection::onEvents(uint32_t events) {
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

void Http1Connection::onTlsEvents(uint32_t events) {
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

void Http1Connection::onScheduled() {
  if (flushPending_) {
    flushPending_ = false;
    flush();
  }
  if (!closed_) processInput();
}

void Http1Connection::scheduleFlush() {
  flushPending_ = true;
  worker_.loop().schedule(this);
}

void Http1Connection::processInput() {
  if (lingering_) {
    drainLingering();
    return;
  }
  while (!closed_) {
    if (exchange_.active() && exchange_.requestComplete()) return;  // the next one waits its turn
    if (closeAfterFlush_) {
      // A request answered early (a 400 from its head) ended in the parser's callback, after
      // the answer was flushed: nothing else will flush, so close here.
      if (out_.empty() && !exchange_.active()) closeGracefully();
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
      ssize_t n =
          clientRead(worker_.loop(), fd_, tls_.get(), worker_.scratch(), worker_.scratchSize());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          socketDrained_ = true;
          return;
        }
        if (tls_) LOG_DEBUG("client %s: TLS: %s", conn_.peerIp.c_str(), tls_->lastError().c_str());
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
    if (!protocolChecked_) [[unlikely]] {
      protocolChecked_ = true;
      if (wantsHttp2(std::string_view(data, len))) {
        handOverToHttp2(std::string_view(data, len));
        return;
      }
    }
    if (tunnel_ && exchange_.active() && !parser_.inMessage()) {
      // Tunnel bytes (after a websocket handshake's head) go to the upstream as they are.
      exchange_.onRequestBody(data, len);
      if (closed_) return;
      exchange_.flushUpstream();
      if (closed_) return;
      if (fromPending) pendingIn_.consume(len);
      continue;
    }
    if (!exchange_.active() && !parser_.inMessage()) headStart_ = worker_.loop().now();  // a new head
    auto r = parser_.execute(data, len);
    if (closed_) return;
    // One send upstream for everything this read produced (head, body, chunk terminator).
    exchange_.flushUpstream();
    if (closed_) return;
    if (fromPending) {
      pendingIn_.consume(r.consumed);
    } else if (!r.error && r.consumed < len) {
      if (pendingIn_.capacity() == 0) pendingIn_ = worker_.takeBuffer();
      pendingIn_.append(data + r.consumed, len - r.consumed);
    }
    if (r.error) {
      onParseError();
      return;
    }
    // Paused at the end of a request: go on at once if its answer is already complete.
    if (r.paused && !exchange_.active()) parser_.resume();
  }
}

void Http1Connection::onReadEof() {
  peerClosed_ = true;
  if (!exchange_.active()) {
    // Between requests (or in the middle of a head the client gave up on): nothing to answer.
    closeAfterFlush_ = true;
    flush();
    return;
  }
  if (!exchange_.requestComplete()) {
    close();  // the request body was cut short: the upstream must not see a truncated request
    return;
  }
  closeAfterResponse_ = true;  // half-close after a complete request: answer, then close
}

void Http1Connection::onParseError() {
  int status = 400;
  switch (parser_.error()) {
  case http::ParseError::HeadersTooLarge:
  case http::ParseError::TooManyHeaders: status = 431; break;
  case http::ParseError::UriTooLong: status = 414; break;
  default: break;
  }
  if (exchange_.active() && exchange_.responseStarted()) {
    close();
    return;
  }
  LOG_DEBUG("client %s: %s", conn_.peerIp.c_str(), parser_.errorReason());
  closeAfterResponse_ = true;
  if (status == 431) exchange_.failRequest(status, "request header fields too large");
  else if (status == 414) exchange_.failRequest(status, "request target too long");
  else exchange_.failRequest(status, std::string("bad request: ") + parser_.errorReason());
}

// ---- HTTP/2 ----------------------------------------------------------------------------------------

bool Http1Connection::wantsHttp2(std::string_view first) const {
  if (tls_) return tls_->alpn() == "h2";
  // h2c with prior knowledge (RFC 9113 §3.3): the client preface instead of a request line.
  // Four bytes already rule out every HTTP/1 method ("PRI " is none).
  return first.size() >= 4 && http::H2ServerSession::looksLikePreface(first);
}

void Http1Connection::handOverToHttp2(std::string_view received) {
  // This object steps aside without closing the socket: the HTTP/2 connection owns it now.
  worker_.loop().remove(fd_);
  int fd = fd_;
  fd_ = -1;
  closed_ = true;
  idleTimer_.cancel();
  exchange_.abort();
  worker_.removeConnection(this);
  Http2Connection::create(worker_, std::move(conn_), fd, std::move(tls_), received);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

// ---- request head -------------------------------------------------------------------------------

http::ParserAction Http1Connection::onHeadersComplete() {
  RequestHead head;
  head.method = parser_.method();
  head.target = parser_.target();
  head.http10 = parser_.versionMinor() == 0;
  head.protocol = head.http10 ? "HTTP/1.0" : "HTTP/1.1";
  head.headers = &parser_.headers();
  head.isHead = parser_.isHead();
  head.hasContentLength = parser_.hasContentLength();
  head.contentLength = parser_.contentLength();
  head.bodyLengthUnknown = parser_.chunked();
  clientHttp10_ = head.http10;
  responseChunked_ = responseUntilClose_ = false;
  tunnel_ = false;
  if (parser_.upgrade() && head.method == "GET" && !head.http10 && !head.hasContentLength &&
      !head.bodyLengthUnknown) {
    // A websocket handshake: a tunnel once the upstream agrees (101). Other upgrades (h2c,
    // TLS/1.0, ...) are ignored as RFC 9110 §7.8 allows: the request is served as HTTP/1.1.
    const std::string* up = parser_.headers().get("upgrade");
    if (up && http::listContainsToken(*up, "websocket")) {
      head.upgrade = *up;
      tunnel_ = true;
      closeAfterResponse_ = true;  // the tunnel, or its refusal, is the connection's last exchange
    }
  }
  if (!parser_.keepAlive() || draining_) closeAfterResponse_ = true;
  lastActivity_ = worker_.loop().now();
  exchange_.begin(head);

  if (parser_.versionMajor() != 1) {
    closeAfterResponse_ = true;
    exchange_.localReply(505, "http version not supported");
    return http::ParserAction::Continue;
  }
  if (head.method == "CONNECT") {
    closeAfterResponse_ = true;
    exchange_.localReply(501, "CONNECT is not supported");
    return http::ParserAction::Continue;
  }
  uint64_t maxBody = worker_.settings().maxRequestBodyBytes;
  if (maxBody && head.hasContentLength && head.contentLength > maxBody) {
    closeAfterResponse_ = true;
    exchange_.localReply(413, "request body too large");
    return http::ParserAction::Continue;
  }
  if (head.bodyLengthUnknown && head.http10) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is a framing fault.
    closeAfterResponse_ = true;
    exchange_.localReply(400, "bad request: transfer-encoding in an HTTP/1.0 request");
    return http::ParserAction::Continue;
  }
  routeRequest();
  return http::ParserAction::Continue;
}

void Http1Connection::routeRequest() {
  std::string_view rest = parser_.target();
  const std::string* hostHeader = nullptr;
  for (const http::HeaderEntry& h : parser_.headers()) {
    if (h.name != "host") continue;
    if (hostHeader) {
      // RFC 9112 §3.2: more than one Host is a 400 (two readers could pick different ones).
      closeAfterResponse_ = true;
      exchange_.localReply(400, "bad request: more than one host header");
      return;
    }
    hostHeader = &h.value;
  }
  std::string_view host = hostHeader ? std::string_view(*hostHeader) : std::string_view();
  if (rest.starts_with("http://") || rest.starts_with("https://")) {
    // absolute-form: the authority in the target is the host (RFC 9112 §3.2.2). A Host header
    // naming another host is refused: a peer that routes on Host would see another request.
    rest.remove_prefix(rest[4] == 's' ? 8 : 7);
    size_t slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    if (hostHeader && !http::equalsIgnoreCase(authority, *hostHeader)) {
      closeAfterResponse_ = true;
      exchange_.localReply(400, "bad request: host header conflicts with the request target");
      return;
    }
    host = authority;
    rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  } else if (!hostHeader && !clientHttp10_) {
    closeAfterResponse_ = true;
    exchange_.localReply(400, "bad request: missing host header");
    return;
  }
  size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q);
  if ((path.empty() || path[0] != '/') && !(parser_.method() == "OPTIONS" && path == "*")) {
    closeAfterResponse_ = true;
    exchange_.localReply(400, "bad request: invalid request target");
    return;
  }
  exchange_.route(host, path, query);
}

http::ParserAction Http1Connection::onBody(const char* data, size_t len) {
  exchange_.onRequestBody(data, len);
  return http::ParserAction::Continue;
}

http::ParserAction Http1Connection::onMessageComplete() {
  // A websocket handshake has no body; what follows it belongs to the tunnel, whose end is
  // the connection's.
  if (tunnel_) return http::ParserAction::Continue;
  exchange_.onRequestComplete();
  return http::ParserAction::Pause;  // the next pipelined request waits for this answer
}

// ---- DownstreamStream -------------------------------------------------------------------------

Buffer& Http1Connection::beginResponseHead(int status) {
  if (out_.capacity() == 0) out_ = worker_.takeBuffer();
  out_.append("HTTP/1.1 ");
  out_.appendDecimal(static_cast<unsigned>(status));
  out_.append(' ');
  out_.append(http::reasonPhrase(status));
  out_.append("\r\n");
  return out_;
}

void Http1Connection::endResponseHead(const ResponseFraming& framing) {
  if (framing.upgraded) {
    // 101: the exchange wrote Upgrade; no framing, the tunnel's bytes follow.
    out_.append("connection: upgrade\r\n\r\n");
    return;
  }
  if (!framing.noBody) {
    if (framing.hasLength) {
      out_.append("content-length: ");
      out_.appendDecimal(framing.length);
      out_.append("\r\n");
    } else if (clientHttp10_) {
      responseUntilClose_ = true;  // an HTTP/1.0 client knows no chunking: the close ends it
      closeAfterResponse_ = true;
    } else {
      responseChunked_ = true;
      out_.append("transfer-encoding: chunked\r\n");
    }
  }
  if (closeAfterResponse_ || draining_) out_.append("connection: close\r\n");
  else if (clientHttp10_) out_.append("connection: keep-alive\r\n");
  out_.append("\r\n");
}

void Http1Connection::encodeData(const char* data, size_t len) {
  appendBodyBytes(out_, responseChunked_, data, len);
}

void Http1Connection::encodeTrailers(const http::HeaderMap& trailers) {
  if (!responseChunked_) return;  // a length-delimited or close-delimited body has no trailers
  appendLastChunk(out_, trailers);
  responseChunked_ = false;  // the last chunk is written
}

void Http1Connection::encodeEnd() {
  if (responseChunked_) out_.append("0\r\n\r\n");
  if (responseUntilClose_) closeAfterResponse_ = true;
}

void Http1Connection::encodeContinue() {
  if (out_.capacity() == 0) out_ = worker_.takeBuffer();
  out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  flush();
}

void Http1Connection::flush(bool now) {
  if (now) flush();
  else scheduleFlush();
}

void Http1Connection::resumeRequestBody() {
  if (!readPaused_) return;
  readPaused_ = false;
  if (!closed_) worker_.loop().schedule(this);
}

void Http1Connection::onExchangeComplete() {
  lastActivity_ = worker_.loop().now();
  if (closeAfterResponse_ || draining_) {
    closeAfterFlush_ = true;
    return;  // the caller flushes; flush() closes once everything is written
  }
  parser_.resume();
  if (!pendingIn_.empty() || !peerClosed_) worker_.loop().schedule(this);
}

void Http1Connection::flush() {
  bool wrote = false;
  bool ok = writeOut(worker_.loop(), fd_, tls_.get(), out_, wrote);
  if (wrote) lastActivity_ = worker_.loop().now();
  if (!ok) {
    close();
    return;
  }
  if (out_.empty()) {
    if (closeAfterFlush_ && !exchange_.active()) {
      closeGracefully();
      return;
    }
    if (!exchange_.active()) {
      // Idle until the next request: the buffers go back to the worker (an idle keep-alive
      // connection then holds none).
      if (out_.capacity()) worker_.giveBuffer(out_);
      if (pendingIn_.empty() && pendingIn_.capacity()) worker_.giveBuffer(pendingIn_);
    }
  }
  exchange_.onDownstreamDrained();
}

void Http1Connection::beginDrain() {
  draining_ = true;
  if (!exchange_.active() && !parser_.inMessage() && out_.empty() && pendingIn_.empty()) {
    close();
    return;
  }
  closeAfterResponse_ = true;
}

void Http1Connection::closeGracefully() {
  if (closed_ || lingering_) return;
  // Shut the write side and read until the peer closes (briefly), so that unread request bytes
  // don't make the kernel reset the connection before the client read our answer.
  if (tls_) tls_->shutdown();
  worker_.loop().shutdownWrite(fd_);
  lingering_ = true;
  pendingIn_.clear();
  idleTimer_.arm(kLingerMs);
  drainLingering();
}

void Http1Connection::drainLingering() {
  while (!closed_) {
    ssize_t n = worker_.loop().recv(fd_, worker_.scratch(), worker_.scratchSize());
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close();
  }
}

void Http1Connection::onIdleTimer() {
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
  bool inHead = (!exchange_.active() && parser_.inMessage()) || handshaking;
  if (handshaking && now - headStart_ >= s.requestHeadersTimeoutMs) {
    LOG_DEBUG("client %s: TLS handshake not complete within the request headers timeout",
              conn_.peerIp.c_str());
    close();  // nothing can be answered before the handshake
    return;
  }
  if (inHead && now - headStart_ >= s.requestHeadersTimeoutMs && out_.empty()) {
    // Tell the client why before closing.
    closeAfterResponse_ = true;
    exchange_.failRequest(408, "request timeout");
    return;
  }
  MonoMs elapsed = now - lastActivity_;
  // Waiting on the upstream is not idleness; waiting on a client that does not take the bytes
  // already queued for it (a slow reader: out_ stays full, no write progress) is.
  bool waitingForUpstream = exchange_.active() && exchange_.requestComplete() &&
                            !exchange_.responseComplete() && out_.empty();
  if (!waitingForUpstream && elapsed >= s.idleTimeoutMs) {
    close();
    return;
  }
  MonoMs next = waitingForUpstream ? s.idleTimeoutMs : s.idleTimeoutMs - elapsed;
  if (inHead) next = std::min(next, headStart_ + s.requestHeadersTimeoutMs - now);
  idleTimer_.arm(std::max<MonoMs>(next, 1));
}

void Http1Connection::close() {
  if (closed_) return;
  closed_ = true;
  exchange_.abort();
  idleTimer_.cancel();
  if (out_.capacity()) worker_.giveBuffer(out_);  // a new connection reuses them
  if (pendingIn_.capacity()) worker_.giveBuffer(pendingIn_);
  if (worker_.stats()) worker_.stats()->downstream.connectionsClosed.add();
  tls_.reset();
  worker_.loop().close(fd_);
  fd_ = -1;
  worker_.removeConnection(this);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
