// portico_test_backend: the HTTP/1.1 origin server that integration tests and benchmarks put
// behind the gateway (echo, sized bodies, delays, status codes, resets, hangs). Test-only code.
//
// Blocking sockets and one thread per connection on purpose: simple and obviously right, so that
// a failing integration test points at the gateway, not at its peer. Requests are parsed with
// llhttp; each response is written synchronously from the parser's callbacks, which keeps
// pipelined answers in order for free. Request bodies are never buffered beyond 4 KiB (they are
// hashed with FNV-1a 64 as they stream by), so memory stays constant for any upload size.
//
// Usage: portico_test_backend --port N [--name NAME] [--fail-status CODE]   (port 0 = any free port)
// Prints "listening on PORT\n" to stdout once it accepts connections on 127.0.0.1.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "llhttp.h"

namespace {

constexpr size_t kMaxHeadBytes = 256 * 1024;  // request line + headers; more is answered with 431
constexpr size_t kMaxHeaderCount = 1000;
constexpr size_t kEchoBodyLimit = 4096;       // /echo includes the body itself up to this size
constexpr size_t kWriteChunk = 64 * 1024;     // /bytes writes (and chunk sizes) in 64 KiB pieces
constexpr uint64_t kMaxBytesBody = uint64_t{1} << 40;
constexpr long kMaxDelayMs = 3'600'000;

// /bytes/N body: byte i is kPattern[i % 64], so a client can rebuild the expected body cheaply.
constexpr std::string_view kPattern =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
static_assert(kPattern.size() == 64 && kWriteChunk % 64 == 0);

std::string g_name = "backend";
// --fail-status N: every request except /__log is answered N (outlier-detection tests).
int g_failStatus = 0;
std::atomic<uint64_t> g_next_connection_id{1};
std::string g_pattern_block;  // kWriteChunk bytes of kPattern, built once in main()

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv1a64(uint64_t h, const char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= kFnvPrime;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp > 0x10FFFF) return 0;
  return len;
}

// Appends s as a JSON string. Valid UTF-8 passes through; any other byte >= 0x80 becomes
// \u00XX (its Latin-1 reading), so the output is always valid JSON whatever the input.
void appendJsonString(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = utf8SequenceLength(s, i);
      if (len > 0) {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

const char* reasonPhrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && asciiLower(a) == asciiLower(b);
}

// Parses a whole string of decimal digits; false on anything else or overflow.
template <typename T>
bool parseDecimal(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// How a connection ends after the current callback returns an error on purpose.
enum class CloseMode { None, Graceful, Abort };

struct Connection {
  int fd = -1;
  uint64_t id = 0;
  uint64_t requests = 0;  // requests started on this connection (1-based numbering)
  llhttp_t parser{};

  // Current request.
  std::string url;
  std::string field;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  size_t head_bytes = 0;
  uint64_t body_length = 0;
  uint64_t body_hash = kFnvOffset;
  std::string body_prefix;  // first kEchoBodyLimit + 1 bytes of the body

  CloseMode close_mode = CloseMode::None;  // set with a callback error: not a parse error
  int error_status = 0;                    // set with a callback error: answer this, then close
  bool write_failed = false;

  void resetRequest() {
    url.clear();
    field.clear();
    value.clear();
    headers.clear();
    head_bytes = 0;
    body_length = 0;
    body_hash = kFnvOffset;
    body_prefix.clear();
  }

  const std::string* header(std::string_view lower_name) const {
    for (const auto& [n, v] : headers) {
      if (n == lower_name) return &v;
    }
    return nullptr;
  }

  bool sendAll(const char* data, size_t len) {
    while (len > 0) {
      ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        write_failed = true;
        return false;
      }
      data += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }
  bool sendAll(std::string_view s) { return sendAll(s.data(), s.size()); }
};

Connection& conn(llhttp_t* p) { return *static_cast<Connection*>(p->data); }

bool isHead(llhttp_t* p) { return llhttp_get_method(p) == HTTP_HEAD; }

std::string responseHead(int code, std::string_view content_type, const std::string* content_length,
                         bool chunked, bool keep_alive, bool http10) {
  std::string h = "HTTP/1.1 " + std::to_string(code) + " " + reasonPhrase(code) + "\r\n";
  h += "x-backend: " + g_name + "\r\n";
  if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
  if (content_length != nullptr) h += "Content-Length: " + *content_length + "\r\n";
  if (chunked) h += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive) {
    h += "Connection: close\r\n";
  } else if (http10) {
    h += "Connection: keep-alive\r\n";
  }
  h += "\r\n";
  return h;
}

// Sends a complete response with an in-memory body.
bool sendSimple(Connection& c, int code, std::string_view content_type, std::string_view body,
                bool keep_alive) {
  bool http10 = llhttp_get_http_major(&c.parser) == 1 && llhttp_get_http_minor(&c.parser) == 0;
  bool no_body = code == 204 || code == 304 || (code >= 100 && code < 200);
  std::string length = std::to_string(body.size());
  std::string out = responseHead(code, no_body ? "" : content_type, code == 204 ? nullptr : &length,
                                 false, keep_alive, http10);
  if (!no_body && !isHead(&c.parser)) out.append(body);
  return c.sendAll(out);
}

// /bytes/N: N pattern bytes, with Content-Length or (chunked) in 64 KiB chunks.
bool sendBytes(Connection& c, uint64_t n, bool chunked, bool keep_alive) {
  bool http10 = llhttp_get_http_major(&c.parser) == 1 && llhttp_get_http_minor(&c.parser) == 0;
  bool delimited_by_close = false;
  if (chunked && http10) {
    chunked = false;  // HTTP/1.0 has no chunked coding: delimit the body by closing instead
    keep_alive = false;
    delimited_by_close = true;
  }
  std::string length = std::to_string(n);
  std::string head = responseHead(200, "application/octet-stream",
                                  chunked || delimited_by_close ? nullptr : &length, chunked,
                                  keep_alive, http10);
  if (!c.sendAll(head)) return false;
  if (isHead(&c.parser)) return true;
  uint64_t sent = 0;
  while (sent < n) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(kWriteChunk, n - sent));
    if (chunked) {
      char size_line[32];
      int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece);
      if (!c.sendAll(size_line, static_cast<size_t>(len))) return false;
    }
    // sent is always a multiple of kWriteChunk (a multiple of 64), so the block lines up.
    if (!c.sendAll(g_pattern_block.data(), piece)) return false;
    if (chunked && !c.sendAll("\r\n", 2)) return false;
    sent += piece;
  }
  if (chunked && !c.sendAll("0\r\n\r\n", 5)) return false;
  return true;
}

std::string echoJson(Connection& c, std::string_view method) {
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& [n, v] : c.headers) {
    bool found = false;
    for (auto& [mn, mv] : merged) {
      if (mn == n) {
        mv += ", ";
        mv += v;
        found = true;
        break;
      }
    }
    if (!found) merged.emplace_back(n, v);
  }
  std::string j = "{\"backend\":";
  appendJsonString(j, g_name);
  j += ",\"method\":";
  appendJsonString(j, method);
  j += ",\"path\":";
  appendJsonString(j, c.url);
  j += ",\"http_version\":\"" + std::to_string(llhttp_get_http_major(&c.parser)) + "." +
       std::to_string(llhttp_get_http_minor(&c.parser)) + "\"";
  j += ",\"headers\":{";
  bool first = true;
  for (const auto& [n, v] : merged) {
    if (!first) j += ',';
    first = false;
    appendJsonString(j, n);
    j += ':';
    appendJsonString(j, v);
  }
  j += "},\"body_length\":" + std::to_string(c.body_length);
  j += ",\"body_fnv1a64\":\"" + hex64(c.body_hash) + "\"";
  if (c.body_length <= kEchoBodyLimit) {
    j += ",\"body\":";
    appendJsonString(j, c.body_prefix);
  }
  j += ",\"connection_id\":" + std::to_string(c.id);
  j += ",\"request_number_on_connection\":" + std::to_string(c.requests);
  j += "}\n";
  return j;
}

// Path of the request target without the query; absolute-form targets lose scheme and authority.
std::string_view targetPath(std::string_view target, std::string_view* query) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    size_t slash = target.find('/', target.find("://") + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t q = target.find('?');
  *query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  return target.substr(0, q);
}

bool queryHas(std::string_view query, std::string_view param) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    if (query.substr(0, amp) == param) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// ---- llhttp callbacks --------------------------------------------------------------------------

int onMessageBegin(llhttp_t* p) {
  Connection& c = conn(p);
  c.resetRequest();
  ++c.requests;
  return 0;
}

int addHeadBytes(Connection& c, size_t n) {
  c.head_bytes += n;
  if (c.head_bytes > kMaxHeadBytes) {
    c.error_status = 431;
    return -1;
  }
  return 0;
}

int onUrl(llhttp_t* p, const char* at, size_t len) {
  Connection& c = conn(p);
  c.url.append(at, len);
  return addHeadBytes(c, len);
}

int onHeaderField(llhttp_t* p, const char* at, size_t len) {
  Connection& c = conn(p);
  c.field.append(at, len);
  return addHeadBytes(c, len);
}

int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  Connection& c = conn(p);
  c.value.append(at, len);
  return addHeadBytes(c, len);
}

int onHeaderValueComplete(llhttp_t* p) {
  Connection& c = conn(p);
  if (c.headers.size() >= kMaxHeaderCount) {
    c.error_status = 431;
    return -1;
  }
  c.headers.emplace_back(asciiLower(c.field), std::move(c.value));
  c.field.clear();
  c.value.clear();
  return 0;
}

int onHeadersComplete(llhttp_t* p) {
  Connection& c = conn(p);
  std::string_view query;
  if (targetPath(c.url, &query) == "/reset") {
    c.close_mode = CloseMode::Abort;  // RST, no response
    return -1;
  }
  const std::string* expect = c.header("expect");
  if (expect != nullptr && equalsIgnoreCase(*expect, "100-continue") &&
      llhttp_get_http_minor(p) >= 1) {
    if (!c.sendAll("HTTP/1.1 100 Continue\r\n\r\n")) {
      c.close_mode = CloseMode::Graceful;
      return -1;
    }
  }
  return 0;
}

int onBody(llhttp_t* p, const char* at, size_t len) {
  Connection& c = conn(p);
  c.body_length += len;
  c.body_hash = fnv1a64(c.body_hash, at, len);
  if (c.body_prefix.size() <= kEchoBodyLimit) {
    c.body_prefix.append(at, std::min(len, kEchoBodyLimit + 1 - c.body_prefix.size()));
  }
  return 0;
}

// Reads until the peer closes (or errors), discarding everything: /hang.
void drainUntilClosed(Connection& c) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

// State shared by all connections for /flaky and /__log (tests of retries and shadowing).
std::mutex g_stateMutex;
std::map<std::string, long> g_flakyCounts;
std::vector<std::string> g_requestLog;
std::vector<int64_t> g_requestTimesUs;  // steady-clock arrival of each g_requestLog entry

int64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ?code=C on /flaky: the failure status instead of 503 (a valid code 200..599), else 0.
int flakyFailureCode(std::string_view query) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    int code = 0;
    if (item.starts_with("code=") && parseDecimal(item.substr(5), code) && code >= 200 &&
        code <= 599)
      return code;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return 0;
}

std::string headerValue(const Connection& c, std::string_view name) {
  for (const auto& [k, v] : c.headers)
    if (k == name) return v;
  return {};
}

int onMessageComplete(llhttp_t* p) {
  Connection& c = conn(p);
  bool keep_alive = llhttp_should_keep_alive(p) != 0;
  std::string_view method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  std::string_view query;
  std::string_view path = targetPath(c.url, &query);
  bool ok = true;
  if (path != "/__log") {
    std::lock_guard<std::mutex> lock(g_stateMutex);
    if (g_requestLog.size() < 10000) {
      g_requestLog.push_back(std::string(method) + " " + c.url + " " + headerValue(c, "host"));
      g_requestTimesUs.push_back(steadyUs());
    }
  }

  if (g_failStatus != 0 && path != "/__log") {
    ok = sendSimple(c, g_failStatus, "text/plain", "forced failure\n", keep_alive);
  } else if (path.starts_with("/flaky/")) {
    // /flaky/N/KEY: 503 (or ?code=C) for the first N requests naming KEY, then 200 (retry
    // tests); with ?echo the 200 is /echo's JSON, to check the body a retry replayed.
    std::string_view rest = path.substr(7);
    size_t slash = rest.find('/');
    long n = 0;
    if (slash == std::string_view::npos || !parseDecimal(rest.substr(0, slash), n)) {
      ok = sendSimple(c, 400, "text/plain", "bad flaky path\n", keep_alive);
    } else {
      long seen;
      {
        std::lock_guard<std::mutex> lock(g_stateMutex);
        seen = ++g_flakyCounts[std::string(rest.substr(slash + 1))];
      }
      int code = flakyFailureCode(query);
      if (seen <= n)
        ok = sendSimple(c, code != 0 ? code : 503, "text/plain",
                        "failure " + std::to_string(seen) + "\n", keep_alive);
      else if (queryHas(query, "echo"))
        ok = sendSimple(c, 200, "application/json", echoJson(c, method), keep_alive);
      else
        ok = sendSimple(c, 200, "text/plain",
                        "success after " + std::to_string(seen - 1) + " failures\n", keep_alive);
    }
  } else if (path == "/__log") {
    // Every request seen so far, one "METHOD target host" per line (shadowing tests); with
    // ?times each line starts with its arrival in steady-clock microseconds (back-off tests).
    bool times = queryHas(query, "times");
    std::string body;
    {
      std::lock_guard<std::mutex> lock(g_stateMutex);
      for (size_t i = 0; i < g_requestLog.size(); ++i) {
        if (times) body += std::to_string(g_requestTimesUs[i]) + " ";
        body += g_requestLog[i] + "\n";
      }
    }
    ok = sendSimple(c, 200, "text/plain", body, keep_alive);
  } else if (path.starts_with("/echo")) {
    ok = sendSimple(c, 200, "application/json", echoJson(c, method), keep_alive);
  } else if (path == "/") {
    ok = sendSimple(c, 200, "text/plain", "hello from " + g_name + "\n", keep_alive);
  } else if (path.starts_with("/bytes/")) {
    uint64_t n = 0;
    if (!parseDecimal(path.substr(7), n) || n > kMaxBytesBody) {
      ok = sendSimple(c, 400, "text/plain", "bad size\n", keep_alive);
    } else {
      ok = sendBytes(c, n, queryHas(query, "chunked=1"), keep_alive);
    }
  } else if (path.starts_with("/delay/")) {
    long ms = 0;
    if (!parseDecimal(path.substr(7), ms) || ms > kMaxDelayMs) {
      ok = sendSimple(c, 400, "text/plain", "bad delay\n", keep_alive);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ok = sendSimple(c, 200, "text/plain", "ok", keep_alive);
    }
  } else if (path.starts_with("/status/")) {
    int code = 0;
    if (!parseDecimal(path.substr(8), code) || code < 200 || code > 599) {
      ok = sendSimple(c, 400, "text/plain", "bad status code\n", keep_alive);
    } else {
      ok = sendSimple(c, code, "text/plain", "status " + std::to_string(code) + "\n", keep_alive);
    }
  } else if (path == "/sink") {
    std::string body = "{\"body_length\":" + std::to_string(c.body_length) +
                       ",\"body_fnv1a64\":\"" + hex64(c.body_hash) + "\"}\n";
    ok = sendSimple(c, 200, "application/json", body, keep_alive);
  } else if (path == "/close") {
    sendSimple(c, 200, "text/plain", "closing\n", false);
    keep_alive = false;
  } else if (path == "/close-quietly") {
    // A server going away right after a response it framed for keep-alive (no "Connection:
    // close"): the response and the FIN leave in one segment (corked; shutdown pushes both).
    int on = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    sendSimple(c, 200, "text/plain", "closing quietly\n", keep_alive);
    keep_alive = false;
  } else if (path == "/hang") {
    drainUntilClosed(c);
    keep_alive = false;
  } else {
    ok = sendSimple(c, 404, "text/plain", "not found\n", keep_alive);
  }

  if (!ok || !keep_alive) {
    c.close_mode = CloseMode::Graceful;
    return -1;
  }
  return 0;
}

const llhttp_settings_t& parserSettings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = onMessageBegin;
    s.on_url = onUrl;
    s.on_header_field = onHeaderField;
    s.on_header_value = onHeaderValue;
    s.on_header_value_complete = onHeaderValueComplete;
    s.on_headers_complete = onHeadersComplete;
    s.on_body = onBody;
    s.on_message_complete = onMessageComplete;
    return s;
  }();
  return settings;
}

void closeConnection(Connection& c) {
  if (c.close_mode == CloseMode::Abort) {
    linger l{1, 0};  // close() now sends RST instead of FIN
    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else {
    // Half-close and let the peer read what we sent before the kernel discards unread input
    // (closing with unread data would turn our last response into a RST).
    ::shutdown(c.fd, SHUT_WR);
    timeval tv{1, 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (int i = 0; i < 256; ++i) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  ::close(c.fd);
}

// Answers a request the parser rejected, then closes. Nothing is sent if a response already
// started or the connection broke.
void rejectRequest(Connection& c, int code) {
  if (c.write_failed) return;
  std::string body = code == 431 ? "request header fields too large\n" : "bad request\n";
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reasonPhrase(code) + "\r\n" +
                    "x-backend: " + g_name + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  c.sendAll(out);
}

void serveConnection(int fd) {
  Connection c;
  c.fd = fd;
  c.id = g_next_connection_id.fetch_add(1);
  llhttp_init(&c.parser, HTTP_REQUEST, &parserSettings());
  c.parser.data = &c;

  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // EOF in the middle of a request: nobody is left to answer.
      break;
    }
    const char* data = buf.data();
    size_t len = static_cast<size_t>(n);
    llhttp_errno_t err = llhttp_execute(&c.parser, data, len);
    // An Upgrade/CONNECT request is answered like any other; keep parsing HTTP after it.
    while (err == HPE_PAUSED_UPGRADE) {
      const char* pos = llhttp_get_error_pos(&c.parser);
      llhttp_resume_after_upgrade(&c.parser);
      size_t rest = pos == nullptr ? 0 : static_cast<size_t>(data + len - pos);
      data = pos;
      len = rest;
      err = rest == 0 ? HPE_OK : llhttp_execute(&c.parser, data, len);
    }
    if (err == HPE_OK) continue;
    if (c.close_mode == CloseMode::None && !c.write_failed) {
      rejectRequest(c, c.error_status != 0 ? c.error_status : 400);
      if (c.close_mode == CloseMode::None) c.close_mode = CloseMode::Graceful;
    }
    break;
  }
  closeConnection(c);
}

int listenOn(uint16_t port, uint16_t* bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t alen = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen);
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --port N [--name NAME] [--fail-status CODE]   (port 0 = any free port)\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      if (!parseDecimal(std::string_view(argv[++i]), port) || port > 65535) return usage(argv[0]);
    } else if (arg == "--name" && i + 1 < argc) {
      g_name = argv[++i];
    } else if (arg == "--fail-status" && i + 1 < argc) {
      if (!parseDecimal(std::string_view(argv[++i]), g_failStatus) || g_failStatus < 200 ||
          g_failStatus > 599)
        return usage(argv[0]);
    } else if (arg == "--help" || arg == "-h") {
      usage(argv[0]);
      return 0;
    } else {
      return usage(argv[0]);
    }
  }
  if (port < 0) return usage(argv[0]);
  std::signal(SIGPIPE, SIG_IGN);

  g_pattern_block.reserve(kWriteChunk);
  while (g_pattern_block.size() < kWriteChunk) g_pattern_block.append(kPattern);

  uint16_t bound = 0;
  int listen_fd = listenOn(static_cast<uint16_t>(port), &bound);
  if (listen_fd < 0) {
    std::fprintf(stderr, "portico_test_backend: cannot listen on 127.0.0.1:%ld: %s\n", port,
                 std::strerror(errno));
    return 1;
  }
  std::printf("listening on %u\n", static_cast<unsigned>(bound));
  std::fflush(stdout);

  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EMFILE/ENFILE/ENOMEM: back off instead of spinning; existing connections carry on.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    try {
      std::thread(serveConnection, fd).detach();
    } catch (const std::system_error&) {
      ::close(fd);  // out of threads: drop this connection, keep serving the others
    }
  }
}
