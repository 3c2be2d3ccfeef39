#include "http/h2_session.h"

#include <cstring>

#include <algorithm>

namespace portico::http {

void appendFieldsFromLines(char* p, size_t len, std::vector<H2Field>& out) {
  char* end = p + len;
  while (p < end) {
    char* eol = static_cast<char*>(memchr(p, '\r', static_cast<size_t>(end - p)));
    if (!eol) break;
    char* colon = static_cast<char*>(memchr(p, ':', static_cast<size_t>(eol - p)));
    if (colon) {
      for (char* c = p; c < colon; ++c)
        if (*c >= 'A' && *c <= 'Z') *c = static_cast<char>(*c + 32);
      char* v = colon + 1;
      while (v < eol && *v == ' ') ++v;
      out.push_back({std::string_view(p, static_cast<size_t>(colon - p)),
                     std::string_view(v, static_cast<size_t>(eol - v))});
    }
    p = eol + 2;
  }
}

namespace h2detail {

void SessionDeleter::operator()(nghttp2_session* s) const { nghttp2_session_del(s); }

bool isConnectionSpecific(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

void Stream::reset() {
  id = -1;
  inUse = appKnows = closed = refused = tooLarge = finalHead = false;
  hasProvider = endQueued = deferred = authoritySeen = responded = resetSent = false;
  status = 0;
  headerBytes = headerCount = 0;
  unconsumed = 0;
  method.clear();
  scheme.clear();
  authority.clear();
  path.clear();
  cookie.clear();
  headers.clear();
  trailersIn.clear();
  trailersOut.clear();
  out.clear();
  out.shrinkTo(64 * 1024);  // a big download must not pin its queue on a pooled stream
}

}  // namespace h2detail

using h2detail::Stream;

namespace {

constexpr MonoMs kFloodWindowMs = 1000;

Stream* streamOf(nghttp2_session* ns, int32_t id) {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(ns, id));
}

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// The GOAWAY code for a fatal error nghttp2 returned from mem_recv (it queues no GOAWAY itself).
uint32_t goawayCodeFor(ssize_t rv) {
  switch (rv) {
    case NGHTTP2_ERR_FLOODED:
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      return kH2EnhanceYourCalm;
    case NGHTTP2_ERR_NOMEM:
    case NGHTTP2_ERR_CALLBACK_FAILURE:
      return kH2InternalError;
    default:
      return kH2ProtocolError;
  }
}

}  // namespace

// nghttp2's C callbacks, forwarding to the session (user_data) and its role hooks.
struct H2Callbacks {
  static H2Session& self(void* u) { return *static_cast<H2Session*>(u); }

  // Counts floods from the frame header, before nghttp2 does any work for the payload.
  static int beginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* u) {
    H2Session& s = self(u);
    bool flood = false;
    switch (hd->type) {
      case NGHTTP2_PING:
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PRIORITY:
        flood = s.countControlFrame();
        break;
      case NGHTTP2_DATA:
      case NGHTTP2_HEADERS:
      case NGHTTP2_CONTINUATION:
        // Empty frames that do not end the stream carry nothing but cost a dispatch each.
        if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM))
          flood = s.countControlFrame();
        break;
      case NGHTTP2_RST_STREAM:
        flood = s.countReset();
        break;
      default:
        break;  // WINDOW_UPDATE follows our own DATA; GOAWAY ends the connection anyway
    }
    if (!flood) return 0;
    s.pendingFailCode_ = kH2EnhanceYourCalm;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int beginHeaders(nghttp2_session*, const nghttp2_frame* f, void* u) {
    return self(u).onBeginHeaders(*f);
  }

  static int header(nghttp2_session* ns, const nghttp2_frame* f, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* u) {
    Stream* st = streamOf(ns, f->hd.stream_id);
    if (!st || st->refused || st->tooLarge) return 0;
    std::string_view n = view(name, namelen), v = view(value, valuelen);
    if (!self(u).countField(*st, n, v)) return 0;  // the role answers at the end of the block
    self(u).onHeaderField(*st, *f, n, v);
    return 0;
  }

  static int frameRecv(nghttp2_session*, const nghttp2_frame* f, void* u) {
    return self(u).onFrameReceived(*f);
  }

  // Stream errors the peer caused (bad headers, bad frames on a stream) count as resets: a peer
  // can make us reset streams as cheaply as it can reset them itself.
  static int invalidFrame(nghttp2_session*, const nghttp2_frame*, int, void* u) {
    H2Session& s = self(u);
    if (!s.countReset()) return 0;
    s.pendingFailCode_ = kH2EnhanceYourCalm;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int dataChunk(nghttp2_session* ns, uint8_t, int32_t id, const uint8_t* data, size_t len,
                       void* u) {
    Stream* st = streamOf(ns, id);
    if (!st || !st->live()) {
      nghttp2_session_consume(ns, id, len);  // nobody forwards it: reopen the windows now
      return 0;
    }
    st->unconsumed += len;
    self(u).onData(id, reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int streamClose(nghttp2_session* ns, int32_t id, uint32_t code, void* u) {
    Stream* st = streamOf(ns, id);
    if (!st) return 0;
    H2Session& s = self(u);
    // Bytes the app never consumed would otherwise shrink the connection window for good.
    if (st->unconsumed > 0) nghttp2_session_consume_connection(ns, st->unconsumed);
    st->unconsumed = 0;
    bool tell = st->appKnows && !st->closed;
    st->closed = true;
    if (tell) s.notifyClosed(id, code);
    nghttp2_session_set_stream_user_data(ns, id, nullptr);
    s.releaseStream(st);
    return 0;
  }

  static ssize_t readData(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                          nghttp2_data_source* src, void* u) {
    Stream* st = static_cast<Stream*>(src->ptr);
    size_t n = std::min(length, st->out.size());
    if (n == 0 && !st->endQueued) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    if (n > 0) *flags |= NGHTTP2_DATA_FLAG_NO_COPY;  // framed straight from the queue
    if (n == st->out.size() && st->endQueued) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (st->trailersOut.size() > 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        self(u).sendTrailersNow(*st);
      }
    }
    return static_cast<ssize_t>(n);
  }

  // NO_COPY DATA: frame header and payload go from the stream queue to the output buffer.
  static int sendData(nghttp2_session*, nghttp2_frame*, const uint8_t* framehd, size_t length,
                      nghttp2_data_source* src, void* u) {
    H2Session& s = self(u);
    Stream* st = static_cast<Stream*>(src->ptr);
    s.out_->append(reinterpret_cast<const char*>(framehd), 9);
    s.out_->append(st->out.data(), length);  // no padding: we set no padding callback
    size_t before = st->out.size();
    st->out.consume(length);
    size_t low = s.limits_.streamLowWatermark;
    if (before > low && st->out.size() <= low && st->appKnows && !st->closed)
      s.notifyDrained(st->id);
    return 0;
  }

  static int frameSend(nghttp2_session*, const nghttp2_frame* f, void* u) {
    self(u).onFrameSent(*f);
    return 0;
  }

  static int frameNotSend(nghttp2_session*, const nghttp2_frame* f, int, void* u) {
    self(u).onFrameNotSent(*f);
    return 0;
  }
};

H2Session::H2Session(H2Limits limits, H2Clock clock)
    : limits_(limits), clock_(clock ? std::move(clock) : H2Clock(monotonicMs)) {}

H2Session::~H2Session() = default;

bool H2Session::start(bool server) {
  server_ = server;
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, H2Callbacks::beginFrame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, H2Callbacks::beginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::frameRecv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, H2Callbacks::invalidFrame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::dataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::streamClose);
  nghttp2_session_callbacks_set_send_data_callback(cbs, H2Callbacks::sendData);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, H2Callbacks::frameSend);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, H2Callbacks::frameNotSend);

  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);  // windows follow consumed()
  nghttp2_option_set_no_closed_streams(opt, 1);      // no RFC 7540 priority tree to keep
  nghttp2_option_set_max_outbound_ack(opt, 1000);    // unread PING/SETTINGS ACKs
  nghttp2_option_set_max_continuations(opt, 8);
  // nghttp2's own reset limiter (Debian's CVE-2023-44487 backport) runs on the wall clock and
  // answers INTERNAL_ERROR; our count (injectable clock, ENHANCE_YOUR_CALM, also counting the
  // resets a client provokes) replaces it, so it is opened wide.
  nghttp2_option_set_stream_reset_rate_limit(opt, UINT32_MAX, UINT32_MAX);

  nghttp2_session* ns = nullptr;
  int rv = server ? nghttp2_session_server_new2(&ns, cbs, this, opt)
                  : nghttp2_session_client_new2(&ns, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  session_.reset(ns);

  uint32_t window = std::min<uint32_t>(limits_.initialStreamWindow, NGHTTP2_MAX_WINDOW_SIZE);
  nghttp2_settings_entry iv[4] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.maxHeaderListBytes},
      server ? nghttp2_settings_entry{NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1}
             : nghttp2_settings_entry{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(ns, NGHTTP2_FLAG_NONE, iv, 4) != 0) return false;
  int32_t connWindow = static_cast<int32_t>(
      std::min<uint32_t>(limits_.connectionWindow, NGHTTP2_MAX_WINDOW_SIZE));
  nghttp2_session_set_local_window_size(ns, NGHTTP2_FLAG_NONE, 0, connWindow);
  nva_.reserve(32);
  return true;
}

bool H2Session::receive(const char* data, size_t len) {
  if (failed_ || !session_) return false;
  now_ = clock_();
  ssize_t rv = nghttp2_session_mem_recv(session(), reinterpret_cast<const uint8_t*>(data), len);
  if (rv < 0) {
    fail(pendingFailCode_ ? pendingFailCode_ : goawayCodeFor(rv));
    return false;
  }
  return !failed_;
}

void H2Session::fail(uint32_t code) {
  if (failed_) return;
  failed_ = true;
  // Queues GOAWAY(last processed stream, code); nghttp2 reads nothing more after sending it.
  if (!session_ || nghttp2_session_terminate_session(session(), code) != 0) broken_ = true;
}

void H2Session::produceOutput(Buffer& out) {
  if (broken_ || !session_) return;
  out_ = &out;
  for (;;) {
    const uint8_t* p = nullptr;
    ssize_t n = nghttp2_session_mem_send(session(), &p);
    if (n < 0) {  // out of memory or a callback failed: nothing sane left to send
      broken_ = failed_ = true;
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  out_ = nullptr;
}

bool H2Session::wantsWrite() const {
  return !broken_ && session_ && nghttp2_session_want_write(session());
}

bool H2Session::wantsClose() const {
  if (broken_ || !session_) return true;
  return !nghttp2_session_want_read(session()) && !nghttp2_session_want_write(session());
}

Stream* H2Session::acquireStream(int32_t id) {
  Stream* st;
  if (free_.empty()) {
    pool_.push_back(std::make_unique<Stream>());
    st = pool_.back().get();
  } else {
    st = free_.back();
    free_.pop_back();
  }
  st->inUse = true;
  st->id = id;
  byId_.push_back(st);
  return st;
}

void H2Session::releaseStream(Stream* st) {
  auto it = std::find(byId_.begin(), byId_.end(), st);
  if (it != byId_.end()) {
    *it = byId_.back();
    byId_.pop_back();
  }
  st->reset();
  free_.push_back(st);
}

Stream* H2Session::lookup(int32_t id) const {
  // A linear scan: a connection has at most maxConcurrentStreams streams, and the pointers sit
  // in one small array; the client also needs streams nghttp2 has not opened yet.
  for (Stream* st : byId_)
    if (st->id == id) return st;
  return nullptr;
}

Stream* H2Session::findStream(int32_t id) const {
  Stream* st = lookup(id);
  return st && st->live() ? st : nullptr;
}

void H2Session::setStreamId(Stream& st, int32_t id) { st.id = id; }

nghttp2_data_provider H2Session::providerFor(Stream& st) {
  st.hasProvider = true;
  nghttp2_data_provider prd;
  prd.source.ptr = &st;
  prd.read_callback = H2Callbacks::readData;
  return prd;
}

size_t H2Session::buildNva(std::string_view pseudoName, std::string_view pseudoValue,
                           std::span<const H2Field> fields, bool allowPseudo) {
  nva_.clear();
  if (!pseudoName.empty()) nva_.push_back(makeNv(pseudoName, pseudoValue));
  for (const H2Field& f : fields) {
    if (f.name.empty() || (f.name[0] == ':' && !allowPseudo)) continue;
    // HTTP/1 hop-by-hop fields have no meaning in HTTP/2 and make peers reset the stream.
    if (h2detail::isConnectionSpecific(f.name) || (f.name == "te" && f.value != "trailers"))
      continue;
    nva_.push_back(makeNv(f.name, f.value));
  }
  return nva_.size();
}

bool H2Session::countField(Stream& st, std::string_view name, std::string_view value) {
  st.headerBytes += static_cast<uint32_t>(name.size() + value.size() + 32);  // RFC 9113 §6.5.2
  ++st.headerCount;
  if (st.headerBytes > limits_.maxHeaderListBytes || st.headerCount > limits_.maxHeaders)
    st.tooLarge = true;
  return !st.tooLarge;
}

void H2Session::rollWindow() {
  if (now_ - windowStart_ >= kFloodWindowMs || now_ < windowStart_) {
    windowStart_ = now_;
    controlFrames_ = resets_ = 0;
  }
}

bool H2Session::countControlFrame() {
  rollWindow();
  return ++controlFrames_ > limits_.maxControlFramesPerSecond;
}

bool H2Session::countReset() {
  if (!server_) return false;  // a backend resetting our requests is its right, not a flood
  rollWindow();
  return ++resets_ > limits_.maxResetsPerSecond;
}

void H2Session::sendData(int32_t stream, const char* data, size_t len, bool endStream) {
  Stream* st = findStream(stream);
  if (!st || !st->hasProvider || st->endQueued) return;
  if (len > 0) st->out.append(data, len);
  if (endStream) st->endQueued = true;
  if (st->deferred && (len > 0 || endStream)) {
    st->deferred = false;
    nghttp2_session_resume_data(session(), stream);
  }
}

namespace {
/// Trailers carry no pseudo-fields and no connection-specific ones (RFC 9113 §8.1, §8.2.2).
bool sendableTrailer(std::string_view name) {
  return !name.empty() && name[0] != ':' && !h2detail::isConnectionSpecific(name);
}
}  // namespace

void H2Session::sendTrailers(int32_t stream, std::span<const H2Field> trailers) {
  Stream* st = findStream(stream);
  if (!st || !st->hasProvider || st->endQueued) return;
  for (const H2Field& f : trailers)
    if (sendableTrailer(f.name)) st->trailersOut.add(f.name, f.value);
  sendData(stream, nullptr, 0, true);
}

void H2Session::sendTrailers(int32_t stream, const HeaderMap& trailers) {
  Stream* st = findStream(stream);
  if (!st || !st->hasProvider || st->endQueued) return;
  for (const HeaderEntry& h : trailers)
    if (sendableTrailer(h.name)) st->trailersOut.add(h.name, h.value);
  sendData(stream, nullptr, 0, true);
}

void H2Session::sendTrailersNow(Stream& st) {
  nva_.clear();
  for (const HeaderEntry& e : st.trailersOut) nva_.push_back(makeNv(e.name, e.value));
  nghttp2_submit_trailer(session(), st.id, nva_.data(), nva_.size());
}

void H2Session::resetStream(int32_t stream, uint32_t errorCode) {
  Stream* st = findStream(stream);
  if (!st) return;
  st->resetSent = true;
  nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, stream, errorCode);
}

size_t H2Session::queuedBytes(int32_t stream) const {
  Stream* st = findStream(stream);
  return st ? st->out.size() : 0;
}

void H2Session::consumed(int32_t stream, size_t len) {
  Stream* st = findStream(stream);
  if (!st) return;
  uint64_t n = std::min<uint64_t>(len, st->unconsumed);  // never credit more than was received
  if (n == 0) return;
  st->unconsumed -= n;
  nghttp2_session_consume(session(), stream, static_cast<size_t>(n));
}

}  // namespace portico::http
