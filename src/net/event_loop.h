// EventLoop: one loop per worker thread, epoll (edge-triggered) or io_uring (net/uring_io.h),
// with timers, deferred deletion and a thread-safe post() for the few cross-thread messages
// (new snapshot, drain, stop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/uring_io.h"

namespace portico::net {

class EventLoop;

/// Owner of a file descriptor registered with an EventLoop.
class EventHandler {
public:
  virtual ~EventHandler() = default;
  /// `events` holds EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/EPOLLRDHUP bits. Called on the loop thread.
  virtual void onEvents(uint32_t events) = 0;
};

/// Something the loop deletes after the current batch of events, so that a handler may close
/// itself while other events for it are still queued.
class Deferred {
public:
  virtual ~Deferred() = default;
};

/// Work a handler wants done after the current event, outside any callback stack (e.g. the next
/// pipelined request once a response completed inside an upstream callback).
class Schedulable {
public:
  virtual ~Schedulable() = default;
  virtual void onScheduled() = 0;

private:
  friend class EventLoop;
  bool scheduled_ = false;
};

/// A one-shot timer owned by its user; arming an armed timer moves it. Not thread-safe: use it
/// only on its loop's thread. The callback must not destroy the Timer synchronously.
class Timer {
public:
  Timer(EventLoop& loop, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// Fires `delayMs` from the loop's cached now (≥ 0).
  void arm(MonoMs delayMs);
  void cancel();
  bool armed() const { return heapIndex_ != kNotArmed; }
  MonoMs deadline() const { return deadline_; }

private:
  friend class EventLoop;
  static constexpr size_t kNotArmed = static_cast<size_t>(-1);
  EventLoop& loop_;
  std::function<void()> callback_;
  MonoMs deadline_ = 0;
  size_t heapIndex_ = kNotArmed;
};

enum class IoEngine { Epoll, IoUring };

class EventLoop {
public:
  static Result<std::unique_ptr<EventLoop>> create(IoEngine engine = IoEngine::Epoll);
  ~EventLoop();

  IoEngine engine() const { return uring_ ? IoEngine::IoUring : IoEngine::Epoll; }

  /// Registers `fd` edge-triggered for `events` (EPOLLIN|EPOLLOUT|EPOLLRDHUP usually).
  /// `stream`: a connected plain socket whose owner reads, writes, shuts down and closes it
  /// through recv()/send()/shutdownWrite()/close() below (with io_uring they are queued).
  Status add(int fd, uint32_t events, EventHandler* handler, bool stream = false);
  Status modify(int fd, uint32_t events, EventHandler* handler);
  /// Stops events for `fd` (a stream keeps what it read for the next add() of it).
  void remove(int fd);
  /// Turns a registered socket into a stream once it is connected (for an upstream socket,
  /// which is polled while its connect is in progress). Nothing to do with epoll.
  Status makeStream(int fd, uint32_t events, EventHandler* handler) {
    if (!uring_) return {};
    uring_->remove(fd);
    return uring_->add(fd, events, handler, true);
  }

  // recv(2)/send(2) semantics (errno EAGAIN when nothing to read / no room) for any socket.
  ssize_t recv(int fd, char* buf, size_t len) {
    if (uring_) [[unlikely]]
      return uring_->recv(fd, buf, len);
    return ::recv(fd, buf, len, 0);
  }
  ssize_t send(int fd, const char* buf, size_t len) {
    if (uring_) [[unlikely]]
      return uring_->send(fd, buf, len);
    return ::send(fd, buf, len, MSG_NOSIGNAL);
  }
  /// shutdown(SHUT_WR) after what was sent before it.
  void shutdownWrite(int fd) {
    if (uring_) [[unlikely]]
      return uring_->shutdownWrite(fd);
    ::shutdown(fd, SHUT_WR);
  }
  /// Unregisters and closes `fd` (queued output still goes out first).
  void close(int fd) {
    if (uring_) [[unlikely]]
      return uring_->close(fd);
    ::close(fd);  // closing removes it from the epoll set
  }

  /// Runs until stop(). `onIteration` (optional) runs once per wake-up, before events.
  void run();
  /// Thread-safe: makes run() return after the current iteration.
  void stop();
  /// Thread-safe: runs `fn` on the loop thread at its next wake-up.
  void post(std::function<void()> fn);
  void setIterationHook(std::function<void()> hook) { iterationHook_ = std::move(hook); }

  /// Runs s->onScheduled() once after the current event batch (idempotent until it ran). The
  /// object must stay alive until then (deferDelete guarantees that).
  void schedule(Schedulable* s) {
    if (!s->scheduled_) {
      s->scheduled_ = true;
      ready_.push_back(s);
    }
  }

  /// Deletes `obj` after the current batch of events.
  void deferDelete(std::unique_ptr<Deferred> obj) { deferred_.push_back(std::move(obj)); }

  /// Monotonic ms, refreshed once per wake-up (cheap to call on the hot path).
  MonoMs now() const { return now_; }
  /// The same instant in monotonic µs, and as wall-clock µs since the epoch. Request latencies
  /// and log times are taken from these, like nginx's cached time: the moment the loop woke up
  /// for the event, with no clock read per request.
  uint64_t nowUs() const { return nowUs_; }
  int64_t wallUs() const { return static_cast<int64_t>(nowUs_) + wallOffsetUs_; }
  /// Reads the clocks again (the loop does it after each wait; tests may call it).
  void refreshNow();

private:
  friend class Timer;
  EventLoop(int epollFd, int wakeFd, std::unique_ptr<UringIo> uring);
  void addTimer(Timer* t);
  void removeTimer(Timer* t);
  void siftUp(size_t i);
  void siftDown(size_t i);
  void runTimers();
  void runPosted();
  int pollTimeoutMs() const;

  /// The wake-up eventfd's handler when io_uring polls it (epoll marks it with nullptr).
  struct WakeHandler final : EventHandler {
    EventLoop* loop;
    explicit WakeHandler(EventLoop* l) : loop(l) {}
    void onEvents(uint32_t) override { loop->runPosted(); }
  };

  int epollFd_;  // -1 with io_uring
  int wakeFd_;
  std::unique_ptr<UringIo> uring_;
  WakeHandler wakeHandler_{this};
  bool stopping_ = false;
  MonoMs now_;
  uint64_t nowUs_ = 0;
  int64_t wallOffsetUs_ = 0;     ///< wall clock minus monotonic, read again every second
  uint64_t wallCheckDueUs_ = 0;
  std::vector<Timer*> heap_;  // min-heap on deadline_
  void runReady();

  std::vector<std::unique_ptr<Deferred>> deferred_;
  std::vector<Schedulable*> ready_;
  std::vector<Schedulable*> readyRunning_;
  std::function<void()> iterationHook_;
  std::mutex postMutex_;  // guards posted_; only config changes and shutdown post
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> running_;
};

}  // namespace portico::net
