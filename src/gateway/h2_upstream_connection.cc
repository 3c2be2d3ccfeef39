#include "gateway/h2_upstream_connection.h"

#include <algorithm>
#include <charconv>
#include <unistd.h>

#include "common/log.h"
#include "gateway/client_io.h"
#include "gateway/host_pool.h"
#include "gateway/upstream_connect.h"
#include "gateway/worker.h"
#include "observability/stats.h"
#include "upstream/circuit_breaker.h"
#include "upstream/cluster.h"

namespace portico::gateway {

/// One exchange on the connection. Reused from request to request (its buffers keep their
/// capacity), so a steady load allocates nothing per stream.
class H2UpstreamConnection::Stream final : public UpstreamStream {
public:
  explicit Stream(H2UpstreamConnection& conn) : conn_(conn) {}

  void start(bool reused) {
    id_ = -1;
    callbacks_ = nullptr;
    reused_ = reused;
    headRequest_ = responseStarted_ = endSent_ = paused_ = refused_ = false;
    unconsumed_ = 0;
  }
  int32_t id() const { return id_; }
  UpstreamCallbacks* callbacks() const { return callbacks_; }
  /// Detaches the exchange (the stream is done with it).
  UpstreamCallbacks* detach() {
    UpstreamCallbacks* cb = callbacks_;
    callbacks_ = nullptr;
    return cb;
  }
  bool responseStarted() const { return responseStarted_; }
  void setResponseStarted() { responseStarted_ = true; }
  bool headRequest() const { return headRequest_; }
  bool refused() const { return refused_; }
  /// Response bytes the exchange took: the window reopens now, or on resume when paused.
  void took(size_t len) {
    if (paused_) unconsumed_ += len;
    else conn_.session_.consumed(id_, len);
  }
  void forgetId() { id_ = -1; }

  // UpstreamStream
  void attach(UpstreamCallbacks* callbacks, bool headRequest, bool) override {
    callbacks_ = callbacks;
    headRequest_ = headRequest;
  }
  Buffer& beginRequestHead(std::string_view method) override {
    head_.clear();
    head_.append(method);
    methodEnd_ = head_.size();
    return head_;
  }
  Buffer& headerLines() override {
    targetEnd_ = head_.size();
    return head_;
  }
  void endRequestHead(const RequestFraming& framing) override;
  // Frames go out with the connection's next flush: the exchange's, or one after the current
  // batch of events that carries every stream's frames in one write.
  void encodeBody(const char* data, size_t len) override {
    if (id_ > 0 && len) {
      conn_.session_.sendData(id_, data, len, false);
      conn_.scheduleFlush();
    }
  }
  void encodeEnd() override {
    if (id_ > 0 && !endSent_) {
      conn_.session_.sendData(id_, nullptr, 0, true);
      conn_.scheduleFlush();
    }
    endSent_ = true;
  }
  void encodeTrailers(const http::HeaderMap& trailers) override {
    if (id_ <= 0 || endSent_ || trailers.size() == 0) return;
    conn_.session_.sendTrailers(id_, trailers);
    endSent_ = true;
    conn_.scheduleFlush();
  }
  void flush() override { conn_.flush(); }
  size_t pendingOutput() const override {
    return id_ > 0 ? conn_.session_.queuedBytes(id_) : 0;
  }
  size_t highWatermark() const override { return conn_.highWatermark_; }
  bool connected() const override { return conn_.connected_; }
  bool reused() const override { return reused_; }
  void pauseReading() override { paused_ = true; }
  void resumeReading() override {
    paused_ = false;
    if (unconsumed_ && id_ > 0) {
      conn_.session_.consumed(id_, unconsumed_);
      conn_.scheduleFlush();  // the WINDOW_UPDATE
    }
    unconsumed_ = 0;
  }
  void abort() override {
    if (id_ > 0) conn_.session_.resetStream(id_, http::kH2Cancel);
    conn_.recycle(this);
    conn_.scheduleFlush();
  }
  void release() override { conn_.recycle(this); }

private:
  H2UpstreamConnection& conn_;
  int32_t id_ = -1;
  UpstreamCallbacks* callbacks_ = nullptr;
  Buffer head_;  // method, target, then "name: value\r\n" lines
  size_t methodEnd_ = 0, targetEnd_ = 0;
  std::vector<http::H2Field> fields_;
  char lengthText_[24];
  size_t unconsumed_ = 0;
  bool reused_ = false;
  bool headRequest_ = false;
  bool responseStarted_ = false;
  bool endSent_ = false;
  bool paused_ = false;
  bool refused_ = false;  // submitRequest failed: the connection fails it from onScheduled
};

void H2UpstreamConnection::Stream::endRequestHead(const RequestFraming& framing) {
  char* base = const_cast<char*>(head_.data());
  fields_.clear();
  fields_.push_back({":method", std::string_view(base, methodEnd_)});
  fields_.push_back({":scheme", conn_.tls_ ? "https" : "http"});
  fields_.push_back({":authority", {}});
  fields_.push_back({":path", std::string_view(base + methodEnd_, targetEnd_ - methodEnd_)});
  size_t first = fields_.size();
  http::appendFieldsFromLines(base + targetEnd_, head_.size() - targetEnd_, fields_);
  for (size_t i = first; i < fields_.size(); ++i) {
    if (fields_[i].name == "host") {  // Host becomes :authority (RFC 9113 §8.3.1)
      fields_[2].value = fields_[i].value;
      fields_.erase(fields_.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
  }
  if (framing.hasLength) {
    auto r = std::to_chars(lengthText_, lengthText_ + sizeof(lengthText_), framing.length);
    fields_.push_back({"content-length", std::string_view(lengthText_, static_cast<size_t>(r.ptr - lengthText_))});
  }
  bool endStream = framing.noBody();
  id_ = conn_.session_.submitRequest(fields_, endStream);
  endSent_ = endStream;
  ++conn_.streamsOpened_;
  conn_.scheduleFlush();
  if (id_ < 0) {
    // The connection can't take it after all (GOAWAY under way): fail it outside this call,
    // as a refused stream, which the exchange may resend on another connection.
    refused_ = true;
    conn_.refusedPending_ = true;
    conn_.scheduleFlush();
  }
}

// ---- connection -----------------------------------------------------------------------------------

namespace {
http::H2Limits upstreamLimits(const WorkerSettings& s) {
  http::H2Limits l;
  l.maxHeaderListBytes = static_cast<uint32_t>(s.maxRequestHeaderBytes);
  return l;
}
}  // namespace

H2UpstreamConnection::H2UpstreamConnection(Worker& worker, HostPool& pool, int fd,
                                           const upstream::Cluster& cluster,
                                           std::shared_ptr<upstream::ClusterBreakers> breakers,
                                           observability::UpstreamStats* stats,
                                           std::unique_ptr<net::TlsTransport> tls)
    : worker_(worker), pool_(pool), fd_(fd), tls_(std::move(tls)),
      session_(*this, upstreamLimits(worker.settings())),
      timer_(worker.loop(), [this] {
        if (!connected_) close(UpstreamFailure::ConnectTimeout);
        else if (idle_) close(UpstreamFailure::Closed);  // idle too long: no stream to fail
      }),
      breakers_(std::move(breakers)), stats_(stats),
      highWatermark_(cluster.perConnectionBufferLimitBytes ? cluster.perConnectionBufferLimitBytes
                                                           : worker.settings().highWatermark),
      maxStreams_(cluster.maxRequestsPerConnection) {
  worker_.loop().add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  timer_.arm(cluster.connectTimeoutMs);
  if (stats_) stats_->connectionsOpened.add();
}

H2UpstreamConnection::~H2UpstreamConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool H2UpstreamConnection::acceptsStreams() const {
  return !closed_ && session_.canOpenStream() && (maxStreams_ == 0 || streamsOpened_ < maxStreams_);
}

UpstreamStream* H2UpstreamConnection::newStream() {
  Stream* s;
  if (free_.empty()) {
    streamObjects_.push_back(std::make_unique<Stream>(*this));
    s = streamObjects_.back().get();
  } else {
    s = free_.back();
    free_.pop_back();
  }
  s->start(streamsOpened_ > 0);
  active_.push_back(s);
  updateIdle();
  return s;
}

H2UpstreamConnection::Stream* H2UpstreamConnection::find(int32_t id) const {
  for (Stream* s : active_)
    if (s->id() == id) return s;
  return nullptr;
}

void H2UpstreamConnection::recycle(Stream* s) {
  auto it = std::find(active_.begin(), active_.end(), s);
  if (it == active_.end()) return;  // already recycled
  *it = active_.back();
  active_.pop_back();
  s->detach();
  s->forgetId();
  free_.push_back(s);
  updateIdle();
}

void H2UpstreamConnection::updateIdle() {
  if (closed_ || !connected_) return;
  bool idle = active_.empty();
  if (idle == idle_) return;
  idle_ = idle;
  if (stats_) (idle ? stats_->idleEntered : stats_->idleLeft).add();
  if (idle) {
    if (session_.goingAway() || (maxStreams_ && streamsOpened_ >= maxStreams_)) {
      worker_.loop().schedule(this);  // it takes no more streams: closed from onScheduled
      return;
    }
    timer_.arm(worker_.settings().upstreamIdleTimeoutMs);
  } else {
    timer_.cancel();
  }
}

void H2UpstreamConnection::onEvents(uint32_t events) {
  if (closed_) return;
  if (!connected_) {
    switch (advanceConnect(worker_.loop(), this, fd_, tls_.get(), events, handshaking_, pool_)) {
    case ConnectStep::Pending: return;
    case ConnectStep::Failed: close(UpstreamFailure::ConnectFailed); return;
    case ConnectStep::Connected: break;
    }
    onConnected();
    if (closed_) return;
    if (tls_) {
      // The server's SETTINGS may have come with its last handshake flight and sit in OpenSSL's
      // buffer, which no socket event will announce: read them now, not with the response.
      readLoop();
      return;
    }
  } else if ((events & EPOLLOUT) || (tls_ && (events & EPOLLIN) && tls_->writeWantsRead())) {
    flush();
    if (closed_) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || (tls_ && tls_->readWantsWrite()))
    readLoop();
}

void H2UpstreamConnection::onConnected() {
  if (tls_ && tls_->alpn() != "h2") {
    LOG_WARN("upstream %s: the server did not agree to HTTP/2 over TLS (ALPN %s)",
             pool_.key().c_str(), tls_->alpn().empty() ? "none" : std::string(tls_->alpn()).c_str());
    close(UpstreamFailure::Protocol);
    return;
  }
  connected_ = true;
  timer_.cancel();
  // Streams waiting for the connection: no longer pending requests.
  std::vector<Stream*> waiting(active_);
  for (Stream* s : waiting) {
    if (UpstreamCallbacks* cb = s->callbacks()) cb->onUpstreamConnected();
    if (closed_) return;
  }
  flush();
  updateIdle();
}

void H2UpstreamConnection::readLoop() {
  while (!closed_) {
    ssize_t n =
        clientRead(worker_.loop(), fd_, tls_.get(), worker_.scratch(), worker_.scratchSize());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close(UpstreamFailure::Reset);
      return;
    }
    if (n == 0) {
      close(UpstreamFailure::Closed);
      return;
    }
    if (!session_.receive(worker_.scratch(), static_cast<size_t>(n))) {
      LOG_DEBUG("upstream %s: HTTP/2 connection error", pool_.key().c_str());
      flush();  // the GOAWAY
      close(UpstreamFailure::Protocol);
      return;
    }
  }
  flush();
}

void H2UpstreamConnection::scheduleFlush() {
  flushScheduled_ = true;
  worker_.loop().schedule(this);
}

void H2UpstreamConnection::onScheduled() {
  if (closed_) return;
  if (refusedPending_) failRefused();
  if (closed_) return;
  if (flushScheduled_) {
    flushScheduled_ = false;
    flush();
  }
  if (!closed_ && active_.empty() && connected_ &&
      (session_.goingAway() || (maxStreams_ && streamsOpened_ >= maxStreams_)))
    close(UpstreamFailure::Closed);
}

void H2UpstreamConnection::failRefused() {
  refusedPending_ = false;
  std::vector<Stream*> refused;
  for (Stream* s : active_)
    if (s->refused()) refused.push_back(s);
  for (Stream* s : refused) {
    UpstreamCallbacks* cb = s->callbacks();
    recycle(s);
    if (cb) cb->onUpstreamFailure(UpstreamFailure::Refused, false);
    if (closed_) return;
  }
}

void H2UpstreamConnection::flush() {
  if (!connected_ || closed_) return;
  for (;;) {
    if (out_.empty()) {
      session_.produceOutput(out_);
      if (out_.empty()) break;
    }
    bool wrote = false;
    if (!writeOut(worker_.loop(), fd_, tls_.get(), out_, wrote)) {
      close(UpstreamFailure::Reset);
      return;
    }
    if (!out_.empty()) return;  // the socket is full: EPOLLOUT brings us back
  }
  if (session_.wantsClose()) close(UpstreamFailure::Closed);
}

void H2UpstreamConnection::close(UpstreamFailure failure) {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  if (tls_) {
    tls_->shutdown();
    tls_.reset();
  }
  if (fd_ >= 0) {
    worker_.loop().close(fd_);
    fd_ = -1;
  }
  if (breakers_) breakers_->perWorker[worker_.index()]->releaseConnection();
  if (stats_) {
    if (idle_) stats_->idleLeft.add();
    stats_->connectionsClosed.add();
  }
  pool_.forget(this);
  // Every exchange still on the connection fails (the stream objects live until the delete).
  std::vector<Stream*> failed;
  failed.swap(active_);
  for (Stream* s : failed) {
    UpstreamCallbacks* cb = s->detach();
    s->forgetId();
    if (cb) cb->onUpstreamFailure(failure, s->responseStarted());
  }
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

// ---- session callbacks ------------------------------------------------------------------------

void H2UpstreamConnection::onResponseHead(int32_t id, int status, const http::HeaderMap& headers,
                                          bool endStream) {
  Stream* s = find(id);
  if (!s || !s->callbacks()) return;
  s->setResponseStarted();
  UpstreamResponseHead head;
  head.status = status;
  head.headers = &headers;
  if (const std::string* cl = headers.get("content-length")) {
    if (auto length = http::parseContentLength(*cl)) {
      head.hasContentLength = true;
      head.contentLength = *length;
    }
  }
  if (endStream && !head.hasContentLength && !s->headRequest()) {
    head.hasContentLength = true;  // nothing follows the head (a gRPC trailers-only answer)
    head.contentLength = 0;
  }
  s->callbacks()->onUpstreamHeaders(head);
}

void H2UpstreamConnection::onResponseData(int32_t id, const char* data, size_t len) {
  Stream* s = find(id);
  if (s && s->callbacks()) s->callbacks()->onUpstreamBody(data, len);
  if (s && find(id) == s) s->took(len);
  else session_.consumed(id, len);  // nobody reads it any more
}

void H2UpstreamConnection::onResponseTrailers(int32_t id, const http::HeaderMap& trailers) {
  Stream* s = find(id);
  if (s && s->callbacks()) s->callbacks()->onUpstreamTrailers(trailers);
}

void H2UpstreamConnection::onResponseEnd(int32_t id) {
  Stream* s = find(id);
  if (!s || !s->callbacks()) return;
  s->detach()->onUpstreamComplete(*s, true);  // the exchange releases or aborts it
}

void H2UpstreamConnection::onStreamClosed(int32_t id, uint32_t errorCode) {
  Stream* s = find(id);
  if (!s) return;  // released or aborted by its exchange already
  UpstreamCallbacks* cb = s->callbacks();
  bool started = s->responseStarted();
  recycle(s);
  if (!cb) return;
  UpstreamFailure failure = errorCode == http::kH2RefusedStream ? UpstreamFailure::Refused
                            : errorCode == 0                    ? UpstreamFailure::Closed
                                                                : UpstreamFailure::Reset;
  LOG_DEBUG("upstream %s: stream %d closed (error code %u)", pool_.key().c_str(), id, errorCode);
  cb->onUpstreamFailure(failure, started);
}

void H2UpstreamConnection::onStreamDrained(int32_t id) {
  Stream* s = find(id);
  if (s && s->callbacks()) s->callbacks()->onUpstreamDrained();
}

void H2UpstreamConnection::onGoAway(int32_t) {
  // No new streams from now on (acceptsStreams); open ones may finish, then the connection
  // closes once idle.
  if (active_.empty()) worker_.loop().schedule(this);
}

}  // namespace portico::gateway
