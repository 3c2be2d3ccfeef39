#include "observability/tracing_export.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "http/h1_parser.h"
#include "observability/access_log_format.h"
#include "observability/tracing_context.h"

namespace portico::observability {

const char* toString(SpanError e) {
  switch (e) {
  case SpanError::None: return "";
  case SpanError::ConnectFailure: return "connect_failure";
  case SpanError::ConnectTimeout: return "connect_timeout";
  case SpanError::Reset: return "reset";
  case SpanError::Protocol: return "protocol_error";
  case SpanError::Timeout: return "timeout";
  case SpanError::Cancelled: return "cancelled";
  case SpanError::Status5xx: return "5xx";
  }
  return "";
}

// ---- URLs -----------------------------------------------------------------------------------------

Result<CollectorUrl> parseCollectorUrl(std::string_view url, std::string_view defaultPath) {
  if (url.starts_with("https://")) return Status::error("https collectors are not supported yet (use http://)");
  if (!url.starts_with("http://")) return Status::error("expected http://HOST[:PORT][/PATH], got \"" + std::string(url) + "\"");
  std::string_view rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  CollectorUrl u;
  u.hostHeader = std::string(authority);
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::error("unterminated [ in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::error("unexpected characters after ]");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status::error("no host in \"" + std::string(url) + "\"");
  for (char c : host)
    if (c <= ' ' || c == '@' || c == '?' || c == '#' || static_cast<unsigned char>(c) >= 0x7f)
      return Status::error("invalid host \"" + std::string(host) + "\"");
  u.host = std::string(host);
  if (!port.empty() || authority.ends_with(':')) {
    uint32_t p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) return Status::error("invalid port \"" + std::string(port) + "\"");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port.empty() || p == 0 || p > 65535) return Status::error("invalid port \"" + std::string(port) + "\"");
    u.port = static_cast<uint16_t>(p);
  }
  for (char c : path)
    if (c <= ' ' || static_cast<unsigned char>(c) >= 0x7f) return Status::error("invalid character in the path");
  u.path = path.empty() || path == "/" ? std::string(defaultPath) : std::string(path);
  return u;
}

// ---- encodings ------------------------------------------------------------------------------------

namespace {

using nlohmann::json;

std::string hexId(uint64_t v) {
  char b[16];
  hex16(v, b);
  return std::string(b, 16);
}

std::string traceIdHex(const Span& s, bool allow64) {
  if (allow64 && s.traceId64 && s.traceHi == 0) return hexId(s.traceLo);
  return hexId(s.traceHi) + hexId(s.traceLo);
}

std::string str(std::string_view v) { return std::string(v); }

/// The span's error text: its SpanError, else a 5xx status; empty when it succeeded.
std::string errorText(const Span& s) {
  if (s.status >= 500 && (s.error == SpanError::None || s.error == SpanError::Status5xx))
    return std::to_string(s.status);
  if (s.error != SpanError::None) return toString(s.error);
  return {};
}

std::string spanName(const Span& s) {
  std::string name(s.method.view());
  std::string_view what = s.kind == SpanKind::Server ? s.route.view() : s.upstream.view();
  if (what.empty() && s.kind == SpanKind::Server) what = s.path.view();
  if (!what.empty()) {
    if (!name.empty()) name += ' ';
    name += what;
  }
  return name.empty() ? std::string("request") : name;
}

/// The tags both encodings carry, as (key, value) strings.
std::vector<std::pair<std::string, std::string>> commonTags(const Span& s, bool otlp) {
  std::vector<std::pair<std::string, std::string>> t;
  auto add = [&t](const char* k, std::string_view v) {
    if (!v.empty()) t.emplace_back(k, std::string(v));
  };
  add(otlp ? "http.request.method" : "http.method", s.method.view());
  if (s.status) t.emplace_back(otlp ? "http.response.status_code" : "http.status_code", std::to_string(s.status));
  add(otlp ? "server.address" : "http.host", s.host.view());
  add("portico.route", s.route.view());
  add("portico.virtual_service", s.virtualService.view());
  add("portico.upstream", s.upstream.view());
  if (s.kind == SpanKind::Server) {
    add(otlp ? "url.path" : "http.path", s.path.view());
    add(otlp ? "client.address" : "peer.address", s.peer.view());
    if (s.responseFlags) {
      std::string flags;
      appendResponseFlags(flags, s.responseFlags);
      t.emplace_back("portico.response_flags", flags);
    }
  } else {
    add(otlp ? "network.peer.address" : "peer.address", s.upstreamHost.view());
    t.emplace_back("portico.attempt", std::to_string(s.attempt));
    if (s.attempt > 1) t.emplace_back("portico.retry", "true");
  }
  return t;
}

/// Zipkin's endpoint: an IP literal goes in ipv4/ipv6, "ip:port" also sets the port.
json zipkinEndpoint(std::string_view address, std::string_view serviceName) {
  json e = json::object();
  if (!serviceName.empty()) e["serviceName"] = str(serviceName);
  std::string_view ip = address;
  int port = 0;
  if (ip.starts_with('[')) {  // [v6]:port
    size_t close = ip.find(']');
    if (close != std::string_view::npos) {
      if (close + 2 < ip.size()) port = atoi(std::string(ip.substr(close + 2)).c_str());
      ip = ip.substr(1, close - 1);
    }
  } else if (std::count(ip.begin(), ip.end(), ':') == 1) {  // v4:port
    size_t colon = ip.find(':');
    port = atoi(std::string(ip.substr(colon + 1)).c_str());
    ip = ip.substr(0, colon);
  }
  bool v6 = ip.find(':') != std::string_view::npos;
  bool v4 = !v6 && !ip.empty() && ip.find_first_not_of("0123456789.") == std::string_view::npos;
  if (v6) e["ipv6"] = str(ip);
  else if (v4) e["ipv4"] = str(ip);
  if (port > 0 && port < 65536 && (v4 || v6)) e["port"] = port;
  return e;
}

std::string dump(const json& j) {
  // Paths and hosts are client bytes: invalid UTF-8 becomes U+FFFD instead of failing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string encodeZipkin(const Span* spans, size_t n, std::string_view serviceName) {
  json out = json::array();
  for (size_t i = 0; i < n; ++i) {
    const Span& s = spans[i];
    json j;
    j["traceId"] = traceIdHex(s, true);
    j["id"] = hexId(s.id);
    if (s.parentId) j["parentId"] = hexId(s.parentId);
    j["kind"] = s.kind == SpanKind::Server ? "SERVER" : "CLIENT";
    j["name"] = spanName(s);
    j["timestamp"] = s.startUnixUs;
    j["duration"] = s.durationUs ? s.durationUs : 1;  // 0 reads as "unknown" in Zipkin
    j["localEndpoint"] = {{"serviceName", str(serviceName)}};
    json remote = s.kind == SpanKind::Server ? zipkinEndpoint(s.peer.view(), {})
                                             : zipkinEndpoint(s.upstreamHost.view(), s.upstream.view());
    if (!remote.empty()) j["remoteEndpoint"] = remote;
    json tags = json::object();
    for (auto& [k, v] : commonTags(s, false)) tags[k] = v;
    std::string err = errorText(s);
    if (!err.empty()) tags["error"] = err;
    j["tags"] = tags;
    if (s.debug) j["debug"] = true;
    out.push_back(std::move(j));
  }
  return dump(out);
}

std::string encodeOtlp(const Span* spans, size_t n, std::string_view serviceName) {
  json list = json::array();
  for (size_t i = 0; i < n; ++i) {
    const Span& s = spans[i];
    json j;
    j["traceId"] = traceIdHex(s, false);
    j["spanId"] = hexId(s.id);
    if (s.parentId) j["parentSpanId"] = hexId(s.parentId);
    j["name"] = spanName(s);
    j["kind"] = s.kind == SpanKind::Server ? 2 : 3;  // SPAN_KIND_SERVER, SPAN_KIND_CLIENT
    // fixed64 fields are strings in the protobuf JSON mapping.
    uint64_t start = static_cast<uint64_t>(s.startUnixUs) * 1000;
    j["startTimeUnixNano"] = std::to_string(start);
    j["endTimeUnixNano"] = std::to_string(start + s.durationUs * 1000);
    json attrs = json::array();
    for (auto& [k, v] : commonTags(s, true)) {
      bool integer = k == "http.response.status_code" || k == "portico.attempt";
      attrs.push_back({{"key", k}, {"value", integer ? json{{"intValue", v}} : json{{"stringValue", v}}}});
    }
    if (s.kind == SpanKind::Client && s.attempt > 1)
      attrs.push_back({{"key", "http.request.resend_count"},
                       {"value", {{"intValue", std::to_string(s.attempt - 1)}}}});
    j["attributes"] = attrs;
    std::string err = errorText(s);
    if (!err.empty()) j["status"] = {{"code", 2}, {"message", err}};  // STATUS_CODE_ERROR
    list.push_back(std::move(j));
  }
  json resource = {{"attributes", json::array({{{"key", "service.name"},
                                                {"value", {{"stringValue", str(serviceName)}}}}})}};
  json scope = {{"scope", {{"name", "portico"}, {"version", PORTICO_VERSION}}}, {"spans", list}};
  json out = {{"resourceSpans", json::array({{{"resource", resource}, {"scopeSpans", json::array({scope})}}})}};
  return dump(out);
}

// ---- the HTTP client ------------------------------------------------------------------------------

namespace {

struct ResponseWatcher final : http::H1ParserCallbacks {
  bool headers = false, complete = false;
  http::ParserAction onHeadersComplete() override {
    headers = true;
    return http::ParserAction::Continue;
  }
  http::ParserAction onBody(const char*, size_t) override { return http::ParserAction::Continue; }
  http::ParserAction onMessageComplete() override {
    complete = true;
    return http::ParserAction::Pause;
  }
};

/// Waits for `events` on `fd` until `deadlineMs` (monotonic); false on timeout or error.
bool waitFor(int fd, short events, int64_t deadlineMs) {
  for (;;) {
    int64_t left = deadlineMs - monotonicMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

CollectorClient::~CollectorClient() { disconnect(); }

void CollectorClient::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status CollectorClient::connectTo(int64_t deadlineMs) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url_.port);
  int rc = ::getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::error("cannot resolve " + url_.host + ": " + gai_strerror(rc));
  std::string lastError = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      if (waitFor(fd, POLLOUT, deadlineMs)) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        r = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (r == 0) {
      fd_ = fd;
      ::freeaddrinfo(res);
      return {};
    }
    lastError = strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Status::error("connect " + url_.hostHeader + ": " + lastError);
}

Status CollectorClient::post(std::string_view contentType, std::string_view body, int64_t timeoutMs) {
  const int64_t deadline = monotonicMs() + timeoutMs;
  std::string request = "POST " + url_.path + " HTTP/1.1\r\nhost: " + url_.hostHeader +
                        "\r\ncontent-type: " + std::string(contentType) +
                        "\r\ncontent-length: " + std::to_string(body.size()) +
                        "\r\nuser-agent: portico/" PORTICO_VERSION "\r\n\r\n";
  // A kept-alive connection the collector closed meanwhile fails at once: one retry, fresh.
  for (int tries = 0; tries < 2; ++tries) {
    bool reused = fd_ >= 0;
    if (!reused) {
      Status s = connectTo(deadline);
      if (!s.ok()) return s;
    }
    std::string_view parts[2] = {request, body};
    bool sendFailed = false;
    for (std::string_view part : parts) {
      while (!part.empty() && !sendFailed) {
        ssize_t n = ::send(fd_, part.data(), part.size(), MSG_NOSIGNAL);
        if (n > 0) {
          part.remove_prefix(static_cast<size_t>(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          if (!waitFor(fd_, POLLOUT, deadline)) {
            disconnect();
            return Status::error("timed out sending to " + url_.hostHeader);
          }
        } else {
          sendFailed = true;
        }
      }
    }
    if (sendFailed) {
      disconnect();
      if (reused) continue;
      return Status::error("send to " + url_.hostHeader + ": " + strerror(errno));
    }
    ResponseWatcher watcher;
    http::H1Parser parser(http::H1Parser::Type::Response, watcher);
    char buf[4096];
    bool gotBytes = false;
    while (!watcher.complete) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        gotBytes = true;
        auto r = parser.execute(buf, static_cast<size_t>(n));
        if (r.error) {
          disconnect();
          return Status::error("invalid response from " + url_.hostHeader);
        }
      } else if (n == 0) {
        if (watcher.headers && parser.finish()) break;  // a body delimited by the close
        disconnect();
        if (reused && !gotBytes) break;  // retried below
        return Status::error(url_.hostHeader + " closed the connection before answering");
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!waitFor(fd_, POLLIN, deadline)) {
          disconnect();
          return Status::error("timed out waiting for " + url_.hostHeader);
        }
      } else {
        disconnect();
        if (reused && !gotBytes) break;
        return Status::error("receive from " + url_.hostHeader + ": " + strerror(errno));
      }
    }
    if (fd_ < 0 && !watcher.complete && !(watcher.headers)) continue;  // stale connection
    int status = parser.statusCode();
    if (!parser.keepAlive() || parser.bodyUntilEof()) disconnect();
    if (status < 200 || status > 299)
      return Status::error(url_.hostHeader + url_.path + " answered " + std::to_string(status));
    return {};
  }
  return Status::error("cannot send to " + url_.hostHeader);
}

}  // namespace portico::observability
