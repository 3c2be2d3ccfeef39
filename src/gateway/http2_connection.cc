#include "gateway/http2_connection.h"

#include <algorithm>
#include <cerrno>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/client_io.h"
#include "gateway/worker.h"
#include "observability/stats.h"

namespace portico::gateway {

namespace {
constexpr size_t kFlushNowBytes = 64 * 1024;

http::H2Limits limitsOf(const WorkerSettings& s) {
  http::H2Limits l;
  l.maxConcurrentStreams = s.maxConcurrentStreams;
  l.maxHeaderListBytes = static_cast<uint32_t>(s.maxRequestHeaderBytes);
  l.maxHeaders = static_cast<uint32_t>(s.maxRequestHeaders);
  return l;
}
}  // namespace

/// One request/response on the connection: the exchange and what the protocol keeps for it.
class Http2Connection::Stream final : public DownstreamStream {
public:
  Stream(Http2Connection& conn, int32_t id)
      : conn_(conn), id_(id), exchange_(conn.worker_, conn.conn_, *this) {}

  /// A pooled stream object serves a new stream (the exchange resets itself in begin()).
  void reuse(int32_t id) {
    id_ = id;
    status_ = 0;
    unconsumed_ = 0;
    paused_ = done_ = trailersSent_ = ended_ = false;
  }
  int32_t id() const { return id_; }

  /// Copies the head (the session's copy ends with the callback) and starts the exchange.
  void start(const http::H2RequestHead& h, bool endStream);
  void onData(const char* data, size_t len);
  RequestExchange& exchange() { return exchange_; }
  bool done() const { return done_; }

  // DownstreamStream
  Buffer& beginResponseHead(int status) override {
    status_ = status;
    headLines_.clear();
    return headLines_;
  }
  void endResponseHead(const ResponseFraming& framing) override;
  void encodeData(const char* data, size_t len) override {
    conn_.session_.sendData(id_, data, len, false);
  }
  void encodeTrailers(const http::HeaderMap& trailers) override;
  void encodeEnd() override {
    if (!trailersSent_ && !ended_) conn_.session_.sendData(id_, nullptr, 0, true);
  }
  void encodeContinue() override { conn_.session_.submitResponse(id_, 100, {}, false); }
  void flush(bool now) override {
    if (now || conn_.session_.queuedBytes(id_) >= kFlushNowBytes) conn_.flush();
    else conn_.scheduleFlush();
  }
  size_t pendingBytes() const override { return conn_.session_.queuedBytes(id_); }
  void pauseRequestBody() override { paused_ = true; }
  void resumeRequestBody() override {
    paused_ = false;
    if (unconsumed_) {
      conn_.session_.consumed(id_, unconsumed_);
      unconsumed_ = 0;
      conn_.scheduleFlush();  // the WINDOW_UPDATE
    }
  }
  void reset() override {
    exchange_.abort();
    conn_.session_.resetStream(id_, http::kH2InternalError);
    conn_.scheduleFlush();
  }
  void closeAfterResponse() override {}
  bool closing() const override { return conn_.draining_; }
  void onExchangeComplete() override { done_ = true; }

private:
  Http2Connection& conn_;
  int32_t id_;
  std::string method_, path_, authority_;
  http::HeaderMap headers_;
  Buffer headLines_;
  std::vector<http::H2Field> fields_;
  char lengthText_[24];
  int status_ = 0;
  size_t unconsumed_ = 0;  // body bytes taken while paused: their window reopens on resume
  bool paused_ = false;
  bool done_ = false;
  bool trailersSent_ = false;  // they ended the stream
  bool ended_ = false;         // the head ended the stream
  RequestExchange exchange_;  // last: it refers to the members above
};

void Http2Connection::Stream::encodeTrailers(const http::HeaderMap& trailers) {
  if (trailers.size() == 0 || ended_) return;
  conn_.session_.sendTrailers(id_, trailers);
  trailersSent_ = true;
}

void Http2Connection::Stream::start(const http::H2RequestHead& h, bool endStream) {
  method_.assign(h.method);
  path_.assign(h.path);
  authority_.assign(h.authority);
  headers_.clear();
  for (const http::HeaderEntry& e : h.headers) headers_.add(e.name, e.value);
  RequestHead head;
  head.method = method_;
  head.target = path_;
  head.protocol = "HTTP/2";
  head.headers = &headers_;
  head.isHead = method_ == "HEAD";
  head.hasContentLength = h.contentLength.has_value();
  head.contentLength = h.contentLength.value_or(0);
  head.bodyLengthUnknown = !endStream && !head.hasContentLength;
  exchange_.begin(head);

  const WorkerSettings& s = conn_.worker_.settings();
  if (method_ == "CONNECT") {
    exchange_.localReply(501, "CONNECT is not supported");
  } else if (s.maxRequestBodyBytes && head.contentLength > s.maxRequestBodyBytes) {
    exchange_.localReply(413, "request body too large");
  } else {
    // :authority, else Host (RFC 9113 §8.3.1); one of them is required to route.
    std::string_view host = authority_;
    if (host.empty()) {
      if (const std::string* hostHeader = headers_.get("host")) host = *hostHeader;
    }
    std::string_view target = path_;
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q);
    if (host.empty()) exchange_.localReply(400, "bad request: missing :authority");
    else if (path.empty() || (path[0] != '/' && !(method_ == "OPTIONS" && path == "*")))
      exchange_.localReply(400, "bad request: invalid :path");
    else exchange_.route(host, path, query);
  }
  if (endStream && !exchange_.aborted()) exchange_.onRequestComplete();
}

void Http2Connection::Stream::onData(const char* data, size_t len) {
  exchange_.onRequestBody(data, len);
  // The window reopens as the body moves on; while the upstream is behind it stays shut, so
  // the client, not the gateway, holds the rest.
  if (paused_) unconsumed_ += len;
  else conn_.session_.consumed(id_, len);
}

void Http2Connection::Stream::endResponseHead(const ResponseFraming& framing) {
  // The exchange wrote HTTP/1-style lines ("name: value\r\n"), lowercase and without
  // hop-by-hop headers; h2 wants them as fields (names lowercased again: route header ops
  // may carry configured capitals).
  fields_.clear();
  http::appendFieldsFromLines(const_cast<char*>(headLines_.data()), headLines_.size(), fields_);
  if (framing.hasLength && !framing.noBody) {
    int n = snprintf(lengthText_, sizeof(lengthText_), "%llu",
                     static_cast<unsigned long long>(framing.length));
    fields_.push_back({"content-length", std::string_view(lengthText_, static_cast<size_t>(n))});
  }
  // An empty body ends the stream with the head (a gRPC trailers-only answer must be one frame).
  ended_ = framing.noBody || (framing.hasLength && framing.length == 0);
  conn_.session_.submitResponse(id_, status_, fields_, ended_);
}

// ---- connection -----------------------------------------------------------------------------------

void Http2Connection::create(Worker& worker, ConnectionInfo conn, int fd,
                             std::unique_ptr<net::TlsTransport> tls, std::string_view received) {
  auto* c = new Http2Connection(worker, std::move(conn), fd, std::move(tls));
  worker.addConnection(c);
  // The bytes are the worker's read buffer: copied before anything can read into it again.
  std::string first(received);
  if (!worker.loop().add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, c, /*stream=*/true).ok()) {
    c->close();
    return;
  }
  if (worker.draining()) c->beginDrain();
  if (!first.empty()) c->receive(first.data(), first.size());
  // Read on now (readLoop flushes too): TLS records after the first may already be in OpenSSL's
  // read-ahead buffer, which no socket event will announce.
  if (!c->closed_) c->readLoop();
}

Http2Connection::Http2Connection(Worker& worker, ConnectionInfo conn, int fd,
                                 std::unique_ptr<net::TlsTransport> tls)
    : worker_(worker), conn_(std::move(conn)), fd_(fd), tls_(std::move(tls)),
      session_(*this, limitsOf(worker.settings())),
      idleTimer_(worker.loop(), [this] { onIdleTimer(); }) {
  lastActivity_ = worker_.loop().now();
  idleTimer_.arm(worker_.settings().idleTimeoutMs);
}

Http2Connection::~Http2Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Http2Connection::Stream* Http2Connection::find(int32_t id) {
  for (Stream* s : streams_)
    if (s->id() == id) return s;
  return nullptr;
}

void Http2Connection::onEvents(uint32_t events) {
  if (closed_) return;
  if ((events & EPOLLOUT) || (tls_ && (events & EPOLLIN) && tls_->writeWantsRead())) {
    flush();
    if (closed_) return;
  }
  if (events & (EPOLLHUP | EPOLLERR)) {
    close();
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP)) || (tls_ && tls_->readWantsWrite())) readLoop();
}

void Http2Connection::readLoop() {
  while (!closed_ && !fatal_) {
    ssize_t n =
        clientRead(worker_.loop(), fd_, tls_.get(), worker_.scratch(), worker_.scratchSize());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close();
      return;
    }
    if (n == 0) {
      close();  // the client is gone: its streams with it
      return;
    }
    lastActivity_ = worker_.loop().now();
    receive(worker_.scratch(), static_cast<size_t>(n));
  }
  if (!closed_) flush();
}

void Http2Connection::receive(const char* data, size_t len) {
  if (!session_.receive(data, len)) {
    LOG_DEBUG("client %s: HTTP/2 connection error", conn_.peerIp.c_str());
    fatal_ = true;  // the GOAWAY goes out with the next flush, then the connection closes
  }
  // One send upstream per read for every stream that got bytes.
  // (By index: a flush may close a stream, which swaps the last one into its place.)
  for (size_t i = 0; i < streams_.size(); ++i) streams_[i]->exchange().flushUpstream();
}

void Http2Connection::onScheduled() {
  if (!retired_.empty()) recycleRetired();
  if (flushPending_) {
    flushPending_ = false;
    flush();
  }
}

void Http2Connection::scheduleFlush() {
  flushPending_ = true;
  worker_.loop().schedule(this);
}

void Http2Connection::flush() {
  if (closed_) return;
  for (;;) {
    if (out_.empty()) {
      if (out_.capacity() == 0) out_ = worker_.takeBuffer();
      session_.produceOutput(out_);
      if (out_.empty()) break;
    }
    bool wrote = false;
    bool ok = writeOut(worker_.loop(), fd_, tls_.get(), out_, wrote);
    if (wrote) lastActivity_ = worker_.loop().now();
    if (!ok) {
      close();
      return;
    }
    if (!out_.empty()) return;  // the socket is full: EPOLLOUT brings us back
  }
  if (fatal_ || session_.wantsClose()) close();
  else if (streams_.empty() && out_.capacity()) worker_.giveBuffer(out_);  // idle: hold none
}

void Http2Connection::onRequestHead(int32_t id, const http::H2RequestHead& head, bool endStream) {
  Stream* s;
  if (!freeStreams_.empty()) {
    s = freeStreams_.back();
    freeStreams_.pop_back();
    s->reuse(id);
  } else {
    streamObjects_.push_back(std::make_unique<Stream>(*this, id));
    s = streamObjects_.back().get();
  }
  streams_.push_back(s);
  s->start(head, endStream);
}

void Http2Connection::onRequestData(int32_t id, const char* data, size_t len) {
  if (Stream* s = find(id)) s->onData(data, len);
  else session_.consumed(id, len);
}

void Http2Connection::onRequestTrailers(int32_t id, const http::HeaderMap& trailers) {
  if (Stream* s = find(id)) s->exchange().onRequestTrailers(trailers);
}

void Http2Connection::onRequestEnd(int32_t id) {
  if (Stream* s = find(id)) s->exchange().onRequestComplete();
}

void Http2Connection::onStreamClosed(int32_t id, uint32_t errorCode) {
  auto it = std::find_if(streams_.begin(), streams_.end(), [id](Stream* s) { return s->id() == id; });
  if (it == streams_.end()) return;
  Stream* s = *it;
  *it = streams_.back();
  streams_.pop_back();
  if (errorCode != 0 || !s->done()) s->exchange().abort();  // reset by the client, or cut short
  retired_.push_back(s);  // its exchange may be on the stack: reused after this batch
  worker_.loop().schedule(this);
  if (draining_ && streams_.empty()) scheduleFlush();
}

void Http2Connection::recycleRetired() {
  // A few objects are kept for the next streams; beyond that (a burst of concurrent streams)
  // they are freed, so an idle connection does not hold its peak.
  constexpr size_t kKeepFree = 8;
  for (Stream* s : retired_) {
    if (freeStreams_.size() < kKeepFree) {
      freeStreams_.push_back(s);
      continue;
    }
    auto owned = std::find_if(streamObjects_.begin(), streamObjects_.end(),
                              [s](const std::unique_ptr<Stream>& p) { return p.get() == s; });
    *owned = std::move(streamObjects_.back());
    streamObjects_.pop_back();
  }
  retired_.clear();
}

void Http2Connection::onStreamDrained(int32_t id) {
  if (Stream* s = find(id)) s->exchange().onDownstreamDrained();
}

void Http2Connection::beginDrain() {
  if (draining_) return;
  draining_ = true;
  session_.shutdown();
  scheduleFlush();
}

void Http2Connection::onIdleTimer() {
  if (closed_) return;
  MonoMs now = worker_.loop().now();
  MonoMs idle = worker_.settings().idleTimeoutMs;
  if (streams_.empty() && now - lastActivity_ >= idle) {
    beginDrain();  // GOAWAY, then the close once it is written
    flush();
    if (!closed_) close();
    return;
  }
  idleTimer_.arm(std::max<MonoMs>(streams_.empty() ? idle - (now - lastActivity_) : idle, 1));
}

void Http2Connection::close() {
  if (closed_) return;
  closed_ = true;
  // The stream objects go with the connection (deleted after this batch).
  for (Stream* s : streams_) s->exchange().abort();
  streams_.clear();
  idleTimer_.cancel();
  if (out_.capacity()) worker_.giveBuffer(out_);
  if (worker_.stats()) worker_.stats()->downstream.connectionsClosed.add();
  if (tls_) tls_->shutdown();
  tls_.reset();
  worker_.loop().close(fd_);
  fd_ = -1;
  worker_.removeConnection(this);
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
