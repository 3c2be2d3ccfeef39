#include "net/event_loop.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"

namespace portico::net {

// ---- Timer --------------------------------------------------------------------------------------

Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {}

Timer::~Timer() { cancel(); }

void Timer::arm(MonoMs delayMs) {
  MonoMs deadline = loop_.now() + (delayMs < 0 ? 0 : delayMs);
  if (armed()) {
    if (deadline == deadline_) return;
    loop_.removeTimer(this);
  }
  deadline_ = deadline;
  loop_.addTimer(this);
}

void Timer::cancel() {
  if (armed()) loop_.removeTimer(this);
}

// ---- EventLoop ----------------------------------------------------------------------------------

Result<std::unique_ptr<EventLoop>> EventLoop::create(IoEngine engine) {
  std::unique_ptr<UringIo> uring;
  if (engine == IoEngine::IoUring) {
    auto u = UringIo::create();
    if (!u.ok()) return u.status();
    uring = std::move(u.value());
  }
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return Status::error(std::string("eventfd: ") + strerror(errno));
  int ep = -1;
  if (!uring) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
      ::close(wake);
      return Status::error(std::string("epoll_create1: ") + strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // nullptr marks the wake-up eventfd
    if (epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) < 0) {
      ::close(ep);
      ::close(wake);
      return Status::error(std::string("epoll_ctl: ") + strerror(errno));
    }
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(ep, wake, std::move(uring)));
  if (loop->uring_) {
    Status s = loop->uring_->add(wake, EPOLLIN, &loop->wakeHandler_, false);
    if (!s.ok()) return s;
  }
  return loop;
}

EventLoop::EventLoop(int epollFd, int wakeFd, std::unique_ptr<UringIo> uring)
    : epollFd_(epollFd), wakeFd_(wakeFd), uring_(std::move(uring)), now_(0) {
  refreshNow();
}

void EventLoop::refreshNow() {
  nowUs_ = monotonicUs();
  now_ = static_cast<MonoMs>(nowUs_ / 1000);
  // A wall-clock step (NTP, an operator) reaches log times within a second.
  if (nowUs_ >= wallCheckDueUs_) {
    wallOffsetUs_ = unixUs() - static_cast<int64_t>(nowUs_);
    wallCheckDueUs_ = nowUs_ + 1000000;
  }
}

EventLoop::~EventLoop() {
  for (Timer* t : heap_) t->heapIndex_ = Timer::kNotArmed;
  deferred_.clear();
  uring_.reset();
  if (epollFd_ >= 0) ::close(epollFd_);
  ::close(wakeFd_);
}

Status EventLoop::add(int fd, uint32_t events, EventHandler* handler, bool stream) {
  if (uring_) return uring_->add(fd, events, handler, stream);
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = handler;
  if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev) < 0)
    return Status::error(std::string("epoll_ctl(add): ") + strerror(errno));
  return {};
}

Status EventLoop::modify(int fd, uint32_t events, EventHandler* handler) {
  if (uring_) return uring_->modify(fd, events, handler);
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = handler;
  if (epoll_ctl(epollFd_, EPOLL_CTL_MOD, fd, &ev) < 0)
    return Status::error(std::string("epoll_ctl(mod): ") + strerror(errno));
  return {};
}

void EventLoop::remove(int fd) {
  if (uring_) return uring_->remove(fd);
  epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::stop() {
  post([this] { stopping_ = true; });
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(postMutex_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t r = write(wakeFd_, &one, sizeof(one));
  (void)r;  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
}

void EventLoop::runPosted() {
  uint64_t value;
  while (read(wakeFd_, &value, sizeof(value)) > 0) {
  }
  {
    std::lock_guard<std::mutex> lock(postMutex_);
    running_.swap(posted_);
  }
  for (auto& fn : running_) fn();
  running_.clear();
}

int EventLoop::pollTimeoutMs() const {
  if (heap_.empty()) return -1;
  MonoMs wait = heap_[0]->deadline_ - monotonicMs();
  if (wait <= 0) return 0;
  return wait > 60000 ? 60000 : static_cast<int>(wait);
}

void EventLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  stopping_ = false;  // run() again after a stop() (a stop posted before run() is still pending)
  while (!stopping_) {
    int n = 0;
    if (uring_) {
      uring_->wait(pollTimeoutMs());
    } else {
      n = epoll_wait(epollFd_, events, kMaxEvents, pollTimeoutMs());
      if (n < 0 && errno != EINTR) {
        LOG_ERROR("epoll_wait: %s", strerror(errno));
        break;
      }
    }
    refreshNow();
    if (iterationHook_) iterationHook_();
    if (uring_) uring_->dispatch();
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<EventHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        runPosted();
      } else {
        handler->onEvents(events[i].events);
      }
    }
    runReady();
    runTimers();
    runReady();
    deferred_.clear();
  }
  // Run what was posted before stop() so that no posted cleanup is lost.
  runPosted();
  deferred_.clear();
  // Responses already written by connections that closed (a drain's last answers) still go out.
  if (uring_) uring_->flushClosed();
}

void EventLoop::runReady() {
  // Callbacks may schedule more work; run until quiet.
  while (!ready_.empty()) {
    readyRunning_.swap(ready_);
    for (Schedulable* s : readyRunning_) {
      s->scheduled_ = false;
      s->onScheduled();
    }
    readyRunning_.clear();
  }
}

void EventLoop::runTimers() {
  while (!heap_.empty() && heap_[0]->deadline_ <= now_) {
    Timer* t = heap_[0];
    removeTimer(t);
    t->callback_();
  }
}

// ---- min-heap -----------------------------------------------------------------------------------

void EventLoop::addTimer(Timer* t) {
  t->heapIndex_ = heap_.size();
  heap_.push_back(t);
  siftUp(t->heapIndex_);
}

void EventLoop::removeTimer(Timer* t) {
  size_t i = t->heapIndex_;
  size_t last = heap_.size() - 1;
  if (i != last) {
    heap_[i] = heap_[last];
    heap_[i]->heapIndex_ = i;
  }
  heap_.pop_back();
  t->heapIndex_ = Timer::kNotArmed;
  if (i < heap_.size()) {
    siftUp(i);
    siftDown(i);
  }
}

void EventLoop::siftUp(size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline_ <= heap_[i]->deadline_) break;
    std::swap(heap_[parent], heap_[i]);
    heap_[parent]->heapIndex_ = parent;
    heap_[i]->heapIndex_ = i;
    i = parent;
  }
}

void EventLoop::siftDown(size_t i) {
  size_t n = heap_.size();
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && heap_[l]->deadline_ < heap_[m]->deadline_) m = l;
    if (r < n && heap_[r]->deadline_ < heap_[m]->deadline_) m = r;
    if (m == i) break;
    std::swap(heap_[m], heap_[i]);
    heap_[m]->heapIndex_ = m;
    heap_[i]->heapIndex_ = i;
    i = m;
  }
}

}  // namespace portico::net
