#include "http/h2_client_session.h"

#include <charconv>

namespace portico::http {

using h2detail::Stream;

H2ClientSession::H2ClientSession(H2ClientCallbacks& callbacks, H2Limits limits, H2Clock clock)
    : H2Session(limits, std::move(clock)), cb_(callbacks) {
  if (!start(false)) fail(kH2InternalError);
}

H2ClientSession::~H2ClientSession() = default;

bool H2ClientSession::canOpenStream() const {
  if (failed() || goingAway_ || !session()) return false;
  uint32_t max = nghttp2_session_get_remote_settings(session(),
                                                     NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return activeStreams() < max && nghttp2_session_get_next_stream_id(session()) <= INT32_MAX;
}

int32_t H2ClientSession::submitRequest(std::span<const H2Field> headers, bool endStream) {
  if (!canOpenStream()) return -1;
  Stream* st = acquireStream(0);
  st->appKnows = true;
  size_t n = buildNva({}, {}, headers, true);
  int32_t id;
  if (endStream) {
    id = nghttp2_submit_request(session(), nullptr, nva_.data(), n, nullptr, st);
  } else {
    nghttp2_data_provider prd = providerFor(*st);
    id = nghttp2_submit_request(session(), nullptr, nva_.data(), n, &prd, st);
  }
  if (id < 0) {
    releaseStream(st);
    return -1;
  }
  setStreamId(*st, id);
  return id;
}

int H2ClientSession::onBeginHeaders(const nghttp2_frame& f) {
  if (Stream* st = streamOf(f.hd.stream_id)) {
    if (st->finalHead) st->trailersIn.clear();
    else st->headers.clear();  // a 1xx head before may have left fields
    st->status = 0;
    st->headerBytes = st->headerCount = 0;
  }
  return 0;
}

void H2ClientSession::onHeaderField(Stream& st, const nghttp2_frame&, std::string_view n,
                                    std::string_view v) {
  if (st.finalHead) {
    st.trailersIn.add(n, v);  // nghttp2 refuses pseudo fields in trailers
  } else if (n == ":status") {
    std::from_chars(v.data(), v.data() + v.size(), st.status);  // nghttp2 checked: 3 digits
  } else if (n[0] != ':') {
    st.headers.add(n, v);
  }
}

void H2ClientSession::headersReceived(Stream& st, bool endStream) {
  int32_t id = st.id;
  if (st.tooLarge) {
    resetStream(id, kH2InternalError);  // the app answers the client 502 on the close
    return;
  }
  if (st.finalHead) {
    cb_.onResponseTrailers(id, st.trailersIn);
    if (st.live()) cb_.onResponseEnd(id);
    return;
  }
  if (st.status < 200) return;  // informational (100, 103): not exposed
  st.finalHead = true;
  cb_.onResponseHead(id, st.status, st.headers, endStream);
  if (endStream && st.live()) cb_.onResponseEnd(id);
}

int H2ClientSession::onFrameReceived(const nghttp2_frame& f) {
  int32_t id = f.hd.stream_id;
  bool end = f.hd.flags & NGHTTP2_FLAG_END_STREAM;
  switch (f.hd.type) {
    case NGHTTP2_HEADERS:
      if (Stream* st = streamOf(id); st && st->live()) headersReceived(*st, end);
      return 0;
    case NGHTTP2_DATA:
      if (Stream* st = streamOf(id); end && st && st->live()) cb_.onResponseEnd(id);
      return 0;
    case NGHTTP2_GOAWAY:
      goingAway_ = true;
      cb_.onGoAway(f.goaway.last_stream_id);
      return 0;
    default:
      return 0;
  }
}

void H2ClientSession::onFrameNotSent(const nghttp2_frame& f) {
  // A request HEADERS that never left (GOAWAY, reset before sending, session ending): nghttp2
  // opened no stream, so no close callback comes; the app still gets its one onStreamClosed.
  if (f.hd.type != NGHTTP2_HEADERS || nghttp2_session_find_stream(session(), f.hd.stream_id))
    return;
  Stream* st = lookup(f.hd.stream_id);
  if (!st) return;
  bool tell = !st->closed;
  st->closed = true;
  if (tell) cb_.onStreamClosed(f.hd.stream_id, kH2RefusedStream);
  releaseStream(st);
}

void H2ClientSession::onData(int32_t stream, const char* data, size_t len) {
  cb_.onResponseData(stream, data, len);
}

void H2ClientSession::notifyClosed(int32_t stream, uint32_t errorCode) {
  cb_.onStreamClosed(stream, errorCode);
}

void H2ClientSession::notifyDrained(int32_t stream) { cb_.onStreamDrained(stream); }

}  // namespace portico::http
