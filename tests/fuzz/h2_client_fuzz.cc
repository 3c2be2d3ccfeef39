// Fuzzes H2ClientSession against a hostile upstream: three requests are in flight (a GET, a POST
// with a body, a POST with a body and trailers), then arbitrary server bytes (SETTINGS, HEADERS,
// DATA, RST_STREAM, GOAWAY, PUSH_PROMISE, WINDOW_UPDATE, ...) arrive split at varying places;
// the app answers callbacks the way the gateway does and the callback contract is checked.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "http/h2_client_session.h"

using namespace portico;
using namespace portico::http;

namespace {

[[noreturn]] void invariant(const char* what, int32_t stream) {
  fprintf(stderr, "INVARIANT: %s (stream %d)\n", what, stream);
  abort();
}

struct FuzzApp : H2ClientCallbacks {
  enum class St { Sent, Head, Ended, Closed };
  H2ClientSession* s = nullptr;
  std::map<int32_t, St> streams;
  uint8_t mode = 0;
  bool goaway = false;
  int32_t goawayLast = INT32_MAX;

  St& state(int32_t id, const char* what) {
    auto it = streams.find(id);
    if (it == streams.end()) invariant(what, id);
    if (it->second == St::Closed) invariant("callback after onStreamClosed", id);
    return it->second;
  }
  void onResponseHead(int32_t id, int status, const HeaderMap& headers, bool) override {
    St& st = state(id, "head for unknown stream");
    if (st != St::Sent) invariant("second final head", id);
    if (status < 200 || status > 999) invariant("status out of range", id);
    for (const HeaderEntry& h : headers)
      if (h.name.empty() || h.name[0] == ':') invariant("pseudo or empty field in the head", id);
    st = St::Head;
    if ((static_cast<uint32_t>(id) / 2 + mode) % 4 == 1) s->resetStream(id, kH2Cancel);
  }
  void onResponseData(int32_t id, const char*, size_t len) override {
    if (state(id, "data for unknown stream") != St::Head) invariant("data outside the body", id);
    if (mode != 3) s->consumed(id, len);  // mode 3: never consume, windows stay shut
  }
  void onResponseTrailers(int32_t id, const HeaderMap&) override {
    if (state(id, "trailers for unknown stream") != St::Head) invariant("trailers outside", id);
  }
  void onResponseEnd(int32_t id) override {
    St& st = state(id, "end for unknown stream");
    if (st != St::Head) invariant("end without a head, or twice", id);
    st = St::Ended;
  }
  void onStreamClosed(int32_t id, uint32_t) override {
    state(id, "close for unknown stream") = St::Closed;
  }
  void onStreamDrained(int32_t id) override { state(id, "drained for unknown stream"); }
  void onGoAway(int32_t lastStreamId) override {
    goaway = true;
    goawayLast = std::min(goawayLast, lastStreamId);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  FuzzApp app;
  app.mode = data[0] & 3;
  bool moreRequests = data[0] & 4;  // open a new stream between pieces while allowed
  H2Limits limits;
  limits.maxConcurrentStreams = 16;
  limits.maxHeaderListBytes = 4096;
  limits.maxHeaders = 20;
  limits.initialStreamWindow = 16 * 1024;
  limits.connectionWindow = 64 * 1024;
  MonoMs now = 0;
  H2ClientSession session(app, limits, [&now] { return now += 100; });
  app.s = &session;
  size_t chunk = 1 + data[1] * 7;  // splits frames at varying places
  data += 2;
  size -= 2;

  const std::string body(20000, 'q');  // more than the default 16 KiB frame
  auto open = [&](int kind) {
    H2Field get[] = {{":method", "GET"}, {":scheme", "http"}, {":authority", "up"},
                     {":path", "/a"}, {"x-k", "1"}};
    H2Field post[] = {{":method", "POST"}, {":scheme", "http"}, {":authority", "up"},
                      {":path", "/b"}, {"te", "trailers"}, {"connection", "close"}};
    int32_t id = kind == 0 ? session.submitRequest(get, true) : session.submitRequest(post, false);
    if (id < 0) return;
    if (app.streams.count(id)) invariant("stream id reused", id);
    app.streams[id] = FuzzApp::St::Sent;
    if (kind == 1) {
      session.sendData(id, body.data(), body.size(), true);
    } else if (kind == 2) {
      session.sendData(id, body.data(), 100, false);
      H2Field t[] = {{"grpc-status", "0"}};
      session.sendTrailers(id, t);
    }
  };
  for (int k = 0; k < 3; ++k) open(k);

  Buffer out;
  session.produceOutput(out);  // preface, SETTINGS, the requests: what the server would read
  for (size_t off = 0, n = 0; off < size; off += chunk, ++n) {
    bool ok = session.receive(reinterpret_cast<const char*>(data) + off, std::min(chunk, size - off));
    out.clear();
    session.produceOutput(out);
    if (!ok || session.wantsClose()) break;
    if (moreRequests && session.canOpenStream()) open(static_cast<int>(n % 3));
    if (session.canOpenStream() && app.goaway) invariant("stream allowed after GOAWAY", 0);
  }
  return 0;
}
