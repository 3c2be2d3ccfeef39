// UringIo: the io_uring engine behind EventLoop (`--io-engine io_uring`).
//
// Why: on this kind of machine a syscall costs ~1 µs (page-table isolation), and a proxied
// request costs at least four of them with epoll (recv and send on each side). Here a connected
// plain socket registered as a *stream* gets one multishot recv into a ring of provided buffers
// and has its sends queued and submitted together, so a request's reads and writes ride on the
// loop's one io_uring_enter per wake-up. The connection code keeps recv()/send() semantics: it
// reads what the completions brought (EAGAIN when nothing), and a send is accepted into a
// bounded per-socket queue (EAGAIN when full; EPOLLOUT once it drained).
//
// Every other descriptor (listeners, TLS sockets, upstream connects, DNS, the wake-up eventfd)
// gets a multishot poll, which reports readiness like edge-triggered epoll; its owner does its
// own syscalls.
#pragma once

#include <cstdint>
#include <memory>
#include <sys/types.h>
#include <vector>

#include "common/buffer.h"
#include "common/status.h"

struct io_uring;
struct io_uring_buf_ring;
struct io_uring_cqe;
struct io_uring_sqe;

namespace portico::net {

class EventHandler;

class UringIo {
public:
  static Result<std::unique_ptr<UringIo>> create();
  ~UringIo();
  UringIo(const UringIo&) = delete;
  UringIo& operator=(const UringIo&) = delete;

  /// `stream`: a connected plain socket whose reads and writes go through recv()/send() here.
  /// Adding a stream that was remove()d but not closed hands it (and what it buffered) over.
  Status add(int fd, uint32_t events, EventHandler* handler, bool stream);
  Status modify(int fd, uint32_t events, EventHandler* handler);
  /// Stops events for `fd`. A stream keeps its buffered input until add() or close().
  void remove(int fd);

  ssize_t recv(int fd, char* buf, size_t len);
  ssize_t send(int fd, const char* buf, size_t len);
  /// shutdown(SHUT_WR) once what was sent before is out.
  void shutdownWrite(int fd);
  /// Closes `fd`; a stream's queued output is still sent first (at most kCloseLingerMs without
  /// progress).
  void close(int fd);

  /// Submits what is queued, waits up to `timeoutMs` (-1: no limit, 0: not at all) for
  /// completions and applies them; handlers run in dispatch().
  void wait(int timeoutMs);
  void dispatch();
  /// When the loop ends: lets closed streams' queued output go out (bounded).
  void flushClosed();

private:
  struct Reg;
  UringIo() = default;
  Reg* find(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < byFd_.size() ? byFd_[fd] : nullptr;
  }
  io_uring_sqe* nextSqe();
  void armPoll(Reg* r);
  void armRecv(Reg* r);
  void submitSend(Reg* r);
  void queueSend(Reg* r);
  void notify(Reg* r, uint32_t events);
  void onCompletion(const io_uring_cqe* cqe);
  void onRecv(Reg* r, const io_uring_cqe* cqe);
  void onSend(Reg* r, int res);
  void finishClose(Reg* r);
  void retire(Reg* r);
  void sweep();
  Buffer takeBuffer();
  void giveBuffer(Buffer& b);
  void recycle(unsigned bid);

  std::unique_ptr<io_uring> ring_;
  io_uring_buf_ring* bufRing_ = nullptr;
  char* bufMemory_ = nullptr;
  std::vector<Reg*> byFd_;
  std::vector<Reg*> dispatch_;     // events to deliver
  std::vector<Reg*> dispatching_;
  std::vector<Reg*> sendQueue_;    // output to submit before the next wait
  std::vector<Reg*> retired_;      // freed once their last completion arrived
  std::vector<Reg*> lingering_;    // closed with output still going out
  std::vector<Buffer> spare_;
};

}  // namespace portico::net
