// Helpers for the HTTP/2 codec tests: a raw frame writer (RFC 9113 §4, HPACK literals without
// Huffman per RFC 7541 §6.2.2), a frame reader for what a session produced, recording apps and a
// pump that moves bytes between a client and a server session in memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/h2_client_session.h"
#include "http/h2_server_session.h"

namespace portico::http::h2test {

enum FrameType : uint8_t { kData = 0, kHeaders = 1, kPriority = 2, kRstStream = 3, kSettings = 4,
                           kPing = 6, kGoaway = 7, kWindowUpdate = 8, kContinuation = 9 };
enum Flag : uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };

inline void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  size_t n = payload.size();
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  put32(f, stream & 0x7fffffff);
  f.append(payload);
  return f;
}

/// HPACK integer with a 7-bit prefix (string lengths, Huffman bit clear).
inline void hpackLength(std::string& out, size_t n) {
  if (n < 127) {
    out.push_back(static_cast<char>(n));
    return;
  }
  out.push_back(127);
  n -= 127;
  while (n >= 128) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

/// A header block of "literal field without indexing, new name" entries.
inline std::string hpack(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out.push_back(0);
    hpackLength(out, name.size());
    out += name;
    hpackLength(out, value.size());
    out += value;
  }
  return out;
}

inline std::string preface() {
  return std::string(H2ServerSession::kPreface) + frame(kSettings, 0, 0, {});
}

inline std::string getHeaders(uint32_t stream, bool endStream = true) {
  return frame(kHeaders, kEndHeaders | (endStream ? kEndStream : 0), stream,
               hpack({{":method", "GET"}, {":scheme", "http"}, {":authority", "example.com"},
                      {":path", "/"}}));
}

inline std::string rstStream(uint32_t stream, uint32_t code) {
  std::string p;
  put32(p, code);
  return frame(kRstStream, 0, stream, p);
}

inline uint32_t be32(std::string_view p, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[at + i]);
  return v;
}

struct Frame {
  uint8_t type = 0, flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

/// Splits `bytes` into frames (a leading client preface is skipped); stops at a partial frame.
inline std::vector<Frame> parseFrames(std::string_view bytes) {
  if (bytes.substr(0, H2ServerSession::kPreface.size()) == H2ServerSession::kPreface)
    bytes.remove_prefix(H2ServerSession::kPreface.size());
  std::vector<Frame> frames;
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  while (bytes.size() >= 9) {
    size_t len = (size_t{u8(0)} << 16) | (size_t{u8(1)} << 8) | u8(2);
    if (bytes.size() < 9 + len) break;
    Frame f;
    f.type = u8(3);
    f.flags = u8(4);
    f.stream = be32(bytes, 5) & 0x7fffffff;
    f.payload.assign(bytes.substr(9, len));
    frames.push_back(std::move(f));
    bytes.remove_prefix(9 + len);
  }
  return frames;
}

/// The error code of the first GOAWAY in `bytes`, if any.
inline std::optional<uint32_t> goawayCode(std::string_view bytes) {
  for (const Frame& f : parseFrames(bytes))
    if (f.type == kGoaway && f.payload.size() >= 8) return be32(f.payload, 4);
  return std::nullopt;
}

/// RST_STREAM codes by stream in `bytes`.
inline std::map<uint32_t, uint32_t> resets(std::string_view bytes) {
  std::map<uint32_t, uint32_t> out;
  for (const Frame& f : parseFrames(bytes))
    if (f.type == kRstStream && f.payload.size() == 4) out[f.stream] = be32(f.payload, 0);
  return out;
}

/// Records what the server session reports; answers per the knobs.
struct ServerApp : H2ServerCallbacks {
  struct Req {
    std::string method, scheme, authority, path, body;
    std::vector<std::pair<std::string, std::string>> headers, trailers;
    std::optional<uint64_t> contentLength;
    bool headEnd = false, ended = false, closed = false;
    uint32_t closeCode = 0;
    int drained = 0;
  };
  H2ServerSession* session = nullptr;
  std::map<int32_t, Req> reqs;
  bool autoConsume = true;
  bool respondOnEnd = true;  ///< 200 + `responseBody` once the request ends
  std::string responseBody = "hello";
  std::vector<std::pair<std::string, std::string>> responseTrailers;
  int closedCount = 0;

  void onRequestHead(int32_t id, const H2RequestHead& h, bool end) override {
    Req& r = reqs[id];
    r.method = h.method;
    r.scheme = h.scheme;
    r.authority = h.authority;
    r.path = h.path;
    r.contentLength = h.contentLength;
    for (const HeaderEntry& e : h.headers) r.headers.emplace_back(e.name, e.value);
    r.headEnd = end;
  }
  void onRequestData(int32_t id, const char* d, size_t n) override {
    reqs[id].body.append(d, n);
    if (autoConsume) session->consumed(id, n);
  }
  void onRequestTrailers(int32_t id, const HeaderMap& t) override {
    for (const HeaderEntry& e : t) reqs[id].trailers.emplace_back(e.name, e.value);
  }
  void onRequestEnd(int32_t id) override {
    reqs[id].ended = true;
    if (respondOnEnd) respond(id);
  }
  void respond(int32_t id) {
    H2Field hs[] = {{"content-type", "text/plain"}, {"connection", "close"}};
    bool bodyless = responseBody.empty() && responseTrailers.empty();
    session->submitResponse(id, 200, hs, bodyless);
    if (bodyless) return;
    session->sendData(id, responseBody.data(), responseBody.size(), responseTrailers.empty());
    if (!responseTrailers.empty()) {
      std::vector<H2Field> t;
      for (auto& [n, v] : responseTrailers) t.push_back({n, v});
      session->sendTrailers(id, t);
    }
  }
  void onStreamClosed(int32_t id, uint32_t code) override {
    Req& r = reqs[id];
    EXPECT_FALSE(r.closed) << "onStreamClosed twice for " << id;
    r.closed = true;
    r.closeCode = code;
    ++closedCount;
  }
  void onStreamDrained(int32_t id) override { ++reqs[id].drained; }
};

struct ClientApp : H2ClientCallbacks {
  struct Resp {
    int status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers, trailers;
    bool headEnd = false, ended = false, closed = false;
    uint32_t closeCode = 0;
    int drained = 0;
  };
  H2ClientSession* session = nullptr;
  std::map<int32_t, Resp> resps;
  bool autoConsume = true;
  std::optional<int32_t> goaway;

  void onResponseHead(int32_t id, int status, const HeaderMap& h, bool end) override {
    Resp& r = resps[id];
    r.status = status;
    for (const HeaderEntry& e : h) r.headers.emplace_back(e.name, e.value);
    r.headEnd = end;
  }
  void onResponseData(int32_t id, const char* d, size_t n) override {
    resps[id].body.append(d, n);
    if (autoConsume) session->consumed(id, n);
  }
  void onResponseTrailers(int32_t id, const HeaderMap& t) override {
    for (const HeaderEntry& e : t) resps[id].trailers.emplace_back(e.name, e.value);
  }
  void onResponseEnd(int32_t id) override { resps[id].ended = true; }
  void onStreamClosed(int32_t id, uint32_t code) override {
    Resp& r = resps[id];
    EXPECT_FALSE(r.closed) << "onStreamClosed twice for " << id;
    r.closed = true;
    r.closeCode = code;
  }
  void onStreamDrained(int32_t id) override { ++resps[id].drained; }
  void onGoAway(int32_t last) override { goaway = last; }
};

/// Moves bytes both ways until neither side has anything to say (or `rounds` run out).
/// Returns what the server sent, for frame-level checks.
inline std::string pump(H2ClientSession& c, H2ServerSession& s, int rounds = 1000) {
  std::string fromServer;
  Buffer b;
  for (int i = 0; i < rounds; ++i) {
    b.clear();
    c.produceOutput(b);
    size_t toServer = b.size();
    if (toServer) s.receive(b.data(), b.size());
    b.clear();
    s.produceOutput(b);
    size_t toClient = b.size();
    fromServer.append(b.view());
    if (toClient) c.receive(b.data(), b.size());
    if (toServer == 0 && toClient == 0) break;
  }
  return fromServer;
}

}  // namespace portico::http::h2test
