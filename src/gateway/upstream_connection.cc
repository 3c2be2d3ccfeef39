#include "gateway/upstream_connection.h"

#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/client_io.h"
#include "gateway/host_pool.h"
#include "gateway/proxy_headers.h"
#include "gateway/upstream_connect.h"
#include "gateway/worker.h"
#include "observability/stats.h"
#include "upstream/circuit_breaker.h"
#include "upstream/cluster.h"

namespace portico::gateway {

namespace {
constexpr size_t kIdleBufferBytes = 4096;
}  // namespace

const char* toString(UpstreamFailure f) {
  switch (f) {
  case UpstreamFailure::ConnectFailed: return "connection failure";
  case UpstreamFailure::ConnectTimeout: return "connection timeout";
  case UpstreamFailure::Reset: return "connection reset";
  case UpstreamFailure::Closed: return "connection closed before the response completed";
  case UpstreamFailure::Protocol: return "protocol error";
  case UpstreamFailure::Refused: return "stream refused";
  }
  return "?";
}

UpstreamConnection::UpstreamConnection(Worker& worker, HostPool& pool, int fd,
                                       const upstream::Cluster& cluster,
                                       std::shared_ptr<upstream::ClusterBreakers> breakers,
                                       observability::UpstreamStats* stats,
                                       std::unique_ptr<net::TlsTransport> tls)
    : worker_(worker), pool_(pool), fd_(fd), tls_(std::move(tls)),
      parser_(http::H1Parser::Type::Response, *this),
      timer_(worker.loop(), [this] {
        if (!connected_) {
          fail(UpstreamFailure::ConnectTimeout);
        } else if (pooled_) {
          abort();  // idle too long in the pool
        }
      }),
      breakers_(std::move(breakers)), stats_(stats),
      highWatermark_(cluster.perConnectionBufferLimitBytes ? cluster.perConnectionBufferLimitBytes
                                                           : worker.settings().highWatermark),
      lowWatermark_(cluster.perConnectionBufferLimitBytes ? cluster.perConnectionBufferLimitBytes / 4
                                                          : worker.settings().lowWatermark),
      maxExchanges_(cluster.maxRequestsPerConnection) {
  worker_.loop().add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  timer_.arm(cluster.connectTimeoutMs);
  if (stats_) stats_->connectionsOpened.add();
}

UpstreamConnection::~UpstreamConnection() { closeSocket(); }

void UpstreamConnection::closeSocket() {
  if (tls_) [[unlikely]] {
    tls_->shutdown();  // close_notify when established; frees the session now
    tls_.reset();
  }
  if (fd_ >= 0) {
    worker_.loop().close(fd_);
    fd_ = -1;
  }
}

void UpstreamConnection::attach(UpstreamCallbacks* callbacks, bool headRequest, bool upgrade) {
  callbacks_ = callbacks;
  headRequest_ = headRequest;
  upgrade_ = upgrade;
  responseStarted_ = false;
  messageDone_ = false;
  readPaused_ = false;
  aboveHighWatermark_ = false;
  if (connected_) timer_.cancel();
}

Buffer& UpstreamConnection::beginRequestHead(std::string_view method) {
  out_.append(method);
  out_.append(' ');
  return out_;
}

Buffer& UpstreamConnection::headerLines() {
  out_.append(" HTTP/1.1\r\n");
  return out_;
}

void UpstreamConnection::endRequestHead(const RequestFraming& framing) {
  requestChunked_ = framing.chunked;
  if (framing.chunked) {
    out_.append("transfer-encoding: chunked\r\n");
  } else if (framing.hasLength) {
    out_.append("content-length: ");
    out_.appendDecimal(framing.length);
    out_.append("\r\n");
  }
  out_.append("\r\n");
}

void UpstreamConnection::encodeBody(const char* data, size_t len) {
  if (len == 0) return;  // an empty chunk would end a chunked body
  appendBodyBytes(out_, requestChunked_, data, len);
}

void UpstreamConnection::encodeTrailers(const http::HeaderMap& trailers) {
  if (!requestChunked_) return;  // a length-delimited body has no place for them
  appendLastChunk(out_, trailers);
  requestChunked_ = false;  // the last chunk is written
}

void UpstreamConnection::encodeEnd() {
  if (requestChunked_) out_.append("0\r\n\r\n");
}

void UpstreamConnection::release() { pool_.release(this); }

void UpstreamConnection::setIdle(bool idle) {
  if (stats_ && idle != pooled_) (idle ? stats_->idleEntered : stats_->idleLeft).add();
  pooled_ = idle;
  if (idle) {
    timer_.arm(worker_.settings().upstreamIdleTimeoutMs);
    // Give back memory from a large exchange, but keep a small buffer: freeing it every time
    // would cost a malloc per request.
    out_.shrinkTo(kIdleBufferBytes);
    pendingIn_.shrinkTo(kIdleBufferBytes);
  } else {
    timer_.cancel();
  }
}

void UpstreamConnection::abort() {
  if (closed_) return;
  closed_ = true;
  callbacks_ = nullptr;
  timer_.cancel();
  closeSocket();
  if (breakers_) breakers_->perWorker[worker_.index()]->releaseConnection();
  if (stats_) stats_->connectionsClosed.add();
  pool_.forget(this);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

void UpstreamConnection::fail(UpstreamFailure failure) {
  if (closed_) return;
  UpstreamCallbacks* cb = callbacks_;
  bool started = responseStarted_;
  abort();
  if (cb) cb->onUpstreamFailure(failure, started);
}

void UpstreamConnection::onEvents(uint32_t events) {
  if (closed_) return;
  if (!connected_) {
    switch (advanceConnect(worker_.loop(), this, fd_, tls_.get(), events, handshaking_, pool_)) {
    case ConnectStep::Pending: return;
    case ConnectStep::Failed: fail(UpstreamFailure::ConnectFailed); return;
    case ConnectStep::Connected: break;
    }
    onConnected();
    if (closed_ || tls_) return;  // TLS: application data comes with the next edge
  } else if ((events & EPOLLOUT) || (tls_ && (events & EPOLLIN) && tls_->writeWantsRead())) {
    // TLS may need the other direction to progress: each edge retries what waits on it.
    flush();
    if (closed_) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || (tls_ && tls_->readWantsWrite())) {
    socketDrained_ = false;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peerFinSeen_ = true;
    readLoop();
  }
}

void UpstreamConnection::onConnected() {
  connected_ = true;
  if (callbacks_) {
    timer_.cancel();
    callbacks_->onUpstreamConnected();
    if (closed_) return;
  }
  flush();
}

void UpstreamConnection::flush() {
  if (closed_) return;
  // While connecting nothing is sent, but the watermark still counts: a body that piles up
  // before the connection is up pauses the client, and only the drain below resumes it.
  while (connected_ && !out_.empty()) {
    ssize_t n = clientWrite(worker_.loop(), fd_, tls_.get(), out_.data(), out_.size());
    if (n > 0) {
      out_.consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail(UpstreamFailure::Reset);
    return;
  }
  if (out_.size() > highWatermark_) {
    aboveHighWatermark_ = true;
  } else if (aboveHighWatermark_ && out_.size() <= lowWatermark_) {
    aboveHighWatermark_ = false;
    if (callbacks_) callbacks_->onUpstreamDrained();
  }
}

void UpstreamConnection::resumeReading() {
  if (!readPaused_ || closed_) return;
  readPaused_ = false;
  readLoop();
}

void UpstreamConnection::parse(const char* data, size_t len) {
  if (tunnel_) {
    callbacks_->onUpstreamBody(data, len);
    return;
  }
  size_t off = 0;
  while (off < len) {
    if (callbacks_ == nullptr) {
      // Bytes while no exchange is in flight: the server is not speaking HTTP/1.1 correctly.
      abort();
      return;
    }
    auto r = parser_.execute(data + off, len - off);
    off += r.consumed;
    if (closed_) return;  // the stream gave up on the exchange inside a callback
    if (r.error) {
      LOG_DEBUG("upstream %s: bad response: %s", pool_.key().c_str(), parser_.errorReason());
      fail(UpstreamFailure::Protocol);
      return;
    }
    if (messageDone_) {
      parser_.resume();
      messageDone_ = false;
      ++exchanges_;
      UpstreamCallbacks* cb = callbacks_;
      callbacks_ = nullptr;
      // Not after a FIN or reset seen with the response (a server going away without
      // "Connection: close"): the next request sent on it would never be answered, and if the
      // server drained it without a reset, nothing would tell before the route timeout.
      bool reusable = off == len && pendingIn_.empty() && parser_.keepAlive() && !peerFinSeen_ &&
                      (maxExchanges_ == 0 || exchanges_ < maxExchanges_);
      if (!reusable) {
        cb->onUpstreamComplete(*this, false);
        abort();
      } else {
        cb->onUpstreamComplete(*this, true);
      }
      return;
    }
    if (tunnel_) {
      // The 101 head ended the HTTP part (the parser stops there): the rest is the tunnel's.
      if (off < len) callbacks_->onUpstreamBody(data + off, len - off);
      return;
    }
    if (r.paused) {
      parser_.resume();
    }
    if (readPaused_) {
      if (off < len) pendingIn_.append(data + off, len - off);
      return;
    }
  }
}

void UpstreamConnection::readLoop() {
  if (!pendingIn_.empty() && callbacks_) {
    // Parse what was held back while paused. Copy out: parse() may append to pendingIn_.
    Buffer held = std::move(pendingIn_);
    parse(held.data(), held.size());
  }
  // Reads to EAGAIN, EOF, a close or a pause, also after a response handed the connection back
  // to its pool: a close_notify that came with it sits in OpenSSL's buffer, and no event follows.
  while (!closed_ && !readPaused_ && !socketDrained_) {
    ssize_t n;
    if (tls_) [[unlikely]] {
      // No short-read shortcut: one read returns one record while more may wait.
      n = tls_->read(worker_.scratch(), worker_.scratchSize());
      if (n < 0 && errno != EAGAIN)
        LOG_DEBUG("upstream %s: TLS: %s", pool_.key().c_str(), tls_->lastError().c_str());
    } else {
      n = worker_.loop().recv(fd_, worker_.scratch(), worker_.scratchSize());
      // Short read: the socket is empty until the next edge (see DownstreamConnection).
      if (n > 0 && static_cast<size_t>(n) < worker_.scratchSize() && !peerFinSeen_)
        socketDrained_ = true;
    }
    if (n > 0) {
      parse(worker_.scratch(), static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      socketDrained_ = true;
      return;
    }
    // EOF or error.
    if (callbacks_ == nullptr) {
      abort();  // an idle pooled connection closed by the server
      return;
    }
    if (tunnel_ && n == 0) {
      // The upstream closed its side of the tunnel: the response ends, the connection with it.
      UpstreamCallbacks* cb = callbacks_;
      callbacks_ = nullptr;
      cb->onUpstreamComplete(*this, false);
      abort();
      return;
    }
    if (n == 0 && parser_.inMessage() && parser_.bodyUntilEof()) {
      // A close-delimited body ends here.
      parser_.finish();
      if (messageDone_) {
        messageDone_ = false;
        ++exchanges_;
        UpstreamCallbacks* cb = callbacks_;
        callbacks_ = nullptr;
        cb->onUpstreamComplete(*this, false);
        abort();
        return;
      }
    }
    fail(n == 0 ? UpstreamFailure::Closed : UpstreamFailure::Reset);
    return;
  }
}

http::ParserAction UpstreamConnection::onHeadersComplete() {
  int status = parser_.statusCode();
  if (status == 101 && upgrade_) {
    tunnel_ = true;  // final: the exchange relays it and the tunnel follows
  } else if (status >= 100 && status < 200) {
    return http::ParserAction::Continue;  // interim: swallowed
  }
  if (!callbacks_) return http::ParserAction::Pause;
  responseStarted_ = true;
  UpstreamResponseHead head;
  head.status = status;
  head.headers = &parser_.headers();
  head.hasContentLength = parser_.hasContentLength();
  head.contentLength = parser_.contentLength();
  if (!callbacks_->onUpstreamHeaders(head)) return http::ParserAction::Pause;  // given up
  // No body after HEAD, 204 or 304, whatever Content-Length says (RFC 9112 §6.3). The parser
  // knows 204/304 too; HEAD only the exchange knows.
  if (headRequest_ || status == 204 || status == 304) return http::ParserAction::SkipBody;
  return http::ParserAction::Continue;
}

http::ParserAction UpstreamConnection::onBody(const char* data, size_t len) {
  if (callbacks_) callbacks_->onUpstreamBody(data, len);
  return http::ParserAction::Continue;
}

http::ParserAction UpstreamConnection::onMessageComplete() {
  if (!responseStarted_) return http::ParserAction::Continue;  // end of a 1xx interim response
  if (tunnel_) return http::ParserAction::Continue;  // the 101 head: the tunnel goes on
  messageDone_ = true;
  return http::ParserAction::Pause;
}

}  // namespace portico::gateway
