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

namespace {
// Out of descriptors (EMFILE, ENFILE) or kernel memory: the connection stays in the backlog.
// Retrying at once would spin; a short pause lets closing connections free descriptors.
constexpr MonoMs kBackOffMs = 100;

bool outOfResources(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// accept(2): errors of the connection being accepted, not of the listening socket; the next
// queued connection may be fine.
bool connectionError(int err) {
  switch (err) {
  case EINTR: case ECONNABORTED: case EPERM: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
  case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
    return true;
  default:
    return false;
  }
}
}  // namespace

ListenerHandler::ListenerHandler(Worker& worker, std::shared_ptr<ListenSocketSet> sockets)
    : worker_(worker), sockets_(std::move(sockets)) {}

ListenerHandler::~ListenerHandler() { stopAccepting(false); }

Status ListenerHandler::start() {
  fd_ = sockets_->fd(worker_.index());
  if (fd_ < 0) return Status::error("listener socket already closed");
  Status s = worker_.loop().add(fd_, EPOLLIN, this);
  if (s.ok()) accepting_ = watched_ = true;
  return s;
}

void ListenerHandler::stopAccepting(bool closeSocket) {
  if (accepting_) {
    if (watched_) worker_.loop().remove(fd_);
    else if (worker_.stats()) worker_.stats()->downstream.listenersResumed.add();  // was counted out
    watched_ = paused_ = backingOff_ = false;
    if (retryTimer_) retryTimer_->cancel();
    accepting_ = false;
  }
  if (closeSocket) sockets_->closeFor(worker_.index());
}

void ListenerHandler::unwatch() {
  if (!watched_) return;
  worker_.loop().remove(fd_);
  watched_ = false;
  if (worker_.stats()) worker_.stats()->downstream.listenersPaused.add();
}

void ListenerHandler::watch() {
  if (watched_ || !accepting_ || paused_ || backingOff_) return;
  // Adding a socket whose backlog is not empty reports EPOLLIN at once (edge-triggered too), so
  // the clients that queued meanwhile are accepted now.
  Status s = worker_.loop().add(fd_, EPOLLIN, this);
  if (!s.ok()) {
    LOG_ERROR("listener %s: cannot resume accepting: %s", sockets_->address().toString().c_str(),
              s.message().c_str());
    backOff(0);  // try again later rather than never
    return;
  }
  watched_ = true;
  if (worker_.stats()) worker_.stats()->downstream.listenersResumed.add();
}

void ListenerHandler::pause() {
  if (!accepting_ || paused_) return;
  paused_ = true;
  unwatch();
}

void ListenerHandler::resume() {
  if (!accepting_ || !paused_) return;
  paused_ = false;
  watch();
}

void ListenerHandler::backOff(int err) {
  if (err != 0 && burstStart_ < 0) {
    burstStart_ = worker_.loop().now();
    LOG_WARN("accept on %s: %s; retrying every %lld ms until descriptors are free",
             sockets_->address().toString().c_str(), strerror(err),
             static_cast<long long>(kBackOffMs));
  }
  backingOff_ = true;
  unwatch();
  if (!retryTimer_)
    retryTimer_ = std::make_unique<net::Timer>(worker_.loop(), [this] { retryAfterBackOff(); });
  retryTimer_->arm(kBackOffMs);
}

void ListenerHandler::retryAfterBackOff() {
  backingOff_ = false;
  watch();
}

void ListenerHandler::onEvents(uint32_t) {
  // Edge-triggered: accept until the queue is empty, or until the worker reaches
  // --max-connections (creating a connection may pause this listener).
  for (;;) {
    if (!accepting_ || !watched_) return;
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (connectionError(err)) continue;
      if (outOfResources(err)) {
        backOff(err);
      } else if (err != EAGAIN && err != EWOULDBLOCK) {
        LOG_WARN("accept on %s: %s", sockets_->address().toString().c_str(), strerror(err));
      }
      return;
    }
    if (burstStart_ >= 0) {
      LOG_WARN("accept on %s: accepting again after %lld ms out of descriptors",
               sockets_->address().toString().c_str(),
               static_cast<long long>(worker_.loop().now() - burstStart_));
      burstStart_ = -1;
    }
    net::setNoDelay(fd);
    auto peer = net::Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    DownstreamConnection::create(worker_, shared_from_this(), fd, peer, tls_);
  }
}

}  // namespace portico::gateway
