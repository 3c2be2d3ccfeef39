// Fuzzes H2ServerSession: arbitrary bytes after a valid client preface, fed in pieces, with an
// app that answers, streams, resets or ignores streams, and checks the callback contract.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "http/h2_server_session.h"

using namespace portico;
using namespace portico::http;

namespace {

[[noreturn]] void invariant(const char* what, int32_t stream) {
  fprintf(stderr, "INVARIANT: %s (stream %d)\n", what, stream);
  abort();
}

struct FuzzApp : H2ServerCallbacks {
  enum class St { Open, Ended, Closed };
  H2ServerSession* s = nullptr;
  std::map<int32_t, St> streams;
  uint8_t mode = 0;

  // How the app treats stream `id` (stream ids go up to 2^31-1: no signed overflow here).
  uint32_t kind(int32_t id) const { return (static_cast<uint32_t>(id) + mode) % 4; }

  St& state(int32_t id, const char* what) {
    auto it = streams.find(id);
    if (it == streams.end()) invariant(what, id);
    if (it->second == St::Closed) invariant("callback after onStreamClosed", id);
    return it->second;
  }
  void onRequestHead(int32_t id, const H2RequestHead& head, bool) override {
    if (streams.count(id)) invariant("onRequestHead twice", id);
    if (head.method.empty()) invariant("empty :method", id);
    streams[id] = St::Open;
    switch (kind(id)) {
      case 0: {  // answer at once, with a body and trailers
        H2Field h[] = {{"content-type", "text/plain"}};
        s->submitResponse(id, 200, h, false);
        s->sendData(id, "early body", 10, false);
        H2Field t[] = {{"x-trailer", "1"}};
        s->sendTrailers(id, t);
        break;
      }
      case 1:
        s->resetStream(id, kH2Cancel);
        break;
      default:
        break;  // answered at the end of the request, or never
    }
  }
  void onRequestData(int32_t id, const char*, size_t len) override {
    if (state(id, "data for unknown stream") != St::Open) invariant("data after end", id);
    if (kind(id) != 3) s->consumed(id, len);
  }
  void onRequestTrailers(int32_t id, const HeaderMap&) override {
    if (state(id, "trailers for unknown stream") != St::Open) invariant("trailers after end", id);
  }
  void onRequestEnd(int32_t id) override {
    St& st = state(id, "end for unknown stream");
    if (st != St::Open) invariant("onRequestEnd twice", id);
    st = St::Ended;
    if (kind(id) == 2) {
      s->submitResponse(id, 204, {}, true);
    } else if (kind(id) == 3) {
      s->submitResponse(id, 200, {}, false);
      std::string big(40000, 'b');
      s->sendData(id, big.data(), big.size(), true);
    }
  }
  void onStreamClosed(int32_t id, uint32_t) override {
    state(id, "close for unknown stream") = St::Closed;
  }
  void onStreamDrained(int32_t id) override { state(id, "drained for unknown stream"); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  FuzzApp app;
  app.mode = data[0] & 3;
  H2Limits limits;
  limits.maxConcurrentStreams = 16;
  limits.maxHeaderListBytes = 4096;
  limits.maxHeaders = 20;
  limits.initialStreamWindow = 16 * 1024;
  limits.connectionWindow = 64 * 1024;
  limits.maxResetsPerSecond = 20;
  limits.maxControlFramesPerSecond = 50;
  MonoMs now = 0;
  H2ServerSession session(app, limits, [&now] { return now += 100; });
  app.s = &session;
  bool drain = data[1] & 0x80;
  size_t chunk = 1 + (data[1] & 0x7f) * 13;  // splits frames at varying places
  data += 2;
  size -= 2;

  Buffer out;
  auto feed = [&](const char* p, size_t n) {
    bool ok = session.receive(p, n);
    out.clear();
    session.produceOutput(out);
    return ok && !session.wantsClose();
  };
  std::string_view preface = H2ServerSession::kPreface;
  if (!feed(preface.data(), preface.size())) invariant("preface refused", 0);
  for (size_t off = 0; off < size; off += chunk) {
    if (drain && off >= size / 2 && off < size / 2 + chunk) session.shutdown();
    if (!feed(reinterpret_cast<const char*>(data) + off, std::min(chunk, size - off))) break;
  }
  if (session.activeStreams() > limits.maxConcurrentStreams + 1)
    invariant("more streams than the limit", static_cast<int32_t>(session.activeStreams()));
  return 0;
}
