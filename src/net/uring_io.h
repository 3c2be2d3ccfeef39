// UringIo: the io_uring engine behind EventLoop (`--io-engine io_uring`).
//
// Why: on this kind of machine a syscall costs ~1 µs (page-table isolation), and a proxied
// request costs at least four of them with epoll (recv and send on each side). Here a connected
// socket registered as a *stream* (client and upstream connections, TLS ones too: OpenSSL reads
// and writes through the loop) gets one multishot recv into a ring of provided buffers
// and has its sends queued and submitted together, so a request's reads and writes ride on the
// loop's one io_uring_enter per wake-up. The connection code keeps recv()/send() semantics: it
// reads what the completions brought (EAGAIN when nothing), and a send is accepted into a
// bounded per-socket queue (EAGAIN when full; EPOLLOUT once it drained).
//
// Every other descriptor (listeners, upstream connects in progress, health checks, DNS, the
// wake-up eventfd)
// gets a multishot poll, which reports readiness like edge-triggered epoll; its owner does its
// own syscalls. A poll the kernel fails for want of memory is armed again; one that cannot work
// (a bad descriptor) reports EPOLLERR|EPOLLHUP.
//
// Backpressure: a stream stops receiving once 64 KiB (kMaxQueued) wait unread, and TCP pushes
// back on the peer. While stopped, a one-shot poll still reports the peer's FIN (EPOLLRDHUP) or
// reset (EPOLLHUP/EPOLLERR), as epoll would; what is queued stays readable before EOF shows.
// After a FIN (EOF read, or EPOLLRDHUP seen while stopped) a multishot poll watches for a later
// reset or full close (EPOLLHUP/EPOLLERR): a half-closed peer resets when it gets what we send.
//
// Bytes held in user memory, worst case:
//  * per stream: unread input ≤ 64 KiB + 16 KiB (one receive buffer of overshoot) on Linux 6.17+,
//    where the kernel ends the multishot recv at the room left (probed at create()); on older
//    kernels the recv runs until our cancellation lands, so one stream may briefly hold up to
//    64 KiB + the whole ring (2 MiB). Output not sent ≤ 64 KiB. Closed streams' output lingers
//    ≤ 10 s without progress.
//  * per worker: 128 × 16 KiB receive ring (2 MiB) + up to 64 spare 64 KiB buffers (4 MiB) +
//    streams × (80 KiB in + 64 KiB out). No per-worker budget caps the sum: 10,000 connections
//    whose owners all stop reading and writing with full queues hold ~1.4 GB here, next to what
//    their kernel socket buffers hold (up to tcp_rmem's maximum, 6 MiB by default, each).
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

  // Test hooks (tests/unit/net/io_engine_test.cc).
  /// Bytes of unread input the engine holds for stream `fd`.
  size_t heldInputForTest(int fd) const;
  /// The most input one stream may hold here (kMaxQueued plus the overshoot this kernel allows).
  size_t inputBoundForTest() const;
  /// Ends `fd`'s poll in the kernel (really) and handles its end as failed with `res` (< 0): the
  /// kernel's own poll failures (ENOMEM, ...) cannot be provoked from a test.
  void failPollForTest(int fd, int res);

private:
  struct Reg;
  UringIo() = default;
  Reg* find(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < byFd_.size() ? byFd_[fd] : nullptr;
  }
  io_uring_sqe* nextSqe();
  void armPoll(Reg* r);
  void armRecv(Reg* r);
  static bool needsHangupWatch(const Reg* r);
  void armHangup(Reg* r);
  bool probeRecvLimit();
  void submitSend(Reg* r);
  void queueSend(Reg* r);
  void notify(Reg* r, uint32_t events);
  void onCompletion(const io_uring_cqe* cqe);
  void onPoll(Reg* r, const io_uring_cqe* cqe);
  void onHangup(Reg* r, const io_uring_cqe* cqe);
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
  bool recvLimit_ = false;  // the kernel ends a multishot recv at a byte count (Linux 6.17+)
  std::vector<Reg*> byFd_;
  std::vector<Reg*> dispatch_;     // events to deliver
  std::vector<Reg*> dispatching_;
  std::vector<Reg*> sendQueue_;    // output to submit before the next wait
  std::vector<Reg*> retired_;      // freed once their last completion arrived
  std::vector<Reg*> lingering_;    // closed with output still going out
  std::vector<Buffer> spare_;
};

}  // namespace portico::net
