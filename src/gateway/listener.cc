#include "gateway/listener.h"

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gateway/downstream_connection.h"
#include "gateway/worker.h"
#include "observability/metrics_registry.h"

namespace portico::gateway {

ListenerHandler::ListenerHandler(Worker& worker, std::shared_ptr<ListenSocketSet> sockets)
    : worker_(worker), sockets_(std::move(sockets)) {}

ListenerHandler::~ListenerHandler() { stopAccepting(false); }

Status ListenerHandler::start() {
  fd_ = sockets_->fd(worker_.index());
  if (fd_ < 0) return Status::error("listener socket already closed");
  Status s = worker_.loop().add(fd_, EPOLLIN, this);
  if (s.ok()) accepting_ = true;
  return s;
}

void ListenerHandler::stopAccepting(bool closeSocket) {
  if (accepting_) {
    if (paused_) {
      paused_ = false;
      if (worker_.stats()) worker_.stats()->downstream.listenersResumed.add();
    } else {
      worker_.loop().remove(fd_);
    }
    accepting_ = false;
  }
  if (closeSocket) sockets_->closeFor(worker_.index());
}

void ListenerHandler::pause() {
  if (!accepting_ || paused_) return;
  worker_.loop().remove(fd_);
  paused_ = true;
  if (worker_.stats()) worker_.stats()->downstream.listenersPaused.add();
}

void ListenerHandler::resume() {
  if (!accepting_ || !paused_) return;
  // Adding a socket whose backlog is not empty reports EPOLLIN at once (edge-triggered too), so
  // the clients that queued meanwhile are accepted now.
  Status s = worker_.loop().add(fd_, EPOLLIN, this);
  if (!s.ok()) {
    LOG_ERROR("listener %s: cannot resume accepting: %s", sockets_->address().toString().c_str(),
              s.message().c_str());
    return;
  }
  paused_ = false;
  if (worker_.stats()) worker_.stats()->downstream.listenersResumed.add();
}

void ListenerHandler::onEvents(uint32_t) {
  // Edge-triggered: accept until the queue is empty, or until the worker reaches
  // --max-connections (creating a connection may pause this listener).
  for (;;) {
    if (!accepting_ || paused_) return;
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        LOG_WARN("accept on %s: %s", sockets_->address().toString().c_str(), strerror(errno));
      return;
    }
    net::setNoDelay(fd);
    auto peer = net::Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    DownstreamConnection::create(worker_, shared_from_this(), fd, peer, tls_);
  }
}

}  // namespace portico::gateway
