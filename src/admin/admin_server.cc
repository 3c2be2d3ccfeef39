#include "admin/admin_server.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/log.h"
#include "controller/controller.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"

namespace portico::admin {

namespace {

/// Collects one request head; the admin API has no request bodies.
class HeadCollector : public http::H1ParserCallbacks {
public:
  bool done = false;
  http::ParserAction onHeadersComplete() override {
    done = true;
    return http::ParserAction::Pause;
  }
  http::ParserAction onBody(const char*, size_t) override { return http::ParserAction::Continue; }
  http::ParserAction onMessageComplete() override { return http::ParserAction::Continue; }
};

constexpr int kIoTimeoutMs = 2000;

}  // namespace

AdminServer::AdminServer(controller::Controller& controller) : controller_(controller) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start(const net::Address& address) {
  auto fd = net::listenTcp(address, 128);
  if (!fd.ok()) return Status::error("--admin-address: " + fd.error());
  listenFd_ = *fd;
  address_ = net::localAddress(listenFd_);
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
  HeadCollector collector;
  http::H1Parser parser(http::H1Parser::Type::Request, collector);
  char buf[8192];
  Buffer out;
  while (!collector.done) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kIoTimeoutMs) <= 0) return;  // a client that says nothing is dropped
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    auto r = parser.execute(buf, static_cast<size_t>(n));
    if (r.error) {
      http::writeLocalReply(out, 400, std::string("bad request: ") + parser.errorReason(), true);
      break;
    }
  }
  if (collector.done) {
    std::string_view target = parser.target();
    std::string_view path = target.substr(0, target.find('?'));
    int status = 200;
    std::string contentType = "application/json", body;
    route(parser.method(), path, status, contentType, body);
    http::writeResponse(out, status, contentType, body, true, parser.isHead());
  }
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void AdminServer::route(std::string_view method, std::string_view path, int& status,
                        std::string& contentType, std::string& body) {
  if (method != "GET" && method != "HEAD") {
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
    // Placeholder until the observability issue: the controller's own counters only.
    contentType = "text/plain; version=0.0.4";
    size_t rejected = 0, accepted = 0;
    for (const auto& s : controller_.statuses()) {
      if (s.status.state == config::ObjectStatus::State::Rejected) ++rejected;
      if (s.status.state == config::ObjectStatus::State::Accepted) ++accepted;
    }
    body = "# HELP portico_controller_snapshot_builds_total Snapshots built.\n"
           "# TYPE portico_controller_snapshot_builds_total counter\n"
           "portico_controller_snapshot_builds_total " + std::to_string(controller_.builds()) + "\n"
           "# HELP portico_controller_objects Config objects by state.\n"
           "# TYPE portico_controller_objects gauge\n"
           "portico_controller_objects{state=\"accepted\"} " + std::to_string(accepted) + "\n"
           "portico_controller_objects{state=\"rejected\"} " + std::to_string(rejected) + "\n";
  } else if (path == "/") {
    contentType = "text/plain";
    body = "portico admin: /ready /statuses /config_dump /upstreams /metrics\n";
  } else {
    status = 404;
    contentType = "text/plain";
    body = "not found\n";
  }
}

}  // namespace portico::admin
