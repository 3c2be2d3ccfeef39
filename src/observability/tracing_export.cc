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

#include "common/clock.h"
#include "http/h1_parser.h"

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
