#include "http/h2_server_session.h"

#include <charconv>
#include <cstring>

namespace portico::http {

using h2detail::Stream;

namespace {
// Opaque data of the PING that times the final GOAWAY of a graceful shutdown.
constexpr uint8_t kDrainPing[8] = {'p', 'o', 'r', 't', 'i', 'c', 'o', 'd'};
}  // namespace

H2ServerSession::H2ServerSession(H2ServerCallbacks& callbacks, H2Limits limits, H2Clock clock)
    : H2Session(limits, std::move(clock)), cb_(callbacks) {
  if (!start(true)) fail(kH2InternalError);
}

H2ServerSession::~H2ServerSession() = default;

bool H2ServerSession::looksLikePreface(std::string_view b) {
  if (b.empty()) return false;
  return b.size() >= kPreface.size() ? b.substr(0, kPreface.size()) == kPreface
                                     : kPreface.substr(0, b.size()) == b;
}

int H2ServerSession::onBeginHeaders(const nghttp2_frame& f) {
  int32_t id = f.hd.stream_id;
  if (f.headers.cat == NGHTTP2_HCAT_REQUEST) {
    nghttp2_session_set_stream_user_data(session(), id, acquireStream(id));
  } else if (Stream* st = streamOf(id)) {  // trailers
    st->trailersIn.clear();
    st->headerBytes = st->headerCount = 0;
  }
  return 0;
}

void H2ServerSession::onHeaderField(Stream& st, const nghttp2_frame& f, std::string_view n,
                                    std::string_view v) {
  if (f.headers.cat != NGHTTP2_HCAT_REQUEST) {
    st.trailersIn.add(n, v);  // nghttp2 already refused pseudo fields in trailers
    return;
  }
  // nghttp2 (HTTP messaging on) has validated the field: known pseudo fields once each and
  // before regular ones, no connection-specific fields, te only "trailers", lowercase names.
  if (n[0] == ':') {
    if (n == ":method") st.method = v;
    else if (n == ":scheme") st.scheme = v;
    else if (n == ":path") st.path = v;
    else if (n == ":authority") {
      st.authority = v;
      st.authoritySeen = true;
    }
    return;
  }
  if (n == "cookie") {  // RFC 9113 §8.2.3: crumbs are joined before going to HTTP/1 or the app
    if (!st.cookie.empty()) st.cookie += "; ";
    st.cookie += v;
    return;
  }
  st.headers.add(n, v);
}

void H2ServerSession::requestHeadReceived(Stream& st, bool endStream) {
  if (st.tooLarge) {
    refuse(st, 431, kH2NoError);
    return;
  }
  const std::string* host = st.headers.get("host");
  // RFC 9113 §8.3.1: a Host naming another entity than :authority makes the request malformed;
  // letting both through invites routing on one and forwarding the other.
  if (host && st.authoritySeen && !equalsIgnoreCase(*host, st.authority)) {
    refuse(st, 0, kH2ProtocolError);
    return;
  }
  if (!st.cookie.empty()) st.headers.add("cookie", st.cookie);
  std::optional<uint64_t> length;
  if (const std::string* cl = st.headers.get("content-length")) length = parseContentLength(*cl);
  std::string_view authority = st.authoritySeen ? std::string_view(st.authority)
                               : host           ? std::string_view(*host)
                                                : std::string_view();
  H2RequestHead head{st.method, st.scheme, authority, st.path, st.headers, length};
  st.appKnows = true;
  int32_t id = st.id;
  cb_.onRequestHead(id, head, endStream);
  if (endStream && st.live()) cb_.onRequestEnd(id);
}

int H2ServerSession::onFrameReceived(const nghttp2_frame& f) {
  int32_t id = f.hd.stream_id;
  bool end = f.hd.flags & NGHTTP2_FLAG_END_STREAM;
  switch (f.hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* st = streamOf(id);
      if (!st || st->refused || st->closed || st->resetSent) return 0;
      if (f.headers.cat == NGHTTP2_HCAT_REQUEST) {
        requestHeadReceived(*st, end);
        if (pendingFailCode_) return NGHTTP2_ERR_CALLBACK_FAILURE;
      } else if (st->appKnows) {  // trailers (nghttp2 made sure they end the stream)
        if (st->tooLarge) {
          resetStream(id, kH2ProtocolError);
          return 0;
        }
        cb_.onRequestTrailers(id, st->trailersIn);
        if (st->live()) cb_.onRequestEnd(id);
      }
      return 0;
    }
    case NGHTTP2_DATA:
      if (end) {
        Stream* st = streamOf(id);
        if (st && st->live()) cb_.onRequestEnd(id);
      }
      return 0;
    case NGHTTP2_PING:
      if ((f.hd.flags & NGHTTP2_FLAG_ACK) && drain_ == Drain::NoticeSent &&
          memcmp(f.ping.opaque_data, kDrainPing, 8) == 0)
        sendFinalGoaway();
      return 0;
    default:
      return 0;
  }
}

void H2ServerSession::onFrameSent(const nghttp2_frame& f) {
  // The response is complete but the client is still sending: RFC 9113 §8.1 lets us stop the
  // request body with RST_STREAM(NO_ERROR) instead of reading (and windowing) it for nothing.
  if ((f.hd.type == NGHTTP2_HEADERS || f.hd.type == NGHTTP2_DATA) &&
      (f.hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      nghttp2_session_get_stream_remote_close(session(), f.hd.stream_id) == 0)
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, f.hd.stream_id, NGHTTP2_NO_ERROR);
}

void H2ServerSession::onData(int32_t stream, const char* data, size_t len) {
  cb_.onRequestData(stream, data, len);
}

void H2ServerSession::notifyClosed(int32_t stream, uint32_t errorCode) {
  cb_.onStreamClosed(stream, errorCode);
}

void H2ServerSession::notifyDrained(int32_t stream) { cb_.onStreamDrained(stream); }

void H2ServerSession::refuse(Stream& st, int status, uint32_t resetCode) {
  st.refused = true;
  // Refusals are resets the client makes us do: they count toward the rapid-reset limit.
  if (countReset()) pendingFailCode_ = kH2EnhanceYourCalm;
  if (status == 0) {
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, st.id, resetCode);
    return;
  }
  char code[4];
  std::to_chars(code, code + 3, status);
  size_t n = buildNva(":status", std::string_view(code, 3), {}, false);
  nghttp2_submit_response(session(), st.id, nva_.data(), n, nullptr);
}

void H2ServerSession::submitResponse(int32_t stream, int status,
                                     std::span<const H2Field> headers, bool endStream) {
  Stream* st = findStream(stream);
  if (!st || st->responded) return;
  if (status < 100 || status > 999) status = 500;  // :status is exactly three digits
  char code[4];
  std::to_chars(code, code + 3, status);
  size_t n = buildNva(":status", std::string_view(code, 3), headers, false);
  if (status < 200) {  // informational: a head of its own, the final one follows
    nghttp2_submit_headers(session(), NGHTTP2_FLAG_NONE, stream, nullptr, nva_.data(), n,
                           nullptr);
    return;
  }
  st->responded = true;
  if (endStream) {
    nghttp2_submit_response(session(), stream, nva_.data(), n, nullptr);
    return;
  }
  nghttp2_data_provider prd = providerFor(*st);
  nghttp2_submit_response(session(), stream, nva_.data(), n, &prd);
}

void H2ServerSession::shutdown() {
  if (failed()) return;
  if (drain_ == Drain::None) {
    nghttp2_submit_shutdown_notice(session());
    nghttp2_submit_ping(session(), NGHTTP2_FLAG_NONE, kDrainPing);
    drain_ = Drain::NoticeSent;
  } else if (drain_ == Drain::NoticeSent) {
    sendFinalGoaway();
  }
}

void H2ServerSession::sendFinalGoaway() {
  drain_ = Drain::Done;
  nghttp2_submit_goaway(session(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

}  // namespace portico::http
