#include "discovery/http_fetch.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "http/h1_parser.h"
#include "net/tls_transport.h"

namespace portico::discovery {

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Collects one response; stops at the first complete message.
class Collector : public http::H1ParserCallbacks {
public:
  explicit Collector(size_t maxBody) : maxBody_(maxBody) {}
  http::ParserAction onHeadersComplete() override { return http::ParserAction::Continue; }
  http::ParserAction onBody(const char* data, size_t len) override {
    if (body.size() + len > maxBody_) {
      tooLarge = true;
      return http::ParserAction::Pause;
    }
    body.append(data, len);
    return http::ParserAction::Continue;
  }
  http::ParserAction onMessageComplete() override {
    complete = true;
    return http::ParserAction::Pause;
  }

  std::string body;
  bool complete = false;
  bool tooLarge = false;

private:
  size_t maxBody_;
};

/// Waits for `events` on `fd` until `deadline` (ms, steady clock). False on timeout.
bool waitFor(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - nowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

/// The connected socket, plain or through TLS; every wait is bounded by `deadline` (ms,
/// steady clock). Errors are returned as text; empty = fine.
class Channel {
public:
  Channel(int fd, std::unique_ptr<net::TlsTransport> tls) : fd_(fd), tls_(std::move(tls)) {}

  std::string handshake(int64_t deadline) {
    if (!tls_) return "";
    for (;;) {
      int r = tls_->handshake();
      if (r == 1) return "";
      if (r < 0) return "TLS handshake: " + tls_->lastError();
      if (!waitFor(fd_, tls_->handshakeWantsRead() ? POLLIN : POLLOUT, deadline))
        return "TLS handshake timed out";
    }
  }

  std::string sendAll(const std::string& data, int64_t deadline) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = tls_ ? tls_->write(data.data() + sent, data.size() - sent)
                       : ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        short events = tls_ && tls_->writeWantsRead() ? POLLIN : POLLOUT;
        if (!waitFor(fd_, events, deadline)) return "timed out";
      } else {
        return tls_ ? "TLS: " + tls_->lastError() : std::string("send: ") + std::strerror(errno);
      }
    }
    return "";
  }

  /// > 0 bytes, 0 at the end of the stream, -1 with `error` set.
  ssize_t receive(char* buf, size_t len, int64_t deadline, std::string& error) {
    for (;;) {
      ssize_t n = tls_ ? tls_->read(buf, len) : ::recv(fd_, buf, len, 0);
      if (n >= 0) return n;
      if (errno != EAGAIN && errno != EINTR) {
        error = tls_ ? "TLS: " + tls_->lastError() : std::string("recv: ") + std::strerror(errno);
        return -1;
      }
      short events = tls_ && tls_->readWantsWrite() ? POLLOUT : POLLIN;
      if (!waitFor(fd_, events, deadline)) {
        error = "response timed out";
        return -1;
      }
    }
  }

private:
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;
};

}  // namespace

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  HttpUrl out;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    out.https = true;
    out.port = 443;
  } else {
    return Status::error("expected an http:// or https:// URL");
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.path.empty() && out.path[0] == '?') out.path.insert(out.path.begin(), '/');
  if (size_t hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  if (out.path.empty() || out.path[0] != '/') out.path.insert(out.path.begin(), '/');
  if (authority.find('@') != std::string_view::npos)
    return Status::error("credentials in the URL are not supported");
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::error("unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::error("invalid host");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status::error("URL without a host");
  for (char c : host)
    if (c <= ' ' || c == '/' || c == '\\' || c == 0x7f) return Status::error("invalid host");
  if (!port.empty()) {
    uint32_t p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) return Status::error("invalid port");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return Status::error("invalid port");
    out.port = static_cast<uint16_t>(p);
  }
  for (char c : out.path)
    if (c <= ' ' || c == 0x7f) return Status::error("invalid character in the URL path");
  out.host = std::string(host);
  out.authority = std::string(authority);
  return out;
}

Result<net::Address> resolveBlocking(const std::string& host, uint16_t port) {
  if (auto ip = net::Address::fromIp(host, port); ip.ok()) return *ip;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) return Status::error("cannot resolve " + host + ": " + gai_strerror(rc));
  net::Address a = net::Address::fromSockaddr(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  auto withPort = net::Address::fromIp(a.ipString(), port);
  if (!withPort.ok()) return Status::error("cannot resolve " + host);
  return *withPort;
}

Result<FetchResponse> httpGet(const net::Address& address, const std::string& authority,
                              const std::string& path, const FetchOptions& options,
                              const FetchTls& tls) {
  const int64_t start = nowMs();
  const int64_t deadline = start + options.totalTimeoutMs;
  const std::string where = address.toString();
  auto connected = net::connectTcp(address);
  if (!connected.ok()) return Status::error(where + ": " + connected.error());
  Fd fd(*connected);
  if (!waitFor(fd.get(), POLLOUT, std::min(deadline, start + options.connectTimeoutMs)))
    return Status::error(where + ": connect timed out");
  int soError = 0;
  socklen_t len = sizeof soError;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soError, &len);
  if (soError != 0) return Status::error(where + ": connect: " + std::strerror(soError));

  std::unique_ptr<net::TlsTransport> transport;
  if (tls.context) {
    // No session cache: one fetch per connection, seconds apart.
    transport = net::TlsTransport::connect(tls.context, fd.get(), tls.sni, nullptr);
    if (!transport) return Status::error(where + ": cannot allocate a TLS session");
  }
  Channel channel(fd.get(), std::move(transport));
  if (std::string e = channel.handshake(deadline); !e.empty()) return Status::error(where + ": " + e);

  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nAccept: application/json, application/yaml, */*\r\n"
                        "User-Agent: portico-discovery\r\nX-Gloo-Discovery: Swagger-Discovery\r\n"
                        "Connection: close\r\n\r\n";
  if (std::string e = channel.sendAll(request, deadline); !e.empty())
    return Status::error(where + ": " + e);

  Collector collector(options.maxBodyBytes);
  http::H1Parser parser(http::H1Parser::Type::Response, collector);
  char buf[16384];
  while (!collector.complete) {
    std::string error;
    ssize_t n = channel.receive(buf, sizeof buf, deadline, error);
    if (n < 0) return Status::error(where + ": " + error);
    if (n == 0) {
      if (!parser.finish() && !collector.complete)
        return Status::error(where + ": connection closed before the response was complete");
      break;
    }
    auto r = parser.execute(buf, static_cast<size_t>(n));
    if (collector.tooLarge)
      return Status::error(where + ": response larger than " +
                           std::to_string(options.maxBodyBytes) + " bytes");
    if (r.error) return Status::error(where + ": invalid HTTP response: " + parser.errorReason());
  }
  if (!collector.complete) return Status::error(where + ": incomplete response");
  FetchResponse out;
  out.status = parser.statusCode();
  if (const std::string* ct = parser.headers().get("content-type")) out.contentType = *ct;
  out.body = std::move(collector.body);
  return out;
}

}  // namespace portico::discovery
