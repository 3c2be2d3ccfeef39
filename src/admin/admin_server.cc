#include "admin/admin_server.h"

#include <cerrno>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/log.h"
#include "config/decode.h"
#include "controller/controller.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"
#include "observability/observability.h"

namespace portico::admin {

namespace {

/// Collects one request: its head, then its body (object writes) up to kMaxBodyBytes.
class RequestCollector : public http::H1ParserCallbacks {
public:
  bool headDone = false;
  bool done = false;
  bool tooLarge = false;
  std::string body;
  http::ParserAction onHeadersComplete() override {
    headDone = true;
    return http::ParserAction::Pause;  // lets handle() answer "Expect: 100-continue"
  }
  http::ParserAction onBody(const char* data, size_t len) override {
    if (body.size() + len > kMaxBodyBytes) {
      tooLarge = true;
      return http::ParserAction::Pause;
    }
    body.append(data, len);
    return http::ParserAction::Continue;
  }
  http::ParserAction onMessageComplete() override {
    done = true;
    return http::ParserAction::Pause;
  }
  static constexpr size_t kMaxBodyBytes = 4 * 1024 * 1024;
};

bool isLoopback(const net::Address& a) {
  if (a.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddrPtr());
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddrPtr());
    return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
  }
  return false;
}

/// Compares without an early exit, so that timing does not tell how much of a token matched.
bool sameSecret(std::string_view given, std::string_view token) {
  if (given.size() != token.size() || token.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

constexpr int kIoTimeoutMs = 2000;

}  // namespace

AdminServer::AdminServer(controller::Controller& controller)
    : controller_(controller), objectApi_(controller) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start(const net::Address& address) {
  auto fd = net::listenTcp(address, 128);
  if (!fd.ok()) return Status::error("--admin-address: " + fd.error());
  listenFd_ = *fd;
  address_ = net::localAddress(listenFd_);
  loopback_ = isLoopback(address_);
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { serve(); });
  return {};
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uint64_t one = 1;
  ssize_t r = write(wakeFd_, &one, sizeof(one));
  (void)r;
  thread_.join();
  close(listenFd_);
  close(wakeFd_);
}

void AdminServer::serve() {
  while (!stopping_) {
    pollfd fds[2] = {{listenFd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (stopping_) break;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    close(fd);
  }
}

void AdminServer::handle(int fd) {
  RequestCollector collector;
  http::H1Parser parser(http::H1Parser::Type::Request, collector);
  char buf[16384];
  Buffer out;
  bool continueSent = false, failed = false;
  while (!collector.done && !failed) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kIoTimeoutMs) <= 0) return;  // a client that says nothing is dropped
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    size_t off = 0;
    for (;;) {
      auto r = parser.execute(buf + off, static_cast<size_t>(n) - off);
      off += r.consumed;
      if (r.error) {
        http::writeLocalReply(out, 400, std::string("bad request: ") + parser.errorReason(), true);
        failed = true;
        break;
      }
      if (collector.tooLarge) {
        http::writeLocalReply(out, 413, "request body over 4 MiB", true);
        failed = true;
        break;
      }
      if (collector.headDone && !continueSent) {
        continueSent = true;
        const std::string* expect = parser.headers().get("expect");
        if (expect && !collector.done) {
          static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
          if (send(fd, kContinue, sizeof(kContinue) - 1, MSG_NOSIGNAL) < 0) return;
        }
      }
      if (collector.done || !r.paused) break;
      parser.resume();  // and run again, even with no byte left: completion may be pending
    }
  }
  if (collector.done) {
    std::string_view target = parser.target();
    size_t q = target.find('?');
    AdminRequest request{parser.method(), target.substr(0, q),
                         q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
                         collector.body};
    int status = 200;
    std::string contentType = "application/json", body;
    const std::string* authorization = parser.headers().get("authorization");
    AdminResponse denied;
    const std::string* accept = parser.headers().get("accept");
    if (request.path == "/metrics" && (request.method == "GET" || request.method == "HEAD"))
      observability::serveMetrics(accept ? *accept : std::string_view(), contentType, body);
    else if (authorized(request, authorization ? *authorization : std::string_view(), denied))
      route(request, status, contentType, body);
    else
      status = denied.status, contentType = denied.contentType, body = denied.body;
    http::writeResponse(out, status, contentType, body, true, parser.isHead());
  }
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

bool AdminServer::authorized(const AdminRequest& request, std::string_view authorization,
                             AdminResponse& response) const {
  bool api = request.path.substr(0, 5) == "/api/";
  bool open = request.path == "/" || request.path == "/ready" || request.path == "/metrics";
  if (token_.empty()) {
    if (!api || loopback_) return true;
    response.status = 403;
    response.body = "{\"error\":" +
                    config::jsonQuote("the admin API listens on " + address_.toString() +
                                      " (not loopback): start portico with --admin-token-file to "
                                      "enable /api/") +
                    "}";
    return false;
  }
  if (open) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) == kBearer &&
      sameSecret(authorization.substr(kBearer.size()), token_))
    return true;
  response.status = 401;
  response.body = "{\"error\":\"missing or wrong Authorization: Bearer token (see --admin-token-file)\"}";
  return false;
}

void AdminServer::route(const AdminRequest& request, int& status, std::string& contentType,
                        std::string& body) {
  std::string_view path = request.path;
  if (path.substr(0, 5) == "/api/") {
    AdminResponse response;
    objectApi_.handle(request, response);
    status = response.status;
    contentType = std::move(response.contentType);
    body = std::move(response.body);
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    status = 405;
    contentType = "text/plain";
    body = "method not allowed\n";
    return;
  }
  if (path == "/ready") {
    bool ready = controller_.ready();
    status = ready ? 200 : 503;
    contentType = "text/plain";
    body = ready ? "ready\n" : "not ready: no config published yet\n";
  } else if (path == "/statuses") {
    body = controller::statusesJson(controller_.statuses());
  } else if (path == "/config_dump") {
    body = controller_.configDumpJson();
  } else if (path == "/upstreams") {
    body = controller_.upstreamsJson();
  } else if (path == "/metrics") {
    observability::serveMetrics({}, contentType, body);  // handle() passes Accept
  } else if (path == "/") {
    contentType = "text/plain";
    body = "portico admin: /ready /statuses /config_dump /upstreams /metrics /api/objects /api/apply "
           "/api/version\n";
  } else {
    status = 404;
    contentType = "text/plain";
    body = "not found\n";
  }
}

}  // namespace portico::admin
